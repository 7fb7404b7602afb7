/**
 * Part 8 — turns/s over tRPC WS (chat.stream), REST SSE (POST /chat/stream) and POST /chat at 1, 10 and 50
 * concurrent users, each doing sequential turns, against baseline A: the same statements a turn runs
 * (support/turn-sql.ts) through postgres.js (on PGlite: raw PGlite) plus the openai SDK against the same fake,
 * no HTTP. Server and baseline each run in a child process of their own, so the CPU per turn of each is its
 * whole process (server: /proc of the child; baseline: process.cpuUsage in its child); the fake model and the
 * clients are in this process for both. Windows alternate between the modes, so noise hits them alike.
 *
 * Part 12 — the peer: a Vercel AI SDK server (support/ai-sdk-server.ts) at the same concurrencies, in the same
 * interleaved windows, against FixThread's SSE. Postgres only (it is written with postgres.js).
 */
import { runClosedLoop, type LoopWindow } from './support/closed-loop';
import type { BenchSession } from './support/bench-session';
import { checkTurn, streamOverSse } from './support/clients';
import { SHORT_REPLY } from './support/fake-model';
import { peerTurn } from './support/peer-server';
import { processCpuMs } from './support/process-cpu';
import { subscribeChatStream } from './support/raw-sockets';
import { addSummaryRow } from './support/summary';
import { fixed, printTable, sanity, sleep, summarize, times } from './support/stats';

export const CONCURRENCY = [1, 10, 50] as const;
const WINDOW_MS = 2_500;
const ROUNDS = 2;
const WARMUP_MS = 1_000;
/** `--verbose`: a line per window, to watch a long run. */
const VERBOSE = process.argv.includes('--verbose');

export type ThroughputMode = 'baseline' | 'trpc' | 'sse' | 'chat' | 'peer';
const LABELS: Record<ThroughputMode, string> = {
  baseline: 'baseline A (SQL + SDK, no HTTP)',
  trpc: 'tRPC WS chat.stream',
  sse: 'REST SSE POST /chat/stream',
  chat: 'POST /chat',
  peer: 'AI SDK peer (streamText + postgres.js)',
};

interface Tally {
  turns: number;
  ms: number;
  cpuMs: number;
  latencies: number[];
}

export interface TransportThroughputResult {
  driver: string;
  tallies: Map<string, Tally>;
  modes: ThroughputMode[];
}

const key = (mode: ThroughputMode, c: number) => `${mode}@${c}`;

