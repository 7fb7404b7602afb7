/**
 * Closed-loop load: `concurrency` clients, each doing sequential turns. Counting starts once every client has
 * finished a turn (and at least RAMP_MS in), so a window measures the steady state: at c=50 one turn can take
 * as long as a short window, and counting from a cold start would mostly count the ramp. Then turns finished
 * in the next `ms` are counted, and `read` (a CPU reading) is taken at both ends of that window.
 */
const RAMP_MS = 300;

export interface LoopWindow {
  turns: number;
  ms: number;
  latencies: number[];
  /** `read()` at the end of the counted window minus at its start. */
  reading: number;
}

export async function runClosedLoop(
  concurrency: number,
  ms: number,
  turn: (client: number, n: number) => Promise<void>,
  read: () => number,
): Promise<LoopWindow> {
  const latencies: number[] = [];
  let turns = 0;
  let warmClients = 0;
  const begin = performance.now();
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let startReading = 0;
  let reading: number | undefined;
  let endTimer: NodeJS.Timeout | undefined;
  const openWindow = () => {
    windowStart = performance.now();
    windowEnd = windowStart + ms;
    startReading = read();
    endTimer = setTimeout(() => (reading = read() - startReading), ms);
  };
  const rampTimer = setTimeout(() => {
    if (warmClients === concurrency && windowStart === Number.POSITIVE_INFINITY) openWindow();
  }, RAMP_MS);
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      for (let n = 0; performance.now() < windowEnd; n++) {
        const t0 = performance.now();
        await turn(client, n);
        const t1 = performance.now();
        if (n === 0 && ++warmClients === concurrency && t1 - begin >= RAMP_MS) openWindow();
        if (t0 >= windowStart && t1 <= windowEnd) latencies.push(t1 - t0);
        if (t1 >= windowStart && t1 <= windowEnd) turns++;
      }
    }),
  );
  clearTimeout(rampTimer);
  clearTimeout(endTimer);
  return { turns, ms, latencies, reading: reading ?? read() - startReading };
}

/** This process's user + system CPU in ms. */
export function ownCpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}
