/**
 * Part 2 — turns/s. USERS concurrent users, each doing sequential turns for a fixed time: through the server
 * (POST /chat over HTTP) and at the raw-driver limit (support/raw-turn.ts: SDK call to the same fake with the
 * request the server sent, plus the rows a turn writes, straight through the driver). Two rows in between
 * say where the difference goes: the raw limit plus the two reads a turn makes, and core's engine called in
 * process (engine.send, same options and database, no HTTP). Windows alternate between all four so machine
 * noise hits them alike. Also reports this process's CPU per turn (the server, clients and fake all run here),
 * a steadier figure than wall time on a shared 2-core box.
 */
import { createChatEngine } from '@fixthread/core';
import { engineOptionsFromEnv } from '../src/env';
import { SHORT_REPLY } from './support/fake-model';
import type { InProcessServer } from './support/in-process-server';
import { devLogin } from './support/server-env';
import { sdkClient, type SdkConstructor } from './support/openai-sdk';
import { rawTurn } from './support/raw-turn';
import { fixed, printTable, sanity, sleep, summarize, times } from './support/stats';

const USERS = 16;
const WINDOW_MS = 2_500;
const ROUNDS = 2;
const WARMUP_MS = 1_000;

type Mode = 'raw' | 'rawReads' | 'engine' | 'server';
const MODES: Mode[] = ['raw', 'rawReads', 'engine', 'server'];

interface ModeTally {
  turns: number;
  ms: number;
  cpuMs: number;
  latencies: number[];
}

export interface ThroughputResult {
  driver: string;
  tallies: Record<Mode, ModeTally>;
}

