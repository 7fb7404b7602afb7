import { describe, expect, it } from 'vitest';
import { TextRun } from './text-run';

describe('TextRun', () => {
  it('returns exactly the appended text from any offset, across segment boundaries', () => {
    const run = new TextRun();
    let expected = '';
    for (let i = 0; i < 5_000; i++) {
      const piece = i % 97 === 0 ? '' : `t${i}é😀 `;
      run.append(piece);
      expected += piece;
      if (i % 613 === 0) expect(run.slice(Math.floor(expected.length / 3))).toBe(expected.slice(Math.floor(expected.length / 3)));
    }
    expect(run.length).toBe(expected.length);
    expect(run.toString()).toBe(expected);
    for (const start of [0, 1, 255, 256, 1_000, 12_345, expected.length - 1, expected.length, expected.length + 5]) {
      expect(run.slice(start)).toBe(expected.slice(start));
    }
  });

  it('hands a reader that keeps up only the newest piece', () => {
    const run = new TextRun('hello');
    run.append(' world');
    expect(run.slice(5)).toBe(' world');
    expect(run.slice(run.length)).toBe('');
  });
});
