/**
 * Part 4 — backpressure for slow readers. The server runs in a child process (memory and event-loop stalls
 * read there over IPC); the fake model and every client live here.
 *
 * The long reply is LONG_TOKENS streamed tokens of TOKEN_CHARS characters each (~8 MiB of SSE). Ordinary
 * ~6-character tokens would make a 20k-token reply only ~0.85 MiB of SSE, which the kernel's socket buffers
 * (a few MiB on loopback: support/slow-reader.ts measures them) take whole, so the server would never see a
 * slow reader at all. This size overflows them, so the server's writer must wait for the reader.
 *
 * FAST_USERS users do sequential POST /chat/stream turns (short reply) and time their first token, in
 * windows of WINDOW_MS, fresh users each window so threads start equally short:
 *   quiet — nothing else (once before and once after the others, pooled as the baseline);
 *   burst — the long reply starts with the window and is read at full speed: the cost of generating it,
 *           whoever reads it (the fake sends it as fast as it can);
 *   slow  — a reader taking BYTES_PER_TICK every TICK_MS from a paused raw socket is draining the same reply,
 *           already generated and saved (the window starts once it is): the cost of the slow reader alone.
 *           It leaves at the window's end.
 * Also: when the slow reader's reply was saved (vs the fast reader's: the turn must not wait for its reader)
 * and how much it had read by then, the server heap it holds while connected (after GC) against the size of
 * the reply, server RSS growth over its read, that its reply is complete in the database after it left, and
 * the same for a reader that leaves right after its first bytes, while its reply is still being generated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildServer, type ChildServer } from './support/child-server';
import { checkTurn, streamOverSse } from './support/clients';
import type { BenchDriver } from './support/databases';
import { SHORT_REPLY, startFakeModel } from './support/fake-model';
import { benchEnv, devLogin, LOADED_MACHINE } from './support/server-env';
import { kernelSocketBuffering, startSlowReader } from './support/slow-reader';
import { fixed, kib, mib, printTable, sanity, sleep, summarize, times } from './support/stats';

const FAST_USERS = 2;
const WINDOW_MS = 2_500;
const WARMUP_MS = 2_000;
const LONG_TOKENS = 20_000;
const TOKEN_CHARS = 400;
const LONG_REPLY = Array.from({ length: (LONG_TOKENS * TOKEN_CHARS) / 8 }, (_, i) =>
  `step ${i % 100} `.padEnd(8, '.'),
).join('');
/** The fake streams it in TOKEN_CHARS-character chunks: one SSE `token` event each. */
const LONG_PIECES = Array.from({ length: LONG_TOKENS }, (_, i) =>
  LONG_REPLY.slice(i * TOKEN_CHARS, (i + 1) * TOKEN_CHARS),
);
const LONG_SSE_BYTES = LONG_PIECES.reduce(
  (sum, content) => sum + Buffer.byteLength(`data: ${JSON.stringify({ type: 'token', content })}\n\n`),
  0,
);
const BYTES_PER_TICK = 1024;
const TICK_MS = 50;

type Window = 'quietBefore' | 'burst' | 'slow' | 'quietAfter';

interface WindowResult {
  ttfts: number[];
  /** Peak server RSS during the window minus its RSS (after GC) at the start. */
  rssGrowth: number;
  /** The server's longest event-loop stall during the window. */
  loopStallMs: number;
}

export interface BackpressureResult {
  driver: string;
  windows: Record<Window, WindowResult>;
  /** Bytes the kernel took on a paused loopback connection before the writer saw backpressure. */
  kernelBuffering: number;
  /** ms from request to saved reply: the fast reader's `done` event; the slow reader's (polled every 100 ms). */
  fastSavedMs: number;
  slowSavedMs: number;
  /** Bytes the slow reader had read when its reply was saved, and when it left. */
  bytesAtSave: number;
  bytesAtLeave: number;
  leftAfterMs: number;
  /** Server heap after GC once the slow reader's reply was saved (nearly all of it unread) minus before its request. */
  heapHeldBySlowReader: number;
  /** The same once it had left. */
  heapAfterLeaving: number;
  /** Peak server RSS from the slow reader's request to its leaving, minus RSS (after GC) just before. */
  rssGrowthDuringSlowRead: number;
  /** The reader that left after its first bytes: ms until its (complete) reply was saved. */
  earlyLeaverSavedMs: number;
}

interface HistoryBody {
  messages: Array<{ role: string; content: string; stopped: boolean }>;
}

async function newestMessage(
  baseUrl: string,
  token: string,
): Promise<HistoryBody['messages'][number] | undefined> {
  const response = await fetch(`${baseUrl}/chat/history?limit=1`, {
    headers: { authorization: `Bearer ${token}` },
  });
  sanity(response.ok, `GET /chat/history answered ${response.status}`);
  return ((await response.json()) as HistoryBody).messages[0];
}

