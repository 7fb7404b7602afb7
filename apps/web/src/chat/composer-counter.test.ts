import { describe, expect, test } from 'vitest';
import {
  COUNTER_SHOWN_FROM,
  counterLevel,
  MAX_MESSAGE_CHARS,
  messageCounter,
  sentLength,
} from './composer-counter';

const n = (value: number) => new Intl.NumberFormat().format(value);

describe('counterLevel', () => {
  test('hidden up to 80% of the limit, near past it, over past the limit', () => {
    expect(MAX_MESSAGE_CHARS).toBe(8000);
    expect(COUNTER_SHOWN_FROM).toBe(0.8);
    expect(counterLevel(0)).toBe('hidden');
    expect(counterLevel(6400)).toBe('hidden');
    expect(counterLevel(6401)).toBe('near');
    expect(counterLevel(8000)).toBe('near');
    expect(counterLevel(8001)).toBe('over');
  });

  test('follows another limit', () => {
    expect(counterLevel(80, 100)).toBe('hidden');
    expect(counterLevel(81, 100)).toBe('near');
    expect(counterLevel(101, 100)).toBe('over');
  });
});

describe('sentLength', () => {
  test('counts the message as sent (trimmed), in UTF-16 code units as the server does', () => {
    expect(sentLength('  hello \n')).toBe(5);
    expect(sentLength('🔧')).toBe(2);
    expect(sentLength('')).toBe(0);
  });
});

describe('messageCounter', () => {
  test('shows and describes the count when near', () => {
    const counter = messageCounter('x'.repeat(6512));
    expect(counter.level).toBe('near');
    expect(counter.shown).toBe(`${n(6512)} / ${n(8000)}`);
    expect(counter.description).toBe(`${n(1488)} characters left`);
    expect(counter.announcement).toBe(`Nearing the limit of ${n(8000)} characters.`);
    expect(messageCounter('x'.repeat(7999)).description).toBe('1 character left');
  });

  test('says by how much it is over', () => {
    const counter = messageCounter('x'.repeat(8120));
    expect(counter.level).toBe('over');
    expect(counter.shown).toBe(`${n(8120)} / ${n(8000)}`);
    expect(counter.description).toBe(`120 characters over the limit of ${n(8000)}`);
    expect(counter.announcement).toBe(`Message too long to send: the limit is ${n(8000)} characters.`);
    expect(messageCounter('x'.repeat(8001)).description).toBe(`1 character over the limit of ${n(8000)}`);
  });

  test('the announcement changes with the level only, not with every keystroke', () => {
    expect(messageCounter('short').announcement).toBe('');
    expect(messageCounter('x'.repeat(6600)).announcement).toBe(messageCounter('x'.repeat(7900)).announcement);
    expect(messageCounter('x'.repeat(8100)).announcement).toBe(messageCounter('x'.repeat(9000)).announcement);
  });

  test('trailing whitespace does not push a message over', () => {
    expect(messageCounter(`${'x'.repeat(8000)}\n\n`).level).toBe('near');
  });
});
