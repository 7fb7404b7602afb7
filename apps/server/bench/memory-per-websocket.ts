/**
 * Part 3 — memory per WebSocket. The server runs in a child process (support/server-process.ts) and reports
 * its own process.memoryUsage() over IPC after forced GCs, so the bench's 500 client sockets and the fake
 * model are not counted. Measured, in order, on one FixThread server:
 *   idle     — CONNECTIONS sockets to /trpc, each authenticated via connectionParams and proven with one
 *              protected query (chat.sessions), then left idle;
 *   retained — after TURNS of those sockets each ran one chat.stream turn to completion (a RETAIN_TOKENS-token
 *              reply), i.e. what a finished turn leaves behind on the WebSocket path;
 *   sse      — after TURNS POST /chat/stream turns (same reply) by other users, read to the end: the same for SSE;
 *   pending  — after every socket opened one more chat.stream whose model never answers (a turn in flight).
 * Baseline: CONNECTIONS bare `ws` connections to a plain WebSocketServer (also a child), sent the same bytes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type WebSocket from 'ws';
import { startChildServer, type ChildServer } from './support/child-server';
import type { BenchDriver } from './support/databases';
import { startFakeModel } from './support/fake-model';
import { benchEnv, devLogin } from './support/server-env';
import { closeSockets, openBareSocket, openTrpcSocket, subscribeChatStream } from './support/raw-sockets';
import { checkTurn, streamOverSse } from './support/clients';
import { eachLimited, fixed, kib, mib, printTable, sanity, sleep, times } from './support/stats';

const CONNECTIONS = 500;
const WARMUP_CONNECTIONS = 20;
/** Finished turns measured per transport (on the first TURNS sockets / by TURNS SSE users). */
const TURNS = 200;
const RETAIN_TOKENS = 150;
const RETAIN_REPLY = Array.from({ length: RETAIN_TOKENS }, (_, i) => ` step${i % 50}`).join('');
const OPEN_CONCURRENCY = 25;
/**
 * How long a finished turn stays in server memory. The 15 s RecentTurns window (and the 2 min before it) went
 * with durable turns (6b1a2e7): create-chat-engine.ts drops a turn's TurnLog from the TurnRegistry as the turn
 * settles, and a resume replays turn_events from the database (finished turns pruned after 25 h,
 * KEEP_FINISHED_TURNS_MS in turn-maintenance.ts) or, with REDIS_URL, the turn's Redis stream (kept 120 s after
 * its end, endedTtlSeconds in redis-live-events.ts). Core does not export these, so they are quoted here.
 */
const FINISHED_TURN_RETENTION =
  'none in memory (the TurnLog is dropped when the turn settles); resume reads turn_events from the database ' +
  '(kept 25 h) or, with REDIS_URL, the Redis stream (kept 120 s after the turn ends)';

type Phase = 'start' | 'idle' | 'retained' | 'sse' | 'pending';

export interface WsMemoryResult {
  driver: string;
  fixthread: Record<Phase, NodeJS.MemoryUsage>;
  bare: { start: NodeJS.MemoryUsage; idle: NodeJS.MemoryUsage };
}

export async function measureMemoryPerWebSocket(driver: BenchDriver): Promise<WsMemoryResult> {
  const bare = await measureBare();
  const fixthread = await measureFixThread(driver);
  return { driver: driver.name, fixthread, bare };
}

async function measureBare(): Promise<WsMemoryResult['bare']> {
  const child = await startChildServer('bare-ws');
  const sockets: WebSocket[] = [];
  try {
    const warm = await Promise.all(
      Array.from({ length: WARMUP_CONNECTIONS }, () => openBareSocket(child.url, 'x'.repeat(200))),
    );
    await closeSockets(warm);
    const start = await child.memory();
    await eachLimited(range(CONNECTIONS), OPEN_CONCURRENCY, async () => {
      sockets.push(await openBareSocket(child.url, 'x'.repeat(200)));
    });
    const idle = await child.memory();
    return { start, idle };
  } finally {
    await closeSockets(sockets);
    await child.stop();
  }
}