export async function measureTurnsPerSecond(
  driver: string,
  server: InProcessServer,
  OpenAI: SdkConstructor,
): Promise<ThroughputResult> {
  const sdk = sdkClient(OpenAI, server.model.openai.baseURL);
  const tokens = await Promise.all(
    Array.from({ length: USERS }, (_, u) => devLogin(server.url, `tps-server-${u}`)),
  );
  // A second engine on the same database with the server's settings: the turn without the transport.
  const engine = createChatEngine({ db: server.db.database.db, ...engineOptionsFromEnv(server.env) });
  const turnOf: Record<Mode, (user: number, n: number) => Promise<void>> = {
    engine: async (user, n) => {
      const { response } = await engine.send(`tps-engine-${user}`, `The dishwasher will not drain (${n})`);
      sanity(response === SHORT_REPLY, 'engine.send returned a different reply');
    },
    server: async (user, n) => {
      const response = await fetch(`${server.url}/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens[user]!}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: `The dishwasher will not drain (${n})` }),
      });
      sanity(response.ok, `POST /chat answered ${response.status}`);
      const { response: text } = (await response.json()) as { response: string };
      sanity(text === SHORT_REPLY, 'POST /chat returned a different reply');
    },
    raw: (user, n) => raw(user, n, false),
    rawReads: (user, n) => raw(user, n, true),
  };
  async function raw(user: number, n: number, withReads: boolean): Promise<void> {
    const text = await rawTurn({
      raw: server.db.raw,
      sdk,
      body: server.model.latestBody(),
      userId: `tps-${withReads ? 'reads' : 'raw'}-${user}`,
      message: `The dishwasher will not drain (${n})`,
      withReads,
    });
    sanity(text === SHORT_REPLY, 'raw turn streamed a different reply');
  }

  const tally = (): ModeTally => ({ turns: 0, ms: 0, cpuMs: 0, latencies: [] });
  const tallies: Record<Mode, ModeTally> = {
    raw: tally(),
    rawReads: tally(),
    engine: tally(),
    server: tally(),
  };
  // Warm-up: the server first (its request is what the raw turns replay), then the raw paths.
  await runWindow(turnOf.server, WARMUP_MS);
  await runWindow(turnOf.raw, WARMUP_MS / 2);
  await runWindow(turnOf.rawReads, WARMUP_MS / 2);
  await runWindow(turnOf.engine, WARMUP_MS / 2);
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) {
      const window = await runWindow(turnOf[mode], WINDOW_MS);
      const sum = tallies[mode];
      sum.turns += window.turns;
      sum.ms += window.ms;
      sum.cpuMs += window.cpuMs;
      sum.latencies.push(...window.latencies);
    }
  }
  await engine.drain();
  return { driver, tallies };
}

/** USERS loops of sequential turns; counts the turns finished before the deadline, then lets the last ones finish. */
async function runWindow(turn: (user: number, n: number) => Promise<void>, ms: number): Promise<ModeTally> {
  await sleep(50); // let the previous window's stragglers' I/O settle
  const latencies: number[] = [];
  let turns = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const deadline = start + ms;
  let cpuAtDeadline: NodeJS.CpuUsage | undefined;
  const timer = setTimeout(() => (cpuAtDeadline = process.cpuUsage(cpuStart)), ms);
  await Promise.all(
    Array.from({ length: USERS }, async (_, user) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const t0 = performance.now();
        await turn(user, n);
        const t1 = performance.now();
        if (t1 <= deadline) {
          turns++;
          latencies.push(t1 - t0);
        }
      }
    }),
  );
  clearTimeout(timer);
  const cpu = cpuAtDeadline ?? process.cpuUsage(cpuStart);
  return { turns, ms, cpuMs: (cpu.user + cpu.system) / 1000, latencies };
}

export function reportTurnsPerSecond(results: ThroughputResult[]): void {
  const labels: Record<Mode, string> = {
    raw: 'raw limit: SDK + driver writes',
    rawReads: 'raw limit + the 2 reads a turn makes',
    engine: 'core engine.send() in process (no HTTP)',
    server: 'FixThread POST /chat',
  };
  const rows: string[][] = [];
  for (const { driver, tallies } of results) {
    const base = tallies.raw;
    const baseRate = (base.turns / base.ms) * 1000;
    const baseCpu = base.cpuMs / base.turns;
    for (const mode of MODES) {
      const t = tallies[mode];
      const rate = (t.turns / t.ms) * 1000;
      const cpu = t.cpuMs / t.turns;
      const s = summarize(t.latencies);
      rows.push([
        driver,
        labels[mode],
        String(t.turns),
        fixed(rate, 0),
        fixed(s.median, 1),
        fixed(s.p95, 1),
        fixed(cpu, 2),
        mode === 'raw' ? '1.00×' : times(baseRate / rate),
        mode === 'raw' ? '1.00×' : times(cpu / baseCpu),
      ]);
    }
  }
  printTable(
    [
      'driver',
      `${USERS} users, sequential turns`,
      'turns',
      'turns/s',
      'median ms',
      'p95 ms',
      'CPU ms/turn',
      'raw/s ÷ this',
      '× CPU/turn',
    ],
    rows,
  );
  console.log(
    `  (raw: the same SDK call (the server's last request body) and the turn's SQL straight through the driver, with no\n` +
      `   HTTP hop, auth, Drizzle or engine; ${ROUNDS}×${WINDOW_MS / 1000} s per mode, interleaved; CPU = this whole process,\n` +
      `   so the server rows include their HTTP client's share)`,
  );
  for (const { driver, tallies } of results) {
    const rate = (m: Mode) => (tallies[m].turns / tallies[m].ms) * 1000;
    const cpu = (m: Mode) => tallies[m].cpuMs / tallies[m].turns;
    console.log(
      `→ ${driver}: the server completes ${fixed(rate('server'), 0)} turns/s vs a raw-driver limit of ${fixed(rate('raw'), 0)} ` +
        `(${fixed((rate('server') / rate('raw')) * 100, 0)}% of it) at ${times(cpu('server') / cpu('raw'))} the CPU per turn: ` +
        `the turn's reads ${times(cpu('rawReads') / cpu('raw'))}, the engine (Drizzle, tokenizer, event log) ` +
        `${times(cpu('engine') / cpu('rawReads'))} on top, HTTP transport ${times(cpu('server') / cpu('engine'))} on top of that.`,
    );
  }
}
