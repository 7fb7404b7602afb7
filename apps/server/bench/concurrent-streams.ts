/**
 * Part 10 — 500 concurrent streams. The server runs in a child process and reports its RSS (after forced GC)
 * with STREAMS authenticated tRPC sockets idle, then midway through STREAMS chat.stream turns streaming at once
 * (the fake sends a STREAM_TOKENS-token reply, one token every INTERVAL_MS). Baseline: a bare `ws` server in
 * a child (server-process.ts, `bare-ws-stream`) that answers the same subscription message by pushing the very
 * frames FixThread sent for one such turn (captured in the warm-up), at the same interval. The figure is the
 * extra RSS per stream: (RSS while streaming − RSS idle) ÷ STREAMS, for each server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { startChildServer, type ChildServer } from './support/child-server';
import type { ServerMemory } from './support/child-protocol';
import type { BenchDriver } from './support/databases';
import { startFakeModel } from './support/fake-model';
import { closeSockets, openBareSocket, openTrpcSocket, subscribeBareStream, subscribeChatStream } from './support/raw-sockets';
import { benchEnv, devLogin, LOADED_MACHINE } from './support/server-env';
import { addSummaryRow } from './support/summary';
import { eachLimited, fixed, kib, mib, printTable, sanity, sleep, times } from './support/stats';

const STREAMS = 500;
const STREAM_TOKENS = 300;
const INTERVAL_MS = 30;
const STREAM_REPLY = Array.from({ length: STREAM_TOKENS }, (_, i) => ` part${i % 40}`).join('');
const WARMUP_STREAMS = 20;
/** Into the streams before the reading: all have started, and none is near its end (300 × 30 ms ≈ 9 s). */
const MIDWAY_MS = 3_500;

interface StreamMemory {
  idle: ServerMemory;
  streaming: ServerMemory;
  seconds: number;
}

export interface ConcurrentStreamsResult {
  driver: string;
  fixthread: StreamMemory;
  bare: StreamMemory;
}

export async function measureConcurrentStreams(driver: BenchDriver): Promise<ConcurrentStreamsResult> {
  const model = await startFakeModel((message) =>
    message.startsWith('stream ') ? { text: STREAM_REPLY, delayMsBetweenChunks: INTERVAL_MS } : undefined,
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-bench-streams-'));
  const database = await driver.forChild();
  let child: ChildServer | undefined;
  let bareChild: ChildServer | undefined;
  const sockets: WebSocket[] = [];
  try {
    child = await startChildServer('fixthread', benchEnv({ openaiBaseUrl: model.openai.baseURL, dataDir, extra: { ...database.env, ...LOADED_MACHINE } }));
    const server = child;
    await eachLimited(range(STREAMS), 25, async (i) => {
      const id = `streams-${i}`;
      sockets[i] = await openTrpcSocket(server.url, await devLogin(server.url, id), id);
    });
    const frames: string[] = [];
    await Promise.all(
      sockets.slice(0, WARMUP_STREAMS).map(async (socket, i) => {
        const { text } = await subscribeChatStream(socket, 1, `stream warm-up ${i}`, i === 0 ? { frames } : {});
        sanity(text === STREAM_REPLY, 'warm-up stream streamed a different reply');
      }),
    );
    const fixthread = await streamAll(server, sockets, async (socket, i) => {
      const { text } = await subscribeChatStream(socket, 2, `stream ${i}`);
      sanity(text === STREAM_REPLY, 'stream streamed a different reply');
    });
    await closeSockets(sockets.splice(0));

    bareChild = await startChildServer('bare-ws-stream', { FRAMES: JSON.stringify(frames), FRAME_INTERVAL_MS: String(INTERVAL_MS) });
    const bareServer = bareChild;
    await eachLimited(range(STREAMS), 25, async (i) => {
      sockets[i] = await openBareSocket(bareServer.url, 'x'.repeat(200));
    });
    await Promise.all(sockets.slice(0, WARMUP_STREAMS).map((socket) => subscribeBareStream(socket, 1, 'stream warm-up')));
    const bare = await streamAll(bareServer, sockets, async (socket, i) => {
      const received = await subscribeBareStream(socket, 2, `stream ${i}`);
      sanity(received === frames.length, `bare stream pushed ${received} of ${frames.length} frames`);
    });
    return { driver: driver.name, fixthread, bare };
  } finally {
    await closeSockets(sockets);
    await child?.stop();
    await bareChild?.stop();
    await model.openai.close();
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function streamAll(
  server: ChildServer,
  sockets: WebSocket[],
  stream: (socket: WebSocket, i: number) => Promise<void>,
): Promise<StreamMemory> {
  const idle = await server.memory();
  const started = performance.now();
  const all = Promise.all(sockets.map(stream));
  await sleep(MIDWAY_MS);
  const streaming = await server.memory();
  await all;
  return { idle, streaming, seconds: (performance.now() - started) / 1000 };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const perStream = (m: StreamMemory, field: 'rss' | 'heapUsed') => (m.streaming[field] - m.idle[field]) / STREAMS;

export function reportConcurrentStreams(result: ConcurrentStreamsResult): void {
  const rows = (['fixthread', 'bare'] as const).map((which) => {
    const m = result[which];
    return [
      result.driver,
      which === 'fixthread' ? `FixThread chat.stream ×${STREAMS}` : `bare ws pushing the same frames ×${STREAMS}`,
      mib(m.idle.rss),
      mib(m.streaming.rss),
      kib(perStream(m, 'rss')),
      kib(perStream(m, 'heapUsed')),
      fixed(m.seconds, 1),
    ];
  });
  printTable(['driver', 'server', 'idle RSS MiB', 'streaming RSS MiB', 'ΔRSS KiB/stream', 'Δheap KiB/stream', 'all done s'], rows);
  console.log(
    `  (each stream: ${STREAM_TOKENS} tokens, one every ${INTERVAL_MS} ms; read ${MIDWAY_MS / 1000} s in, after forced GC in the server child)`,
  );
  console.log(
    '  (RSS grows in whole pages into memory the warm-up already mapped, so Δheap is shown beside it: the two bound\n' +
      '   what a stream holds from below and above)',
  );
  const ours = perStream(result.fixthread, 'rss');
  const bare = perStream(result.bare, 'rss');
  addSummaryRow({
    figure: `${result.driver}: extra RSS per stream, ${STREAMS} streaming (KiB)`,
    fixthread: kib(ours),
    baseline: `${kib(bare)} (bare ws)`,
    ratio: times(ours / bare, 1),
    target: '≤ 32 KiB',
    met: ours <= 32 * 1024,
  });
  const heap = perStream(result.fixthread, 'heapUsed');
  const bareHeap = perStream(result.bare, 'heapUsed');
  addSummaryRow({
    figure: `${result.driver}: extra heap per stream, ${STREAMS} streaming (KiB)`,
    fixthread: kib(heap),
    baseline: `${kib(bareHeap)} (bare ws)`,
    ratio: times(heap / bareHeap, 1),
    target: '(reported)',
    met: undefined,
  });
}
