/** Runs at most `size` tasks at once; the rest wait their turn, first come first served. */
export interface WorkSlots {
  run<T>(task: () => Promise<T>): Promise<T>;
}

export function createWorkSlots(size: number): WorkSlots {
  let busy = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else busy--;
  };
  return {
    async run(task) {
      if (busy < size) busy++;
      // The slot is handed over by `release` without being given back first, so nothing can jump the queue.
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
