/**
 * Child-process entry for part 7's memory half (photo-upload.ts), forked with --expose-gc: the real server,
 * booted with createServer from the env it is sent (dev auth, PGlite in its DATA_DIR). It samples its own
 * RSS every SAMPLE_MS and keeps the maximum: decoding and encoding happen in libvips, outside the JS heap,
 * so RSS is what shows them, and a sample taken in this process sees the peak that an IPC request queued
 * behind the busy event loop would miss. The parent imports only this module's types.
 */
import { runInNewContext } from 'node:vm';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { createServer } from '../../src/create-server';
import { loadEnv } from '../../src/env';

export type UploadMemoryRequest =
  /** Starts the server, and sampling RSS every `sampleMs`. */
  | { type: 'start'; env: Record<string, string>; sampleMs: number }
  /** Peak RSS since the last reset (sampled before any GC), then memory (after GCs with `gc`). */
  | { type: 'memory'; gc: boolean; resetPeak: boolean }
  | { type: 'exit' };

export interface UploadMemory {
  usage: NodeJS.MemoryUsage;
  /** Highest RSS sampled since the previous reset. */
  peakRss: number;
  samples: number;
}

export type UploadMemoryReply = { type: 'ready'; url: string } | ({ type: 'memory' } & UploadMemory) | { type: 'error'; message: string };

function gcFunction(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const gc = gcFunction();
let peakRss = 0;
let samples = 0;
const sample = () => {
  samples++;
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
};

async function memory(settle: boolean, resetPeak: boolean): Promise<UploadMemory> {
  sample();
  const peak = { peakRss, samples };
  for (let i = 0; settle && i < 4; i++) {
    gc();
    await nextTurn();
  }
  const usage = process.memoryUsage();
  if (resetPeak) {
    peakRss = usage.rss;
    samples = 0;
  }
  return { usage, ...peak };
}

function send(reply: UploadMemoryReply): void {
  process.send?.(reply);
}

process.on('message', (message: UploadMemoryRequest) => {
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
