/** Closed-loop load: `concurrency` clients, each doing sequential turns until a deadline. */
export interface LoopWindow {
  turns: number;
  ms: number;
  latencies: number[];
  /** What `atDeadline` returned (a CPU reading), taken when the window closed, before stragglers finish. */
  reading: number;
}

export async function runClosedLoop(
  concurrency: number,
  ms: number,
  turn: (client: number, n: number) => Promise<void>,
  atDeadline: () => number,
): Promise<LoopWindow> {
  const latencies: number[] = [];
  let turns = 0;
  const start = performance.now();
  const deadline = start + ms;
  let reading: number | undefined;
  const timer = setTimeout(() => (reading = atDeadline()), ms);
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const t0 = performance.now();
        await turn(client, n);
        const t1 = performance.now();
        if (t1 <= deadline) {
          turns++;
          latencies.push(t1 - t0);
        }
      }
    }),
  );
  clearTimeout(timer);
  return { turns, ms, latencies, reading: reading ?? atDeadline() };
}

/** This process's user + system CPU in ms. */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
