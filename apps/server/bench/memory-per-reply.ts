/**
 * Part 5 — server memory per reply: what ONE turn with a long reply (REPLY_TOKENS tokens, one per model
 * chunk, so one `token` event each) costs the server's heap, per transport:
 *   at done      — right after the client saw `done` and the stream ended (after forced GC): a tRPC turn is
 *                  held by nothing once it settles (durable turns resume from turn_events, not memory);
 *   done + 16 s  — the same once that retention window is over (after forced GC);
 *   peak         — the highest heapUsed the server sampled itself (every SAMPLE_MS) from just before the
 *                  request to the `at done` reading, garbage included.
 * Each is heapUsed minus heapUsed after GC just before the request. Baseline: the reply's own UTF-8 size
 * (the text the turn has to hold anyway), so each figure is "× reply". The fix target is ≤ 2× at done.
 *
 * The server is a child process (support/reply-memory-server.ts, --expose-gc) on PGlite in a temp DATA_DIR;
 * the fake model and the clients, which read as fast as they can, live here. One warm-up turn per transport
 * with the same long reply comes first, and every reading waits out the previous tRPC turn's retention, so
 * nothing lingering from another turn is counted. The warm-up matters: the first long chat.stream turn of a
 * process leaves ~8 MB behind for good, the high-water hash table of @trpc/server's Unpromise WeakMap (about
 * two entries per event in flight), which later turns reuse; that one-time cost is reported on its own.
 *
 * Alone: pnpm --filter @fixthread/server exec tsx bench/memory-per-reply.ts
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TurnEvent } from '@fixthread/core';
import type WebSocket from 'ws';
import { requestChild } from './support/child-server';
import { streamOverSse } from './support/clients';
import { startFakeModel } from './support/fake-model';
import { closeSockets, openTrpcSocket } from './support/raw-sockets';
import type { ReplyMemory, ReplyMemoryReply, ReplyMemoryRequest } from './support/reply-memory-server';
import { benchEnv, devLogin } from './support/server-env';
import { fixed, printTable, sanity, sleep, times } from './support/stats';

const REPLY_TOKENS = 200_000;
/** ` tok0` … ` tok9`: 5 UTF-8 bytes each, which the fake streams one per chunk (its default split). */
const REPLY = Array.from({ length: REPLY_TOKENS }, (_, i) => ` tok${i % 10}`).join('');
const REPLY_BYTES = Buffer.byteLength(REPLY, 'utf8');
/**
 * RecentTurns once kept a finished chat.stream turn 15 s; durable turns (6b1a2e7) dropped it, and nothing holds a
 * settled turn now (memory-per-websocket.ts). The wait stays, so the reading still shows anything that lingers.
 */
const RETENTION_WAIT_MS = 16_000;
const SAMPLE_MS = 20;

export type Transport = 'POST /chat/stream (SSE)' | 'chat.stream (tRPC/WS)';

export interface ReplyMemoryRow {
  transport: Transport;
  tokens: number;
  /** `token` events the client received (a server may join tokens a reader fell behind on). */
  tokenEvents: number;
  /** Request to the end of the stream, as the client saw it. */
  turnMs: number;
  before: ReplyMemory;
  atDone: ReplyMemory;
  afterRetention: ReplyMemory;
}

export interface ReplyMemoryResult {
  driver: 'pglite';
  replyBytes: number;
  rows: ReplyMemoryRow[];
  /** After GC: before the warm-up turns, and once they (and the tRPC one's retention) were over. */
  fresh: ReplyMemory;
  warmed: ReplyMemory;
}

