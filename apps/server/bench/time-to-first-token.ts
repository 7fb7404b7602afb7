/**
 * Part 1 — added time-to-first-token. Baseline: the openai SDK streaming straight from the fake (request →
 * first content delta), replaying the exact request the server last sent. Measured: POST /chat/stream over
 * HTTP (fetch + SSE parse) → first `token` event, and tRPC `chat.stream` over a WebSocket → first token.
 * Sequential turns, the three modes interleaved (rotating order) so drift hits all alike.
 */
import {
  checkTurn,
  connectTrpc,
  streamOverSse,
  streamOverTrpc,
  type StreamedTurn,
  type TrpcConnection,
} from './support/clients';
import { SHORT_REPLY } from './support/fake-model';
import type { InProcessServer } from './support/in-process-server';
import { devLogin } from './support/server-env';
import { sdkClient, streamWithSdk, type SdkConstructor } from './support/openai-sdk';
import { fixed, printTable, sanity, summarize, times } from './support/stats';

const WARMUP = 30;
const TURNS = 200;
/** Users per transport, round-robin, so threads (and the context each turn loads) stay a realistic length. */
const USERS = 10;

export interface TtftResult {
  driver: string;
  samples: Record<'sdk' | 'sse' | 'trpc', number[]>;
}

export async function measureTimeToFirstToken(
  driver: string,
  server: InProcessServer,
  OpenAI: SdkConstructor,
): Promise<TtftResult> {
  const sdk = sdkClient(OpenAI, server.model.openai.baseURL);
  const sseTokens = await Promise.all(
    Array.from({ length: USERS }, (_, u) => devLogin(server.url, `ttft-sse-${u}`)),
  );
  const trpcTokens = await Promise.all(
    Array.from({ length: USERS }, (_, u) => devLogin(server.url, `ttft-trpc-${u}`)),
  );
  const connections: TrpcConnection[] = trpcTokens.map((token) => connectTrpc(server.url, token));
  const samples: TtftResult['samples'] = { sdk: [], sse: [], trpc: [] };
  try {
    const modes: Array<[keyof TtftResult['samples'], (i: number) => Promise<number>]> = [
      [
        'sdk',
        async () => {
          const turn = await streamWithSdk(sdk, server.model.latestBody());
          sanity(turn.text === SHORT_REPLY, `SDK baseline streamed ${turn.deltas} deltas, not the reply`);
          return turn.ttft;
        },
      ],
      [
        'sse',
        (i) => ttftOf(streamOverSse(server.url, sseTokens[i % USERS]!, `My screen is cracked (${i})`), 'SSE'),
      ],
      ['trpc', (i) => ttftOf(streamOverTrpc(connections[i % USERS]!, `My screen is cracked (${i})`), 'tRPC')],
    ];
    // The SDK baseline replays the server's last request, so the server goes first once.
    await streamOverSse(server.url, sseTokens[0]!, 'warm-up');
    for (let i = 0; i < WARMUP + TURNS; i++) {
      for (let k = 0; k < modes.length; k++) {
        const [name, run] = modes[(i + k) % modes.length]!;
        const ttft = await run(i);
        if (i >= WARMUP) samples[name].push(ttft);
      }
    }
  } finally {
    await Promise.all(connections.map((c) => c.close()));
  }
  return { driver, samples };
}

async function ttftOf(turn: Promise<StreamedTurn>, what: string): Promise<number> {
  const finished = await turn;
  checkTurn(finished, SHORT_REPLY, what);
  return finished.ttft;
}

export function reportTimeToFirstToken(results: TtftResult[]): void {
  const labels = {
    sdk: 'openai SDK → fake (baseline)',
    sse: 'POST /chat/stream (SSE)',
    trpc: 'tRPC chat.stream (WS)',
  } as const;
  const rows: string[][] = [];
  for (const { driver, samples } of results) {
    const base = summarize(samples.sdk);
    for (const mode of ['sdk', 'sse', 'trpc'] as const) {
      const s = summarize(samples[mode]);
      const isBase = mode === 'sdk';
      rows.push([
        driver,
        labels[mode],
        String(s.n),
        fixed(s.median),
        fixed(s.p95),
        isBase ? '-' : fixed(s.median - base.median),
        isBase ? '1.00×' : times(s.median / base.median),
        isBase ? '1.00×' : times(s.p95 / base.p95),
      ]);
    }
  }
  printTable(['driver', 'TTFT of', 'n', 'median ms', 'p95 ms', 'added ms', '× median', '× p95'], rows);
  console.log(
    `  (${TURNS} turns per mode after ${WARMUP} warm-up, interleaved; the baseline replays the request the server last sent the model)`,
  );
  for (const { driver, samples } of results) {
    const base = summarize(samples.sdk).median;
    const sse = summarize(samples.sse).median;
    const trpc = summarize(samples.trpc).median;
    console.log(
      `→ ${driver}: FixThread adds ${fixed(sse - base)} ms (SSE, ${times(sse / base)}) and ${fixed(trpc - base)} ms ` +
        `(tRPC/WS, ${times(trpc / base)}) to a ${fixed(base)} ms raw SDK time-to-first-token (medians).`,
    );
  }
}
