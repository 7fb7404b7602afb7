/**
 * Part 9 — added time to first token under an open-loop load: turns arrive as a Poisson process at half of
 * baseline A's capacity (part 8's best baseline turns/s), whatever the server is doing, and each turn's TTFT
 * runs from its scheduled arrival (so queueing behind a busy server counts, no coordinated omission).
 * Baseline: the openai SDK in this process calling the fake directly (the server's last request), at the same
 * arrival rate. Measured: tRPC chat.stream over a WebSocket and POST /chat/stream (SSE), server in a child.
 * Modes alternate in windows. A user has one turn at a time (a thread runs its turns in order), so arrivals
 * go to idle users from a pool; an arrival that finds none is counted as dropped (the server is saturated).
 */
import type { BenchSession } from './support/bench-session';
import { checkTurn, streamOverSse } from './support/clients';
import { SHORT_REPLY } from './support/fake-model';
import { loadOpenAI, sdkClient, streamWithSdk } from './support/openai-sdk';
import { subscribeChatStream } from './support/raw-sockets';
import { addSummaryRow } from './support/summary';
import { fixed, percentile, printTable, sanity, sleep, times } from './support/stats';

const WINDOW_MS = 8_000;
const ROUNDS = 2;
const POOL = 100;

type Mode = 'sdk' | 'trpc' | 'sse';
const MODES: Mode[] = ['sdk', 'trpc', 'sse'];

export interface OpenLoopTtftResult {
  driver: string;
  ratePerSecond: number;
  samples: Record<Mode, number[]>;
  dropped: Record<Mode, number>;
}

export async function measureOpenLoopTtft(session: BenchSession, ratePerSecond: number): Promise<OpenLoopTtftResult> {
  sanity(ratePerSecond > 0, 'open-loop TTFT needs a positive arrival rate');
  const sdk = sdkClient(await loadOpenAI(), session.model.openai.baseURL);
  const sockets = await session.sockets('ttft-ws', POOL);
  const sseUsers = await session.users('ttft-sse', POOL);
  let subscription = 1_000_000;
  const start: Record<Mode, (user: number, at: number) => Promise<number>> = {
    sdk: async (_, at) => {
      const turn = await streamWithSdk(sdk, session.body(), at);
      sanity(turn.text === SHORT_REPLY, 'SDK baseline streamed a different reply');
      return turn.ttft;
    },
    trpc: async (user, at) => {
      let ttft = Number.NaN;
      const { text } = await subscribeChatStream(sockets[user]!, subscription++, `Screen flickers (${subscription})`, {
        onFirstToken: () => (ttft = performance.now() - at),
      });
      sanity(text === SHORT_REPLY, 'tRPC turn streamed a different reply');
      return ttft;
    },
    sse: async (user, at) => {
      const turn = await streamOverSse(session.server.url, sseUsers[user]!.token, `Screen flickers (${subscription++})`, at);
      checkTurn(turn, SHORT_REPLY, 'SSE');
      return turn.ttft;
    },
  };
  const samples: Record<Mode, number[]> = { sdk: [], trpc: [], sse: [] };
  const dropped: Record<Mode, number> = { sdk: 0, trpc: 0, sse: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) {
      const window = await openLoopWindow(ratePerSecond, WINDOW_MS, start[mode]);
      samples[mode].push(...window.ttfts);
      dropped[mode] += window.dropped;
      await sleep(200);
    }
  }
  return { driver: session.driver, ratePerSecond, samples, dropped };
}

async function openLoopWindow(
  ratePerSecond: number,
  ms: number,
  turn: (user: number, at: number) => Promise<number>,
): Promise<{ ttfts: number[]; dropped: number }> {
  const idle = Array.from({ length: POOL }, (_, i) => POOL - 1 - i);
  const ttfts: number[] = [];
  const inFlight: Array<Promise<void>> = [];
  let dropped = 0;
  const begin = performance.now();
  let next = begin;
  while (next - begin < ms) {
    next += -Math.log(1 - Math.random()) * (1000 / ratePerSecond);
    const wait = next - performance.now();
    if (wait > 1) await sleep(wait);
    const user = idle.pop();
    if (user === undefined) {
      dropped++;
      continue;
    }
    inFlight.push(
      turn(user, next).then((ttft) => {
        ttfts.push(ttft);
        idle.push(user);
      }),
    );
  }
  await Promise.all(inFlight);
  return { ttfts, dropped };
}

export function reportOpenLoopTtft(results: OpenLoopTtftResult[]): void {
  const labels: Record<Mode, string> = {
    sdk: 'openai SDK → fake (baseline)',
    trpc: 'tRPC chat.stream (WS)',
    sse: 'POST /chat/stream (SSE)',
  };
  const rows: string[][] = [];
  for (const { driver, ratePerSecond, samples, dropped } of results) {
    const base = sorted(samples.sdk);
    for (const mode of MODES) {
      const s = sorted(samples[mode]);
      rows.push([
        driver,
        `${labels[mode]} at ${fixed(ratePerSecond, 0)}/s`,
        String(s.length),
        String(dropped[mode]),
        fixed(percentile(s, 50)),
        fixed(percentile(s, 99)),
        mode === 'sdk' ? '-' : fixed(percentile(s, 50) - percentile(base, 50)),
        mode === 'sdk' ? '-' : fixed(percentile(s, 99) - percentile(base, 99)),
      ]);
    }
  }
  printTable(['driver', 'TTFT of', 'n', 'dropped', 'p50 ms', 'p99 ms', 'added p50 ms', 'added p99 ms'], rows);
  console.log(
    `  (Poisson arrivals at half of baseline A's best turns/s in part 8; ${ROUNDS}×${WINDOW_MS / 1000} s per mode, interleaved;\n` +
      `   TTFT from the scheduled arrival; 'dropped': arrivals that found all ${POOL} users of the pool busy)`,
  );
  for (const { driver, ratePerSecond, samples } of results) {
    const base = sorted(samples.sdk);
    for (const mode of ['trpc', 'sse'] as const) {
      const s = sorted(samples[mode]);
      for (const [p, target] of [
        [50, 1],
        [99, 5],
      ] as const) {
        const added = percentile(s, p) - percentile(base, p);
        addSummaryRow({
          figure: `${driver}: added TTFT p${p} ${labels[mode]} at ${fixed(ratePerSecond, 0)} arrivals/s (ms)`,
          fixthread: fixed(percentile(s, p)),
          baseline: fixed(percentile(base, p)),
          ratio: `+${fixed(added)} ms (${times(percentile(s, p) / percentile(base, p))})`,
          target: `≤ +${target} ms`,
          met: added <= target,
        });
      }
    }
  }
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