/** Polls until the user's newest message is the assistant's reply, then checks it is the whole long reply. */
async function waitForFullReply(
  baseUrl: string,
  token: string,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  for (const start = performance.now(); ; await sleep(100)) {
    const newest = await newestMessage(baseUrl, token);
    if (newest?.role === 'assistant') {
      sanity(!newest.stopped, `${what}: the reply was saved as stopped`);
      sanity(
        newest.content === LONG_REPLY,
        `${what}: the reply was saved with ${newest.content.length} of ${LONG_REPLY.length} chars`,
      );
      return;
    }
    sanity(performance.now() - start < timeoutMs, `${what}: reply not saved within ${timeoutMs} ms`);
  }
}

/** Samples the child's RSS and loop stalls until stopped; resolves with the peaks. */
function sampleServer(server: ChildServer): () => Promise<{ rss: number; loopStallMs: number }> {
  let running = true;
  const peaks = { rss: 0, loopStallMs: 0 };
  const done = (async () => {
    while (running) {
      await sleep(100);
      const sample = await server.memory(false);
      peaks.rss = Math.max(peaks.rss, sample.rss);
      peaks.loopStallMs = Math.max(peaks.loopStallMs, sample.loopDelayMaxMs);
    }
  })();
  return async () => {
    running = false;
    await done;
    return peaks;
  };
}

