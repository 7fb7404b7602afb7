import type { ChatRequestBody, FakeReply, FakeResponder } from '@fixthread/testing';

/** Milliseconds between streamed chunks: slow enough that a browser sees the answer grow. */
export const CHUNK_DELAY_MS = 60;
/** Questions containing this stream slowly, so a test can press Stop halfway. */
export const SLOW_MARKER = '[slow]';
/** Questions containing this get a reply many screens long, for scrolling tests. */
export const LONG_MARKER = '[long]';
/** Questions containing this get a long Markdown reply in many small, fast chunks (see FakeModelControls.flood). */
export const FLOOD_MARKER = '[flood]';
/** Questions containing this get a reply whose usage the provider doesn't report, so the tokenizer counts it. */
export const UNREPORTED_USAGE_MARKER = '[no-usage]';
/** Questions containing this get a numbered answer ("Take 2: …"), different each time they are answered. */
export const VARIED_MARKER = '[varied]';
/** Questions mentioning a screen make the model search iFixit first. */
export const TOOL_MARKER = 'screen';

export interface FakeModelControls {
  /** While true every model call fails with 503, as during a provider outage. */
  outage: boolean;
  /** The `[flood]` reply: this many one-word tokens, this many milliseconds apart. */
  flood?: { tokens: number; delayMs: number };
  /** How many `[varied]` answers were given so far. */
  takes?: number;
}

/** The n-th `[varied]` answer. */
export function variedAnswer(take: number): string {
  return `Take ${take}: check the fuse first, then the switch.`;
}

export const DEFAULT_FLOOD = { tokens: 1500, delayMs: 1 };

function lastUserText(body: ChatRequestBody): string {
  const user = body.messages.findLast((message) => message.role === 'user');
  return typeof user?.content === 'string' ? user.content : '';
}

function firstGuide(body: ChatRequestBody): { title: string; url: string } | undefined {
  const tool = body.messages.findLast((message) => message.role === 'tool');
  if (typeof tool?.content !== 'string') return undefined;
  try {
    const parsed = JSON.parse(tool.content) as { guides?: { title: string; url: string }[] };
    return parsed.guides?.[0];
  } catch {
    return undefined;
  }
}

export function plainAnswer(question: string): string {
  const topic = question.length > 40 ? `${question.slice(0, 40)}…` : question;
  return [
    `Here's how I'd approach **${topic}**:`,
    '',
    '1. Power the device off and unplug it.',
    '2. Check the cable and connector for visible damage.',
    '3. Try a known-good charger before replacing any parts.',
    '',
    "If none of that helps, tell me the exact model and I'll find a repair guide.",
  ].join('\n');
}

export function guideAnswer(guide: { title: string; url: string }): string {
  return [
    `iFixit has a step-by-step guide for this: [${guide.title}](${guide.url}).`,
    '',
    '1. **Power off** the iPhone.',
    '2. Remove the two **pentalobe screws** next to the Lightning port.',
    '3. **Heat the lower edge** to soften the adhesive, then lift it with a suction handle.',
    '4. **Disconnect the battery** before you touch the display cables.',
    '',
    'It is rated *moderate*; set aside about an hour.',
  ].join('\n');
}

export const LONG_ANSWER = Array.from(
  { length: 40 },
  (_, i) => `Step ${i + 1}: check the part, note what you see, and keep the screws in order.`,
).join('\n\n');

const FLOOD_WORDS = [
  'Step',
  'N:',
  'disconnect',
  'the',
  '**battery**',
  'first,',
  'then',
  'check',
  'the',
  '`J3100`',
  'connector',
  'for',
  'corrosion',
  'and',
  'bent',
  'pins',
  'before',
  'you',
  'pry',
  'anything.',
];

/**
 * Exactly `tokens` one-word tokens (as the fake server splits text) of numbered paragraphs with bold and code
 * words. Every word is whole Markdown, so cutting the text at any token leaves valid Markdown.
 */
export function floodAnswer(tokens: number): string {
  let text = '';
  for (let i = 0; i < tokens; i++) {
    const word = FLOOD_WORDS[i % FLOOD_WORDS.length]!.replace('N', String(Math.floor(i / FLOOD_WORDS.length) + 1));
    text += i === 0 ? word : `${i % FLOOD_WORDS.length === 0 ? '\n\n' : ' '}${word}`;
  }
  return text;
}

/** What the browser shows of a flood answer (ignoring line breaks, which the Markdown renderer adds). */
export function floodAnswerText(tokens: number): string {
  return floodAnswer(tokens).replace(/\*\*|`/g, '').replace(/\n+/g, '');
}

export const SLOW_ANSWER = Array.from({ length: 60 }, (_, i) => `Careful step ${i + 1} of a long repair.`).join(' ');

/**
 * Answers every turn so the browser always gets a reply: a tool round then a cited answer for screen
 * questions, a slow answer for `[slow]`, a short Markdown answer otherwise.
 */
export function fakeModelResponder(controls: FakeModelControls): FakeResponder {
  return (body): FakeReply => {
    if (controls.outage) return { error: { status: 503, message: 'The model is overloaded' } };
    const question = lastUserText(body);
    const lastRole = body.messages.at(-1)?.role;
    if (question.includes(FLOOD_MARKER)) {
      const { tokens, delayMs } = controls.flood ?? DEFAULT_FLOOD;
      return { text: floodAnswer(tokens), delayMsBetweenChunks: delayMs };
    }
    if (question.includes(VARIED_MARKER)) {
      controls.takes = (controls.takes ?? 0) + 1;
      return { text: variedAnswer(controls.takes), delayMsBetweenChunks: CHUNK_DELAY_MS };
    }
    if (question.includes(LONG_MARKER)) return { text: LONG_ANSWER, chunkSize: 40, delayMsBetweenChunks: 80 };
    if (question.includes(SLOW_MARKER)) return { text: SLOW_ANSWER, delayMsBetweenChunks: 150 };
    if (question.includes(UNREPORTED_USAGE_MARKER)) {
      return { text: plainAnswer(question), usage: 'none', delayMsBetweenChunks: CHUNK_DELAY_MS };
    }
    if (question.toLowerCase().includes(TOOL_MARKER) && lastRole === 'user') {
      return {
        toolCalls: [{ name: 'search_ifixit_guides', arguments: JSON.stringify({ query: 'iPhone 12 screen replacement' }) }],
      };
    }
    const guide = lastRole === 'tool' ? firstGuide(body) : undefined;
    if (guide) {
      // "Thinking" after the tool keeps the status line up long enough to see.
      return { hangMs: 900, then: { text: guideAnswer(guide), delayMsBetweenChunks: CHUNK_DELAY_MS } };
    }
    return { text: plainAnswer(question), delayMsBetweenChunks: CHUNK_DELAY_MS };
  };
}
