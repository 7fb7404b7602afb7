/**
 * Part 4 — backpressure for slow readers. The server runs in a child process (memory and event-loop stalls
 * read there over IPC); the fake model and every client live here. FAST_USERS users do sequential
 * POST /chat/stream turns (short reply) and time their first token, in windows of WINDOW_MS, fresh users each
 * window so threads start equally short:
 *   quiet — nothing else (once before and once after the others, pooled as the baseline);
 *   fast  — a LONG_TOKENS-token reply starts with the window, read at full speed: the cost of the long turn;
 *   slow  — the same reply read BYTES_PER_TICK every TICK_MS from a paused raw socket, which leaves at the end.
 * slow ÷ quiet is what a slow reader costs everyone else; slow ÷ fast isolates the slow reading from the long
 * turn itself. Also: server heap held while the slow reader is connected (after GC), peak RSS growth, when its
 * reply was saved and how much it had read by then, that the saved reply is complete after it left, and the
 * same for a reader that leaves right after its first bytes, while the reply is still being generated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildServer, type ChildServer } from './support/child-server';
import { checkTurn, streamOverSse } from './support/clients';
import type { BenchDriver } from './support/databases';
import { SHORT_REPLY_DELTAS, startFakeModel } from './support/fake-model';
import { benchEnv, devLogin } from './support/server-env';
import { startSlowReader, type SlowReader } from './support/slow-reader';
import { fixed, kib, mib, printTable, sanity, sleep, summarize, times } from './support/stats';

const FAST_USERS = 2;
const WINDOW_MS = 2_500;
const WARMUP_MS = 2_000;
const LONG_TOKENS = 20_000;
const WORDS = [
  ' screw',
  ' panel',
  ' ribbon',
  ' cable',
  ' clip',
  ' bracket',
  ' shield',
  ' pry',
  ' gently',
  ' hinge',
];
const LONG_PIECES = Array.from(
  { length: LONG_TOKENS },
  (_, i) => `${WORDS[i % WORDS.length]!}${i % 7 === 6 ? '.' : ''}`,
);
const LONG_REPLY = LONG_PIECES.join('');
/** What the long reply weighs as SSE `token` events. */
const LONG_SSE_BYTES = LONG_PIECES.reduce(
  (sum, content) => sum + Buffer.byteLength(`data: ${JSON.stringify({ type: 'token', content })}\n\n`),
  0,
);
const BYTES_PER_TICK = 1024;
const TICK_MS = 50;

type Window = 'quietBefore' | 'fast' | 'slow' | 'quietAfter';

interface WindowResult {
  ttfts: number[];
  /** After a forced GC at the window's start. */
  rssStart: number;
  /** Highest RSS sampled (no GC) during the window. */
  rssPeak: number;
  /** The server's longest event-loop stall during the window. */
  loopStallMs: number;
  heapStart: number;
  /** Heap after a forced GC at the window's end (the slow reader still connected) minus heapStart. */
  heapHeld: number;
}