export async function measureSlowReaderBackpressure(driver: BenchDriver): Promise<BackpressureResult> {
  const model = await startFakeModel((message) =>
    message.startsWith('LONG') ? { text: LONG_REPLY, chunkSize: TOKEN_CHARS } : undefined,
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-bench-slow-'));
  const database = await driver.forChild();
  let child: ChildServer | undefined;
  try {
    child = await startChildServer(
      'fixthread',
      // A turn failed by the 1 s database deadline on a loaded machine ended a full run here ("no done event").
      benchEnv({ openaiBaseUrl: model.openai.baseURL, dataDir, extra: { ...database.env, ...LOADED_MACHINE } }),
    );
    const server = child;
    const fastReaderToken = await devLogin(server.url, 'long-fast');
    const slowReaderToken = await devLogin(server.url, 'long-slow');
    const earlyLeaverToken = await devLogin(server.url, 'long-early');

    /** The fast users' sequential turns for one window; `begin` runs once the window's users are signed in. */
    const runWindow = async (name: string, ms = WINDOW_MS, begin?: () => void): Promise<WindowResult> => {
      const tokens = await Promise.all(
        Array.from({ length: FAST_USERS }, (_, u) => devLogin(server.url, `fast-${name}-${u}`)),
      );
      const atStart = await server.memory(true); // also resets the stall maximum
      const stopSampling = sampleServer(server);
      begin?.();
      const ttfts: number[] = [];
      const deadline = performance.now() + ms;
      await Promise.all(
        tokens.map(async (token, u) => {
          for (let n = 0; performance.now() < deadline; n++) {
            const turn = await streamOverSse(server.url, token, `The hinge is loose (${u}.${n})`);
            checkTurn(turn, SHORT_REPLY, 'fast user turn');
            ttfts.push(turn.ttft);
          }
        }),
      );
      const peaks = await stopSampling();
      return { ttfts, rssGrowth: peaks.rss - atStart.rss, loopStallMs: peaks.loopStallMs };
    };

    await runWindow('warm-up', WARMUP_MS);
    const quietBefore = await runWindow('quiet-before');

    let longRead: Promise<number> = Promise.resolve(Number.NaN);
    const burst = await runWindow('burst', WINDOW_MS, () => {
      const start = performance.now();
      longRead = streamOverSse(server.url, fastReaderToken, 'LONG answer please').then((turn) => {
        checkTurn(turn, LONG_REPLY, 'long reply, fast reader');
        return performance.now() - start;
      });
    });
    const fastSavedMs = await longRead;

    // The slow reader: its reply is generated and saved while it has read almost nothing; then the others
    // stream while it drains.
    const before = await server.memory(true);
    const stopSampling = sampleServer(server);
    const slowStart = performance.now();
    const slowReader = await startSlowReader(server.url, slowReaderToken, 'LONG answer please', {
      bytesPerTick: BYTES_PER_TICK,
      tickMs: TICK_MS,
    });
    await waitForFullReply(server.url, slowReaderToken, 'slow reader');
    const slowSavedMs = performance.now() - slowStart;
    const bytesAtSave = slowReader.received;
    const heapConnected = (await server.memory(true)).heapUsed;
    const slow = await runWindow('slow');
    const bytesAtLeave = slowReader.received;
    const leftAfterMs = performance.now() - slowStart;
    sanity(bytesAtLeave < LONG_SSE_BYTES / 4, 'the slow reader was not slow: it read much of the reply');
    slowReader.disconnect();
    const slowReadPeaks = await stopSampling();
    await waitForFullReply(server.url, slowReaderToken, 'slow reader, after it left');
    const heapAfterLeaving = (await server.memory(true)).heapUsed;

    // A reader that leaves while its reply is still being generated: the engine must finish and save it anyway.
    const earlyStart = performance.now();
    const early = await startSlowReader(server.url, earlyLeaverToken, 'LONG answer please', {
      bytesPerTick: 64,
      tickMs: 1,
    });
    early.disconnect();
    await waitForFullReply(server.url, earlyLeaverToken, 'reader that left early');
    const earlyLeaverSavedMs = performance.now() - earlyStart;

    const quietAfter = await runWindow('quiet-after');
    return {
      driver: driver.name,
      windows: { quietBefore, burst, slow, quietAfter },
      kernelBuffering: await kernelSocketBuffering(),
      fastSavedMs,
      slowSavedMs,
      bytesAtSave,
      bytesAtLeave,
      leftAfterMs,
      heapHeldBySlowReader: heapConnected - before.heapUsed,
      heapAfterLeaving: heapAfterLeaving - before.heapUsed,
      rssGrowthDuringSlowRead: slowReadPeaks.rss - before.rss,
      earlyLeaverSavedMs,
    };
  } finally {
    await child?.stop();
    await model.openai.close();
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function reportSlowReaderBackpressure(results: BackpressureResult[]): void {
  const labels: Record<Window, string> = {
    quietBefore: 'quiet (baseline, before)',
    burst: `+ the long reply generating`,
    slow: `+ a slow reader draining it (${BYTES_PER_TICK} B/${TICK_MS} ms)`,
    quietAfter: 'quiet again (drift check)',
  };
  const rows: string[][] = [];
  for (const { driver, windows } of results) {
    const quiet = quietSummary(windows);
    for (const name of ['quietBefore', 'burst', 'slow', 'quietAfter'] as const) {
      const w = windows[name];
      const s = summarize(w.ttfts);
      rows.push([
        driver,
        labels[name],
        String(s.n),
        fixed(s.median),
        fixed(s.p95),
        fixed(s.max, 0),
        times(s.median / quiet.median),
        times(s.p95 / quiet.p95),
        fixed(w.loopStallMs, 0),
        mib(w.rssGrowth),
      ]);
    }
  }
  printTable(
    [
      'driver',
      `${FAST_USERS} other users' TTFT, ${WINDOW_MS / 1000} s windows`,
      'turns',
      'median ms',
      'p95 ms',
      'max ms',
      '× quiet',
      '× quiet p95',
      'server stall ms',
      'peak ΔRSS MiB',
    ],
    rows,
  );
  console.log(
    `  (long reply: ${LONG_TOKENS.toLocaleString('en-US')} tokens × ${TOKEN_CHARS} chars = ${mib(LONG_SSE_BYTES)} MiB ` +
      `of SSE; × quiet: against both quiet windows pooled; server stall: longest event-loop delay in the server)`,
  );
  for (const r of results) {
    const quiet = quietSummary(r.windows);
    const slow = summarize(r.windows.slow.ttfts);
    const burst = summarize(r.windows.burst.ttfts);
    console.log(
      `→ ${r.driver}: a slow reader costs the others ${times(slow.median / quiet.median)} median TTFT ` +
        `(${times(slow.p95 / quiet.p95)} p95). Its reply was saved ${fixed(r.slowSavedMs / 1000, 1)} s in (read fast: ` +
        `${fixed(r.fastSavedMs / 1000, 1)} s) when it had read ${kib(r.bytesAtSave)} KiB of ${mib(LONG_SSE_BYTES)} MiB, ` +
        `${mib(r.kernelBuffering)} MiB of which the kernel's socket buffers can hold; the server then held ` +
        `${mib(r.heapHeldBySlowReader)} MiB of heap for it (after GC; ${times(r.heapHeldBySlowReader / LONG_REPLY.length)} ` +
        `the reply's ${mib(LONG_REPLY.length)} MiB of text; ${mib(r.heapAfterLeaving)} MiB once it left), and its RSS ` +
        `peaked ${mib(r.rssGrowthDuringSlowRead)} MiB up.`,
    );
    console.log(
      `  It left at ${fixed(r.leftAfterMs / 1000, 1)} s having read ${kib(r.bytesAtLeave)} KiB, and the stored reply is ` +
        `complete, as is that of a reader that left after its first bytes (saved ${fixed(r.earlyLeaverSavedMs / 1000, 1)} s ` +
        `in). Generating the long reply stalls the others (${times(burst.median / quiet.median)} median, max ` +
        `${fixed(burst.max, 0)} ms vs ${fixed(quiet.max, 0)} ms quiet), the server's own loop for up to ` +
        `${fixed(r.windows.burst.loopStallMs, 0)} ms; the rest is this process, where the fake emits it and the fast reader parses it.`,
    );
  }
}

function quietSummary(windows: Record<Window, WindowResult>) {
  return summarize([...windows.quietBefore.ttfts, ...windows.quietAfter.ttfts]);
}
