import { describe, expect, test } from 'vitest';
import { FALLBACK_FLUSH_MS, frameBatcher, type FrameClock } from './frame-batcher';

/** A clock the test advances by hand: frames run when asked, timers when their time has come. */
function manualClock() {
  let frames: Array<() => void> = [];
  let timers: Array<{ at: number; run: () => void }> = [];
  let now = 0;
  const clock: FrameClock = {
    nextFrame: (callback) => {
      frames.push(callback);
      return () => (frames = frames.filter((f) => f !== callback));
    },
    after: (ms, callback) => {
      const timer = { at: now + ms, run: callback };
      timers.push(timer);
      return () => (timers = timers.filter((t) => t !== timer));
    },
  };
  return {
    clock,
    frame: () => {
      const due = frames;
      frames = [];
      for (const run of due) run();
    },
    advance: (ms: number) => {
      now += ms;
      const due = timers.filter((t) => t.at <= now);
      timers = timers.filter((t) => t.at > now);
      for (const timer of due) timer.run();
    },
    pending: () => frames.length + timers.length,
  };
}

/** The hook's use: tokens collect in a buffer; a flush shows all of it. */
function tokenStream() {
  const time = manualClock();
  let buffer = '';
  const shown: string[] = [];
  const batcher = frameBatcher(() => shown.push(buffer), time.clock);
  const token = (content: string) => {
    buffer += content;
    batcher.schedule();
  };
  return { time, batcher, shown, token, buffer: () => buffer };
}

describe('frameBatcher', () => {
  test('many tokens before a frame make one flush, with all of them', () => {
    const { time, shown, token } = tokenStream();
    for (const word of ['How ', 'to ', 'fix ', 'it']) token(word);
    expect(shown).toEqual([]);
    time.frame();
    expect(shown).toEqual(['How to fix it']);
    expect(time.pending()).toBe(0);
    time.frame();
    time.advance(FALLBACK_FLUSH_MS * 10);
    expect(shown).toEqual(['How to fix it']);
  });

  test('a hidden tab (no frames) still gets the text from the fallback timer, once', () => {
    const { time, shown, token } = tokenStream();
    token('a');
    token('b');
    time.advance(FALLBACK_FLUSH_MS - 1);
    expect(shown).toEqual([]);
    time.advance(1);
    expect(shown).toEqual(['ab']);
    token('c');
    time.advance(FALLBACK_FLUSH_MS);
    expect(shown).toEqual(['ab', 'abc']);
    time.frame();
    expect(shown).toEqual(['ab', 'abc']);
  });

  test('flushNow shows pending tokens at once (before `done`), and the frame then adds nothing', () => {
    const { time, batcher, shown, token } = tokenStream();
    token('last ');
    token('words');
    batcher.flushNow();
    expect(shown).toEqual(['last words']);
    time.frame();
    time.advance(FALLBACK_FLUSH_MS);
    batcher.flushNow();
    expect(shown).toEqual(['last words']);
  });

  test('cancel drops a pending flush; the batcher works again afterwards', () => {
    const { time, batcher, shown, token } = tokenStream();
    token('old turn');
    batcher.cancel();
    time.frame();
    time.advance(FALLBACK_FLUSH_MS);
    expect(shown).toEqual([]);
    token(' and more');
    time.frame();
    expect(shown).toEqual(['old turn and more']);
  });

  test('over a long fast stream, the last flush shows exactly every token, in order', () => {
    const { time, batcher, shown, token, buffer } = tokenStream();
    const words = Array.from({ length: 4000 }, (_, i) => `w${i} `);
    words.forEach((word, i) => {
      token(word);
      if (i % 7 === 0) time.frame();
      if (i % 50 === 0) time.advance(FALLBACK_FLUSH_MS);
    });
    batcher.flushNow();
    expect(shown.at(-1)).toBe(words.join(''));
    expect(shown.at(-1)).toBe(buffer());
    expect(shown.length).toBeLessThan(words.length / 5);
    // Each flush shows more than the one before it: nothing goes backwards or repeats.
    for (let i = 1; i < shown.length; i++) expect(shown[i]!.length).toBeGreaterThan(shown[i - 1]!.length);
  });
});