export async function measureTransportThroughput(
  session: BenchSession,
  options: { throughput: boolean; baseline: boolean; peer: boolean },
): Promise<TransportThroughputResult> {
  const modes: ThroughputMode[] = options.baseline ? ['baseline'] : [];
  if (options.throughput) modes.push('trpc', 'sse', 'chat');
  if (options.peer && session.peer) modes.push('peer', ...(options.throughput ? [] : (['sse'] as const)));
  const max = Math.max(...CONCURRENCY);
  const sse = await session.users('tps-sse', max);
  const chat = await session.users('tps-chat', max);
  const sockets = options.throughput ? await session.sockets('tps-ws', max) : [];
  let subscription = 1_000;
  const serverTurn: Record<Exclude<ThroughputMode, 'baseline'>, (user: number, n: number) => Promise<void>> = {
    trpc: async (user, n) => {
      const { text } = await subscribeChatStream(sockets[user]!, subscription++, `The dishwasher will not drain (${n})`);
      sanity(text === SHORT_REPLY, 'tRPC turn streamed a different reply');
    },
    sse: async (user, n) => {
      const turn = await streamOverSse(session.server.url, sse[user]!.token, `The dishwasher will not drain (${n})`);
      checkTurn(turn, SHORT_REPLY, 'SSE');
    },
    chat: async (user, n) => {
      const response = await fetch(`${session.server.url}/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${chat[user]!.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: `The dishwasher will not drain (${n})` }),
      });
      sanity(response.ok, `POST /chat answered ${response.status}`);
      const { response: text } = (await response.json()) as { response: string };
      sanity(text === SHORT_REPLY, 'POST /chat returned a different reply');
    },
    peer: async (user, n) => {
      const text = await peerTurn(session.peer!.url, `tps-peer-${user}`, `The dishwasher will not drain (${n})`);
      sanity(text === SHORT_REPLY, 'the peer streamed a different reply');
    },
  };
  const window = async (mode: ThroughputMode, c: number, ms: number): Promise<LoopWindow> => {
    await sleep(50);
    if (mode === 'baseline') return session.baseline.run(c, ms, 'tps-base', session.body(), SHORT_REPLY);
    const pid = mode === 'peer' ? session.peer!.pid : session.server.pid;
    return runClosedLoop(c, ms, serverTurn[mode], () => processCpuMs(pid));
  };
  const tallies = new Map<string, Tally>();
  for (const mode of modes) await window(mode, 10, WARMUP_MS);
  for (const c of CONCURRENCY) {
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of modes) {
        const result = await window(mode, c, WINDOW_MS);
        if (VERBOSE) console.log(`  ${session.driver} c=${c} ${mode}: ${result.turns} turns, ${fixed(result.reading, 0)} ms CPU`);
        const tally = tallies.get(key(mode, c)) ?? { turns: 0, ms: 0, cpuMs: 0, latencies: [] };
        tally.turns += result.turns;
        tally.ms += result.ms;
        tally.cpuMs += result.reading;
        tally.latencies.push(...result.latencies);
        tallies.set(key(mode, c), tally);
      }
    }
  }
  return { driver: session.driver, tallies, modes };
}

export const rateOf = (t: Tally | undefined) => (t ? (t.turns / t.ms) * 1000 : Number.NaN);
const cpuOf = (t: Tally | undefined) => (t ? t.cpuMs / t.turns : Number.NaN);

/** Baseline A's best turns/s at any concurrency: its capacity, for part 9's arrival rate. */
export function baselineCapacity(result: TransportThroughputResult): number {
  return Math.max(...CONCURRENCY.map((c) => rateOf(result.tallies.get(key('baseline', c)))));
}

export function reportTransportThroughput(results: TransportThroughputResult[]): void {
  const rows: string[][] = [];
  for (const { driver, tallies, modes } of results) {
    for (const c of CONCURRENCY) {
      const base = tallies.get(key('baseline', c));
      for (const mode of modes) {
        const t = tallies.get(key(mode, c));
        if (!t) continue;
        const s = summarize(t.latencies);
        rows.push([
          driver,
          `c=${c} ${LABELS[mode]}`,
          String(t.turns),
          fixed(rateOf(t), 0),
          fixed(s.median, 1),
          fixed(s.p95, 1),
          fixed(cpuOf(t), 2),
          mode === 'baseline' ? '1.00×' : times(rateOf(t) / rateOf(base)),
          mode === 'baseline' ? '1.00×' : times(cpuOf(t) / cpuOf(base)),
        ]);
      }
    }
  }
  printTable(
    ['driver', 'users, sequential turns', 'turns', 'turns/s', 'median ms', 'p95 ms', 'CPU ms/turn', '÷ baseline', 'CPU × baseline'],
    rows,
  );
  console.log(
    `  (${ROUNDS}×${WINDOW_MS / 1000} s per mode and concurrency, interleaved, counted once every user has finished a turn; CPU = the serving process alone (server,\n` +
      `   baseline or peer child); the fake model and all clients run in the bench process for every mode)`,
  );
  for (const { driver, tallies, modes } of results) {
    const baseName = driver === 'pglite' ? 'raw-PGlite baseline' : 'baseline A';
    for (const mode of modes.filter((m) => m === 'trpc' || m === 'sse' || m === 'chat')) {
      for (const c of CONCURRENCY) {
        const t = tallies.get(key(mode, c));
        const base = tallies.get(key('baseline', c));
        const ratio = rateOf(t) / rateOf(base);
        addSummaryRow({
          figure: `${driver}: turns/s ${LABELS[mode]} c=${c} ÷ ${baseName}`,
          fixthread: fixed(rateOf(t), 0),
          baseline: fixed(rateOf(base), 0),
          ratio: times(ratio),
          target: '≥ 0.85×',
          met: ratio >= 0.85,
        });
      }
    }
    for (const mode of modes.filter((m) => m === 'trpc' || m === 'sse' || m === 'chat')) {
      const t = tallies.get(key(mode, 10));
      const base = tallies.get(key('baseline', 10));
      const ratio = cpuOf(t) / cpuOf(base);
      addSummaryRow({
        figure: `${driver}: server CPU ms/turn ${LABELS[mode]} c=10 ÷ ${baseName} process`,
        fixthread: fixed(cpuOf(t), 2),
        baseline: fixed(cpuOf(base), 2),
        ratio: times(ratio),
        target: '≤ 1.30×',
        met: ratio <= 1.3,
      });
    }
    if (modes.includes('peer')) {
      for (const c of CONCURRENCY) {
        const ours = rateOf(tallies.get(key('sse', c)));
        const peer = rateOf(tallies.get(key('peer', c)));
        addSummaryRow({
          figure: `${driver}: turns/s SSE ÷ AI SDK peer c=${c}`,
          fixthread: fixed(ours, 0),
          baseline: fixed(peer, 0),
          ratio: times(ours / peer),
          target: c === 50 ? '≥ 2.00×' : '(c=50 only)',
          met: c === 50 ? ours / peer >= 2 : undefined,
        });
      }
    }
  }
}
