import { describe, expect, test } from 'vitest';
import { spokenParts, spokenSoFar } from './spoken-parts';

const spoken = (text: string, finished: boolean) => spokenParts(spokenSoFar(text, finished));

const answer = [
  "Here's how I'd approach **a dead charger**:",
  '',
  '1. Power the device off.\n2. Check the `cable`.',
  '',
  'See [the iFixit guide](https://www.ifixit.com/Guide/1) for photos.',
].join('\n');

describe('spokenParts', () => {
  test('while streaming, only paragraphs that are complete are spoken', () => {
    expect(spoken('', false)).toEqual([]);
    expect(spoken("Here's how", false)).toEqual([]);
    expect(spoken(answer.slice(0, answer.indexOf('2.')), false)).toEqual([
      "Here's how I'd approach a dead charger:",
    ]);
  });

  test('once finished, the last paragraph is spoken too, without Markdown syntax', () => {
    expect(spoken(answer, true)).toEqual([
      "Here's how I'd approach a dead charger:",
      '1. Power the device off.\n2. Check the cable.',
      'See the iFixit guide for photos.',
    ]);
  });

  test('while streaming, the spoken text changes only when a paragraph completes', () => {
    const seen = new Set<string>();
    for (let end = 0; end <= answer.length; end++) seen.add(spokenSoFar(answer.slice(0, end), false));
    expect(seen.size).toBe(3);
  });

  test('the list only grows as the text grows, so each paragraph is announced once', () => {
    let previous: string[] = [];
    for (let end = 0; end <= answer.length; end++) {
      const parts = spoken(answer.slice(0, end), false);
      expect(parts.slice(0, previous.length)).toEqual(previous);
      previous = parts;
    }
    expect(spoken(answer, true).slice(0, previous.length)).toEqual(previous);
  });
});
