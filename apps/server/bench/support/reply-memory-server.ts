/**
 * Child-process entry for part 5 (memory-per-reply.ts), forked with --expose-gc: the real server, booted with
 * createServer from the env it is sent (dev auth, PGlite in its DATA_DIR). Besides process.memoryUsage()
 * after forced GCs, it samples its own heapUsed every SAMPLE_MS and keeps the maximum, so the peak during a
 * turn is seen from inside (an IPC request would queue behind the busy event loop and miss the peak).
 * server-process.ts is the same idea without the sampling. The parent imports only this module's types:
 * importing it for real would run the handlers below in the bench's own process.
 */
import { runInNewContext } from 'node:vm';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { createServer } from '../../src/create-server';
import { loadEnv } from '../../src/env';

export type ReplyMemoryRequest =
  /** Starts the server, and sampling heapUsed every `sampleMs`. */
  | { type: 'start'; env: Record<string, string>; sampleMs: number }
  /** Peak heapUsed since the last reset (sampled before any GC), then memory (after GCs with `gc`). */
  | { type: 'memory'; gc: boolean; resetPeak: boolean }
  | { type: 'exit' };

export interface ReplyMemory {
  usage: NodeJS.MemoryUsage;
  /** Highest heapUsed sampled since the previous reset (garbage included: it is what the heap had to hold). */
  peakHeapUsed: number;
  /** Samples taken since the previous reset. */
  samples: number;
}

export type ReplyMemoryReply =
  { type: 'ready'; url: string } | ({ type: 'memory' } & ReplyMemory) | { type: 'error'; message: string };

function gcFunction(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const gc = gcFunction();
let peakHeapUsed = 0;
let samples = 0;
const sample = () => {
  samples++;
  peakHeapUsed = Math.max(peakHeapUsed, process.memoryUsage().heapUsed);
};

async function memory(settle: boolean, resetPeak: boolean): Promise<ReplyMemory> {
  sample();
  const peak = { peakHeapUsed, samples };
  for (let i = 0; settle && i < 4; i++) {
    gc();
    await nextTurn();
  }
  const usage = process.memoryUsage();
  if (resetPeak) {
    peakHeapUsed = usage.heapUsed;
    samples = 0;
  }
  return { usage, ...peak };
}

function send(reply: ReplyMemoryReply): void {
  process.send?.(reply);
}

process.on('message', (message: ReplyMemoryRequest) => {
  const handle = async () => {
    if (message.type === 'start') {
      setInterval(sample, message.sampleMs).unref();
      const server = await createServer({ env: loadEnv(message.env) });
      send({ type: 'ready', url: await server.start() });
    } else if (message.type === 'memory') {
      send({ type: 'memory', ...(await memory(message.gc, message.resetPeak)) });
    } else {
      process.exit(0);
    }
  };
  handle().catch((error: unknown) => {
    send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  });
});
process.on('disconnect', () => process.exit(0));
