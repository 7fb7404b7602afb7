/**
 * The longest message the server accepts: its MAX_MESSAGE_CHARS, 8000 unless configured otherwise. The server
 * doesn't tell the client its setting, so this is the one place the web client knows it; a server configured
 * lower still refuses a longer message, and the composer then keeps the text (see composer-draft.ts).
 */
export const MAX_MESSAGE_CHARS = 8000;

/** The counter appears once a message is past this share of the limit. */
export const COUNTER_SHOWN_FROM = 0.8;

/** hidden: far from the limit; near: past COUNTER_SHOWN_FROM of it; over: too long to send. */
export type CounterLevel = 'hidden' | 'near' | 'over';

/**
 * The length the server checks: of the message as sent (the composer trims it), counted as `String.length`
 * counts, in UTF-16 code units, so an emoji counts 2 there and here alike.
 */
export function sentLength(text: string): number {
  return text.trim().length;
}

export function counterLevel(length: number, max = MAX_MESSAGE_CHARS): CounterLevel {
  if (length > max) return 'over';
  if (length > max * COUNTER_SHOWN_FROM) return 'near';
  return 'hidden';
}

export interface MessageCounter {
  level: CounterLevel;
  /** What the counter shows: "6,512 / 8,000". */
  shown: string;
  /** The same in words, describing the field to a screen reader: "1,488 characters left". */
  description: string;
  /**
   * What the status region says. It changes only when the level does, so a screen reader hears that the
   * limit is near, or passed, once, not a number on every keystroke.
   */
  announcement: string;
}

const count = new Intl.NumberFormat();

export function messageCounter(text: string, max = MAX_MESSAGE_CHARS): MessageCounter {
  const length = sentLength(text);
  const level = counterLevel(length, max);
  const shown = `${count.format(length)} / ${count.format(max)}`;
  if (level === 'over') {
    const over = length - max;
    return {
      level,
      shown,
      description: `${count.format(over)} ${over === 1 ? 'character' : 'characters'} over the limit of ${count.format(max)}`,
      announcement: `Message too long to send: the limit is ${count.format(max)} characters.`,
    };
  }
  const left = max - length;
  return {
    level,
    shown,
    description: `${count.format(left)} ${left === 1 ? 'character' : 'characters'} left`,
    announcement: level === 'near' ? `Nearing the limit of ${count.format(max)} characters.` : '',
  };
}