async function measureFixThread(driver: BenchDriver): Promise<WsMemoryResult['fixthread']> {
  const model = await startFakeModel((message) => {
    if (message.startsWith('HANG')) return { hangMs: 10 * 60_000 };
    if (message.startsWith('RETAIN')) return { text: RETAIN_REPLY };
    return undefined;
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-bench-ws-'));
  const database = await driver.forChild();
  let child: ChildServer | undefined;
  const sockets: WebSocket[] = [];
  try {
    child = await startChildServer(
      'fixthread',
      benchEnv({ openaiBaseUrl: model.openai.baseURL, dataDir, extra: database.env }),
    );
    const server = child;
    const users = range(CONNECTIONS).map((i) => `ws-user-${i}`);
    const sseUsers = range(TURNS).map((i) => `sse-user-${i}`);
    const tokens = new Map<string, string>();
    await eachLimited([...users, ...sseUsers, 'warm-ws', 'warm-sse'], 16, async (user) => {
      tokens.set(user, await devLogin(server.url, user));
    });
    const token = (user: string) => tokens.get(user) ?? '';

    // Warm every code path measured below, so lazily compiled code and caches are not billed to connections.
    const warm: WebSocket[] = [];
    for (let i = 0; i < WARMUP_CONNECTIONS; i++)
      warm.push(await openTrpcSocket(server.url, token('warm-ws'), 'warm-ws'));
    for (const [i, socket] of warm.entries()) await subscribeChatStream(socket, 1, `RETAIN warm ${i}`);
    for (let i = 0; i < WARMUP_CONNECTIONS; i++)
      await streamOverSse(server.url, token('warm-sse'), `RETAIN warm ${i}`);
    await closeSockets(warm);

    const memory: Partial<Record<Phase, NodeJS.MemoryUsage>> = {};
    memory.start = await server.memory();

    await eachLimited(users, OPEN_CONCURRENCY, async (user) => {
      sockets.push(await openTrpcSocket(server.url, token(user), user));
    });
    memory.idle = await server.memory();

    await eachLimited(sockets.slice(0, TURNS), OPEN_CONCURRENCY, async (socket, i) => {
      const outcome = await subscribeChatStream(socket, 1, `RETAIN ${i}`);
      sanity(
        outcome.text === RETAIN_REPLY && outcome.done,
        `chat.stream turn ${i} streamed ${outcome.text.length} of ${RETAIN_REPLY.length} chars`,
      );
    });
    memory.retained = await server.memory();

    await eachLimited(sseUsers, 16, async (user, i) => {
      checkTurn(await streamOverSse(server.url, token(user), `RETAIN sse ${i}`), RETAIN_REPLY, 'SSE turn');
    });
    memory.sse = await server.memory();

    const before = model.requests;
    for (const socket of sockets) {
      // Never settles: the model hangs. The socket's close at the end ends it.
      subscribeChatStream(socket, 2, 'HANG please').catch(() => {});
    }
    for (let waited = 0; model.requests - before < CONNECTIONS; waited += 50) {
      sanity(
        waited < 30_000,
        `only ${model.requests - before} of ${CONNECTIONS} pending turns reached the model`,
      );
      await sleep(50);
    }
    memory.pending = await server.memory();
    return memory as Record<Phase, NodeJS.MemoryUsage>;
  } finally {
    await child?.stop(); // hard exit: the hanging turns die with it
    await closeSockets(sockets);
    await model.openai.close();
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

interface PerUnit {
  heap: number;
  external: number;
  rss: number;
}

function perUnit(after: NodeJS.MemoryUsage, before: NodeJS.MemoryUsage, n: number): PerUnit {
  return {
    heap: (after.heapUsed - before.heapUsed) / n,
    external: (after.external - before.external) / n,
    rss: (after.rss - before.rss) / n,
  };
}

export function reportMemoryPerWebSocket(results: WsMemoryResult[]): void {
  const rows: string[][] = [];
  for (const { driver, fixthread: m, bare } of results) {
    const base = perUnit(bare.idle, bare.start, CONNECTIONS);
    const line = (what: string, unit: PerUnit, vsBare: boolean, n = CONNECTIONS) => [
      driver,
      what,
      String(n),
      kib(unit.heap),
      kib(unit.external),
      kib(unit.rss),
      vsBare ? times(unit.heap / base.heap, 1) : '-',
    ];
    rows.push(line('bare ws.Server: idle connection (baseline)', base, true));
    rows.push(
      line('FixThread /trpc: authenticated idle connection', perUnit(m.idle, m.start, CONNECTIONS), true),
    );
    rows.push(
      line(
        `finished chat.stream turn (${RETAIN_TOKENS} tokens), per turn`,
        perUnit(m.retained, m.idle, TURNS),
        false,
        TURNS,
      ),
    );
    rows.push(
      line(
        'finished POST /chat/stream turn (same reply), per turn',
        perUnit(m.sse, m.retained, TURNS),
        false,
        TURNS,
      ),
    );
    rows.push(
      line(
        'pending chat.stream, model not answering yet, per turn',
        perUnit(m.pending, m.sse, CONNECTIONS),
        false,
      ),
    );
  }
  printTable(
    [
      'driver',
      'server process, after forced GC',
      'n',
      'Δheap KiB/each',
      'Δexternal KiB/each',
      'ΔRSS KiB/each',
      '× bare (heap)',
    ],
    rows,
  );
  console.log(
    '  (RSS grows in whole pages and heap segments, so at this n only heap is a reliable per-connection figure)',
  );
  for (const { driver, fixthread: m, bare } of results) {
    const base = perUnit(bare.idle, bare.start, CONNECTIONS);
    const idle = perUnit(m.idle, m.start, CONNECTIONS);
    const ws = perUnit(m.retained, m.idle, TURNS);
    const sse = perUnit(m.sse, m.retained, TURNS);
    const perToken = ws.heap / RETAIN_TOKENS;
    console.log(
      `→ ${driver}: an idle authenticated tRPC WebSocket costs ${kib(idle.heap)} KiB of server heap, ${times(idle.heap / base.heap, 1)} a ` +
        `bare ws connection (${kib(base.heap)} KiB). A finished chat.stream turn still holds ${kib(ws.heap)} KiB after GC ` +
        `(≈${fixed(perToken, 0)} B per token) vs ${kib(sse.heap)} KiB over SSE.`,
    );
    console.log(
      `  Retention: ${FINISHED_TURN_RETENTION}. So what a finished turn still holds is not a retention window but noise or a leak: ` +
        `at 100 turns/s it would add ${mib(100 * 60 * ws.heap)} MiB a minute if it were real (part 11 watches RSS over time).`,
    );
  }
}