interface ReplyMemoryChild {
  url: string;
  memory(options: { gc: boolean; resetPeak: boolean }): Promise<ReplyMemory>;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./support/reply-memory-server.ts', import.meta.url));

async function startReplyMemoryChild(env: Record<string, string>): Promise<ReplyMemoryChild> {
  // tsx's loader hooks ride in execArgv. No DATABASE_URL reaches the child: this part is PGlite only.
  const child = fork(ENTRY, [], {
    execArgv: [...process.execArgv, '--expose-gc'],
    env: { ...process.env, DATABASE_URL: undefined, TEST_DATABASE_URL: undefined },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(child, 'exit');
  try {
    const ready = await requestChild<ReplyMemoryReply>(child, { type: 'start', env, sampleMs: SAMPLE_MS });
    sanity(ready.type === 'ready', 'reply-memory child did not start');
    return {
      url: ready.url,
      memory: async ({ gc, resetPeak }) => {
        const reply = await requestChild<ReplyMemoryReply>(child, { type: 'memory', gc, resetPeak });
        sanity(reply.type === 'memory', 'reply-memory child did not report memory');
        return { usage: reply.usage, peakHeapUsed: reply.peakHeapUsed, samples: reply.samples };
      },
      stop: async () => {
        if (child.exitCode === null) child.send({ type: 'exit' } satisfies ReplyMemoryRequest);
        await exited;
      },
    };
  } catch (error) {
    child.kill();
    throw error;
  }
}

export async function measureMemoryPerReply(): Promise<ReplyMemoryResult> {
  const model = await startFakeModel((message) => {
    if (message.startsWith('LONG')) return { text: REPLY };
    return undefined;
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-bench-reply-'));
  let child: ReplyMemoryChild | undefined;
  const sockets: WebSocket[] = [];
  try {
    child = await startReplyMemoryChild(benchEnv({ openaiBaseUrl: model.openai.baseURL, dataDir }));
    const server = child;
    const login = (user: string) => devLogin(server.url, user);
    const trpcSocket = async (user: string) => {
      const socket = await openTrpcSocket(server.url, await login(user), user);
      sockets.push(socket);
      return socket;
    };
    // Checked by the text streamed, not the number of token events, which a server may join.
    const sseTurn = async (user: string, message: string, text: string) => {
      const turn = await streamOverSse(server.url, await login(user), message);
      sanity(turn.done && !turn.done.stopped, `SSE turn (${user}): no done event`);
      sanity(turn.text === text, `SSE turn (${user}): streamed ${turn.text.length} of ${text.length} chars`);
      return turn.tokens;
    };
    const trpcTurn = async (socket: WebSocket, message: string, text: string) => {
      const turn = await streamChatText(socket, message);
      sanity(turn.done, 'chat.stream turn: no done event');
      sanity(turn.text === text, `chat.stream turn: streamed ${turn.text.length} of ${text.length} chars`);
      return turn.tokenEvents;
    };

    // Warm-up, the same long turn once per transport (code compiled, one-time high-water structures grown),
    // then the warm tRPC turn's retention waited out.
    const warmSocket = await trpcSocket('warm-trpc');
    const fresh = await server.memory({ gc: true, resetPeak: true });
    await trpcTurn(warmSocket, 'LONG warm-up please', REPLY);
    const warmTrpcDone = performance.now();
    await sseTurn('warm-sse', 'LONG warm-up please', REPLY);
    await sleep(Math.max(0, RETENTION_WAIT_MS - (performance.now() - warmTrpcDone)));
    const warmed = await server.memory({ gc: true, resetPeak: true });

    const measure = async (transport: Transport, run: () => Promise<number>): Promise<ReplyMemoryRow> => {
      const before = await server.memory({ gc: true, resetPeak: true });
      const start = performance.now();
      const tokenEvents = await run();
      const turnMs = performance.now() - start;
      const atDone = await server.memory({ gc: true, resetPeak: true });
      await sleep(RETENTION_WAIT_MS);
      const afterRetention = await server.memory({ gc: true, resetPeak: true });
      return { transport, tokens: REPLY_TOKENS, tokenEvents, turnMs, before, atDone, afterRetention };
    };

    const rows: ReplyMemoryRow[] = [];
    rows.push(
      await measure('POST /chat/stream (SSE)', () => sseTurn('long-sse', 'LONG reply please', REPLY)),
    );
    const socket = await trpcSocket('long-trpc'); // opened before the `before` reading: only the turn counts
    rows.push(await measure('chat.stream (tRPC/WS)', () => trpcTurn(socket, 'LONG reply please', REPLY)));
    return { driver: 'pglite', replyBytes: REPLY_BYTES, rows, fresh, warmed };
  } finally {
    await closeSockets(sockets);
    await child?.stop();
    await model.openai.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface TrpcMessage {
  id?: number;
  /** chat.stream yields `tracked()` events: `{ id, data: event }`. */
  result?: { type: 'started' | 'data' | 'stopped'; data?: { id: string; data: TurnEvent } };
  error?: { message: string };
}

/** One chat.stream subscription (id 1) on an authenticated raw socket, read as fast as it comes, until stopped. */
function streamChatText(
  socket: WebSocket,
  message: string,
): Promise<{ text: string; tokenEvents: number; done: boolean }> {
  return new Promise((resolve, reject) => {
    const pieces: string[] = [];
    let done = false;
    const onMessage = (data: WebSocket.RawData) => {
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(new Uint8Array(data));
      const text = bytes.toString('utf8');
      if (text === 'PING' || text === 'PONG') return;
      const response = JSON.parse(text) as TrpcMessage;
      if (response.id !== 1) return;
      if (response.error) {
        socket.off('message', onMessage);
        reject(new Error(`chat.stream failed: ${response.error.message}`));
      } else if (response.result?.type === 'data') {
        const event = response.result.data?.data;
        if (event?.type === 'token') pieces.push(event.content);
        if (event?.type === 'done') done = true;
      } else if (response.result?.type === 'stopped') {
        socket.off('message', onMessage);
        resolve({ text: pieces.join(''), tokenEvents: pieces.length, done });
      }
    };
    socket.on('message', onMessage);
    socket.send(
      JSON.stringify({ id: 1, method: 'subscription', params: { path: 'chat.stream', input: { message } } }),
    );
  });
}

/** MB here are 10^6 bytes, so the reply (1,000,000 bytes) is 1.00 MB. */
const mb = (bytes: number) => fixed(bytes / 1e6, 2);

export function reportMemoryPerReply(result: ReplyMemoryResult): void {
  const { replyBytes } = result;
  const rows = result.rows.map((row) => {
    const atDone = row.atDone.usage.heapUsed - row.before.usage.heapUsed;
    const after = row.afterRetention.usage.heapUsed - row.before.usage.heapUsed;
    const peak = row.atDone.peakHeapUsed - row.before.usage.heapUsed;
    return [
      row.transport,
      row.tokens.toLocaleString('en-US'),
      mb(replyBytes),
      mb(atDone),
      times(atDone / replyBytes, 1),
      mb(after),
      times(after / replyBytes, 1),
      mb(peak),
      times(peak / replyBytes, 1),
      fixed(atDone / row.tokens, 0),
    ];
  });
  printTable(
    [
      'transport (pglite)',
      'reply tokens',
      'reply UTF-8 MB',
      'retained at done MB',
      '× reply',
      'at done+16s MB',
      '× reply',
      'peak in turn MB',
      '× reply',
      'B/token at done',
    ],
    rows,
    1,
  );
  console.log(
    `  (server heapUsed minus its heapUsed just before the request, after forced GC; peak: sampled every ` +
      `${SAMPLE_MS} ms in the server, garbage included; baseline ×1: the reply's ${replyBytes.toLocaleString('en-US')} ` +
      `UTF-8 bytes; target ≤ 2× at done)`,
  );
  console.log(
    `  The warm-up (one such turn per transport, before the readings) left ` +
      `${mb(result.warmed.usage.heapUsed - result.fresh.usage.heapUsed)} MB on the heap for good, once over.`,
  );
  for (const row of result.rows) {
    const delta = (pick: (u: NodeJS.MemoryUsage) => number, m: ReplyMemory) =>
      mb(pick(m.usage) - pick(row.before.usage));
    const atDone = row.atDone.usage.heapUsed - row.before.usage.heapUsed;
    console.log(
      `→ ${row.transport}: the turn took ${fixed(row.turnMs / 1000, 1)} s; ${times(atDone / replyBytes, 1)} its reply's size ` +
        `still on the heap at done, ${delta((u) => u.heapUsed, row.afterRetention)} MB at done+16s. Δexternal ` +
        `${delta((u) => u.external, row.atDone)} / ${delta((u) => u.external, row.afterRetention)} MB and ΔRSS ` +
        `${delta((u) => u.rss, row.atDone)} / ${delta((u) => u.rss, row.afterRetention)} MB (at done / +16s); ` +
        `${row.atDone.samples} heap samples during the turn; ${row.tokenEvents.toLocaleString('en-US')} token events received.`,
    );
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadAtStart = loadavg()[0]?.toFixed(2) ?? '?';
  const result = await measureMemoryPerReply();
  console.log(
    `\nPart 5 — server memory per reply: one ${REPLY_TOKENS.toLocaleString('en-US')}-token reply (server in a child process)`,
  );
  reportMemoryPerReply(result);
  console.log(
    `\ntotal ${fixed((performance.now() - started) / 1000, 1)}s; 1-min load average ${loadAtStart} at start, ` +
      `${loadavg()[0]?.toFixed(2) ?? '?'} at end (${cpus().length} CPUs)`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
