import type { RequestCounter, WindowCount } from './request-counter';

/** One instance's counts, in memory. Expired windows are dropped as they are met and on a sweep. */
export function inProcessRequestCounter(now: () => number = Date.now): RequestCounter {
  const windows = new Map<string, { count: number; endsAt: number }>();
  const sweep = setInterval(() => {
    const at = now();
    for (const [key, window] of windows) if (window.endsAt <= at) windows.delete(key);
  }, 60_000);
  sweep.unref();
  const current = (key: string, at: number) => {
    const window = windows.get(key);
    return window && window.endsAt > at ? window : undefined;
  };
  const counted = (window: { count: number; endsAt: number }, at: number): WindowCount => ({
    count: window.count,
    resetInMs: window.endsAt - at,
  });
  return {
    hit: async (key, windowMs) => {
      const at = now();
      const window = current(key, at) ?? { count: 0, endsAt: at + windowMs };
      window.count++;
      windows.set(key, window);
      return counted(window, at);
    },
    peek: async (key) => {
      const at = now();
      const window = current(key, at);
      return window ? counted(window, at) : { count: 0, resetInMs: 0 };
    },
    close: async () => clearInterval(sweep),
  };
}