export interface BackpressureResult {
  driver: string;
  windows: Record<Window, WindowResult>;
  /** How long the long reply took to generate and read at full speed. */
  fastReadMs: number;
  /** ms from the slow reader's request to its reply being saved, and the bytes it had read by then. */
  savedAfterMs: number;
  bytesAtSave: number;
  leftAfterMs: number;
  bytesAtLeave: number;
  savedChars: number;
  /** The reader that left after its first bytes: ms until its (complete) reply was saved. */
  earlyLeaverSavedAfterMs: number;
  heapBefore: number;
  /** After the slow reader left and its reply was saved. */
  heapAfterLeave: number;
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

/** Polls until the user's newest message is the assistant's reply; returns it. */
async function waitForReply(baseUrl: string, token: string, timeoutMs: number) {
  for (const start = performance.now(); ;) {
    const newest = await newestMessage(baseUrl, token);
    if (newest?.role === 'assistant') return newest;
    sanity(performance.now() - start < timeoutMs, `reply not saved within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export async function measureSlowReaderBackpressure(driver: BenchDriver): Promise<BackpressureResult> {
  const model = await startFakeModel((message) =>
    message.startsWith('LONG') ? { text: LONG_REPLY } : undefined,
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-bench-slow-'));
  const database = await driver.forChild();
  let child: ChildServer | undefined;
  try {
    child = await startChildServer(
      'fixthread',
      benchEnv({ openaiBaseUrl: model.openai.baseURL, dataDir, extra: database.env }),
    );
    const server = child;
    // Fresh fast users per window, so every window starts from equally short threads (context grows with them).
    const windowUsers = async (window: string) =>
      Promise.all(Array.from({ length: FAST_USERS }, (_, u) => devLogin(server.url, `fast-${window}-${u}`)));
    const longFast = await devLogin(server.url, 'long-fast');
    const longSlow = await devLogin(server.url, 'long-slow');
    const longEarly = await devLogin(server.url, 'long-early');

    /**
     * The fast users' sequential turns for one window, while the child's RSS is sampled. `begin` starts the
     * window's long reply, after the settled (GC'd) starting point has been read.
     */
    const runWindow = async (name: string, ms = WINDOW_MS, begin?: () => void): Promise<WindowResult> => {
      const tokens = await windowUsers(name);
      const settled = await server.memory(true);
      const result: WindowResult = {
        ttfts: [],
        rssStart: settled.rss,
        rssPeak: settled.rss,
        loopStallMs: 0,
        heapStart: settled.heapUsed,
        heapHeld: Number.NaN,
      };
      begin?.();
      const deadline = performance.now() + ms;
      const sampler = async () => {
        while (performance.now() < deadline) {
          await sleep(100);
          const sample = await server.memory(false);
          result.rssPeak = Math.max(result.rssPeak, sample.rss);
          result.loopStallMs = Math.max(result.loopStallMs, sample.loopDelayMaxMs);
        }
      };
      const fastUser = async (token: string, u: number) => {
        for (let n = 0; performance.now() < deadline; n++) {
          const turn = await streamOverSse(server.url, token, `The hinge is loose (${u}.${n})`);
          checkTurn(turn, SHORT_REPLY_DELTAS, 'fast user turn');
          result.ttfts.push(turn.ttft);
        }
      };
      await Promise.all([sampler(), ...tokens.map(fastUser)]);
      return result;
    };
    const heldSince = async (window: WindowResult) => {
      window.heapHeld = (await server.memory(true)).heapUsed - window.heapStart;
    };

    await runWindow('warm-up', WARMUP_MS);
    const heapBefore = (await server.memory(true)).heapUsed;

    const quietBefore = await runWindow('quiet-before');
    await heldSince(quietBefore);

    let longRead: Promise<number> = Promise.resolve(Number.NaN);
    const fast = await runWindow('fast', WINDOW_MS, () => {
      const longStart = performance.now();
      longRead = streamOverSse(server.url, longFast, 'LONG answer please').then((turn) => {
        checkTurn(turn, LONG_TOKENS, 'long reply, fast reader');
        return performance.now() - longStart;
      });
    });
    const fastReadMs = await longRead;
    await heldSince(fast);

    let slowStart = Number.NaN;
    let slowReader: SlowReader | undefined;
    let savedAfterMs = Number.NaN;
    let bytesAtSave = Number.NaN;
    let watchSave: Promise<void> = Promise.resolve();
    const slow = await runWindow('slow', WINDOW_MS, () => {
      slowStart = performance.now();
      const reader = startSlowReader(server.url, longSlow, 'LONG answer please', {
        bytesPerTick: BYTES_PER_TICK,
        tickMs: TICK_MS,
      });
      watchSave = reader.then(async (started) => {
        slowReader = started;
        await waitForReply(server.url, longSlow, 60_000);
        savedAfterMs = performance.now() - slowStart;
        bytesAtSave = started.received;
      });
    });
    sanity(slowReader, 'the slow reader never got a response');
    await heldSince(slow); // the slow reader is still connected
    const leftAfterMs = performance.now() - slowStart;
    const bytesAtLeave = slowReader.received;
    slowReader.disconnect();
    await watchSave;
    const saved = await newestMessage(server.url, longSlow);
    sanity(
      saved?.role === 'assistant' && !saved.stopped,
      'the slow reader’s reply was not saved as finished',
    );
    sanity(
      saved.content === LONG_REPLY,
      `the slow reader’s reply was saved with ${saved.content.length} of ${LONG_REPLY.length} chars`,
    );
    await sleep(200);
    const heapAfterLeave = (await server.memory(true)).heapUsed;

    // A reader that leaves while the reply is still being generated: the engine must finish and save it anyway.
    const earlyStart = performance.now();
    const early = await startSlowReader(server.url, longEarly, 'LONG answer please', {
      bytesPerTick: 64,
      tickMs: 1,
    });
    early.disconnect();
    const earlySaved = await waitForReply(server.url, longEarly, 60_000);
    const earlyLeaverSavedAfterMs = performance.now() - earlyStart;
    sanity(
      earlySaved.content === LONG_REPLY && !earlySaved.stopped,
      'the early leaver’s reply was not saved in full',
    );

    const quietAfter = await runWindow('quiet-after');
    await heldSince(quietAfter);
    return {
      driver: driver.name,
      windows: { quietBefore, fast, slow, quietAfter },
      fastReadMs,
      savedAfterMs,
      bytesAtSave,
      leftAfterMs,
      bytesAtLeave,
      savedChars: saved.content.length,
      earlyLeaverSavedAfterMs,
      heapBefore,
      heapAfterLeave,
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
    fast: `+ ${LONG_TOKENS / 1000}k-token reply, fast reader`,
    slow: `+ same reply, slow reader (${BYTES_PER_TICK} B/${TICK_MS} ms)`,
    quietAfter: 'quiet again (drift check)',
  };
  const rows: string[][] = [];
  for (const { driver, windows } of results) {
    const quiet = quietSummary(windows);
    const fast = summarize(windows.fast.ttfts);
    for (const name of ['quietBefore', 'fast', 'slow', 'quietAfter'] as const) {
      const w = windows[name];
      const s = summarize(w.ttfts);
      rows.push([
        driver,
        labels[name],
        String(s.n),
        fixed(s.median),
        fixed(s.p95),
        times(s.median / quiet.median),
        times(s.p95 / quiet.p95),
        fixed(s.max, 0),
        name === 'slow' ? times(s.median / fast.median) : '-',
        fixed(w.loopStallMs, 0),
        mib(w.rssPeak - w.rssStart),
        mib(w.heapHeld),
      ]);
    }
  }
  printTable(
    [
      'driver',
      `${FAST_USERS} fast users' TTFT, ${WINDOW_MS / 1000} s windows`,
      'turns',
      'median ms',
      'p95 ms',
      '× quiet',
      '× quiet p95',
      'max ms',
      'slow÷fast',
      'server stall ms',
      'peak ΔRSS MiB',
      'held heap MiB',
    ],
    rows,
  );
  console.log(
    '  (× quiet: against both quiet windows pooled; server stall: longest event-loop delay in the server process;\n' +
      '   held heap: after forced GC at the window end, minus the start, the slow reader still connected)',
  );
  for (const r of results) {
    const quiet = quietSummary(r.windows);
    const slow = summarize(r.windows.slow.ttfts);
    const fast = summarize(r.windows.fast.ttfts);
    console.log(
      `→ ${r.driver}: with a slow reader the others' median TTFT is ${times(slow.median / quiet.median)} quiet and ` +
        `${times(slow.median / fast.median)} the same long reply read fast (generated and read in ${fixed(r.fastReadMs / 1000, 1)} s); ` +
        `the slow reader holds ${mib(r.windows.slow.heapHeld)} MiB of server heap. Its reply (${kib(LONG_SSE_BYTES)} KiB as SSE) was ` +
        `saved ${fixed(r.savedAfterMs / 1000, 1)} s in, when it had read ${kib(r.bytesAtSave)} KiB ` +
        `(${fixed((r.bytesAtSave / LONG_SSE_BYTES) * 100, 1)}%);`,
    );
    console.log(
      `  it left at ${fixed(r.leftAfterMs / 1000, 1)} s with ${kib(r.bytesAtLeave)} KiB read; the saved reply is complete ` +
        `(${r.savedChars.toLocaleString('en-US')} chars), as is that of a reader that left after its first bytes ` +
        `(saved ${fixed(r.earlyLeaverSavedAfterMs / 1000, 1)} s later). Heap after GC: ${mib(r.heapBefore)} MiB before, ` +
        `${mib(r.heapAfterLeave)} MiB after it left. Long replies, read fast or slowly, stall the others' first token ` +
        `(max ${fixed(Math.max(slow.max, fast.max), 0)} ms vs ${fixed(quiet.max, 0)} ms quiet).`,
    );
  }
}

function quietSummary(windows: Record<Window, WindowResult>) {
  return summarize([...windows.quietBefore.ttfts, ...windows.quietAfter.ttfts]);
}
