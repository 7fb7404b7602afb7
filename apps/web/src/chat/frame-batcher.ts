/** How the batcher waits; the browser's by default, fakes in tests. Each returns a function that cancels the wait. */
export interface FrameClock {
  nextFrame: (callback: () => void) => () => void;
  after: (ms: number, callback: () => void) => () => void;
}

export const browserClock: FrameClock = {
  nextFrame: (callback) => {
    const id = requestAnimationFrame(() => callback());
    return () => cancelAnimationFrame(id);
  },
  after: (ms, callback) => {
    const id = setTimeout(callback, ms);
    return () => clearTimeout(id);
  },
};

/**
 * A hidden tab gets no animation frames, so a timer flushes too, whichever comes first: the text still
 * arrives (at the throttled timer rate) and is there when the user comes back. A visible tab's frame wins.
 */
export const FALLBACK_FLUSH_MS = 100;

export interface FrameBatcher {
  /** Asks for a flush on the next animation frame; every call until then shares that one flush. */
  schedule: () => void;
  /** Runs a pending flush now, e.g. before `done` or an error is applied; does nothing if none is pending. */
  flushNow: () => void;
  /** Drops a pending flush without running it. */
  cancel: () => void;
}

/** Coalesces many `schedule()` calls into at most one `flush()` per animation frame. */
export function frameBatcher(flush: () => void, clock: FrameClock = browserClock): FrameBatcher {
  let cancelWaits: (() => void) | null = null;

  const cancel = () => {
    cancelWaits?.();
    cancelWaits = null;
  };

  const flushNow = () => {
    if (!cancelWaits) return;
    cancel();
    flush();
  };

  const schedule = () => {
    if (cancelWaits) return;
    const cancelFrame = clock.nextFrame(flushNow);
    const cancelTimer = clock.after(FALLBACK_FLUSH_MS, flushNow);
    cancelWaits = () => {
      cancelFrame();
      cancelTimer();
    };
  };

  return { schedule, flushNow, cancel };
}
