/**
 * Part 6 — 1, 2 and 3 instances behind a round-robin client. Each instance is the production bundle
 * (dist/main.js, built first if missing or stale) in a process of its own, started with startBundle as
 * `pnpm start` runs it (NODE_ENV=production, JWT auth, LOG_LEVEL=info), all on one fresh Postgres database and
 * the shared Redis (REDIS_URL, a REDIS_KEY_PREFIX unique to the run, whose keys are deleted at the end). The
 * fake model (no per-chunk delay, SHORT_REPLY) and every client live in this process.
 *
 * All three instances start first; "N instances" is a client that sends every request to the next of the
 * first N in turn (so a user's consecutive turns land on different instances), the others idle (their CPU
 * is reported). That way the counts can be interleaved finely, and drift on this noisy machine hits them alike:
 *   turns/s — ROUNDS rounds, each a window per count in rotating order. A window: USERS fresh users (each its
 *             own JWT, so threads start equally short and don't serialize on one another), each doing
 *             `turnsPerUser` sequential POST /chat/stream turns read to `done`; turns / wall time. The count
 *             is fixed for the run (calibrated on 1 instance to ~TARGET_WINDOW_MS), so every window does the
 *             same work on threads of the same length. CPU per process (/proc) is read around each window.
 *   TTFT    — sequential single streams, request sent → first `token` event, the counts taking turns stream
 *             by stream, each count round-robin over its instances and its own TTFT_USERS users.
 *   follow  — how a running turn is read from another instance: a paced reply streamed on instance A is read
 *             at the same time with GET /chat/stream/:turnId + Last-Event-ID on A and on B. TTFT there is GET
 *             sent → first new token; lag is when a token reached the follower minus when it reached A's stream.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEventId, type TurnEvent } from '@fixthread/core';
import { parseSse, parseSseEvents } from '@fixthread/testing';
import { kill, startBundle, type Started } from '../test/support/server-process';
import { signToken, TEST_JWT_SECRET } from '../test/support/tokens';
import { ensureBundle } from './support/bundle';
import { checkTurn, type StreamedTurn } from './support/clients';
import type { BenchDriver } from './support/databases';
import { SHORT_REPLY, startFakeModel } from './support/fake-model';
import { cpuMsBetween, cpuMsByName, processCpuMs } from './support/process-cpu';
import { deleteKeysWithPrefix } from './support/redis-keys';
import { benchEnv } from './support/server-env';
import { fixed, percentile, printTable, sanity, times } from './support/stats';

const COUNTS = [1, 2, 3];
const ROUNDS = 4;
const USERS = 16;
const TARGET_WINDOW_MS = 3_000;
const WARMUP_TURNS_PER_USER = 4;
const CALIBRATION_TURNS_PER_USER = 3;
const TTFT_USERS = 8;
/** Per count. */
const TTFT_WARMUP = 5;
const TTFT_TURNS = 100;
/** Follow figure: a reply of FOLLOW_WORDS tokens, FOLLOW_CHUNK_MS apart, so it is still running when read. */
const FOLLOW_TURNS = 16;
const FOLLOW_WORDS = 50;
const FOLLOW_CHUNK_MS = 10;
const FOLLOW_PREFIX = 'follow-me:';
const FOLLOW_REPLY = Array.from({ length: FOLLOW_WORDS }, (_, i) => `part${i}`).join(' ');
/** Refused or failed turns are counted and reported; more than this share of a window's turns aborts the part. */
const MAX_FAILED_SHARE = 0.1;

const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
/** A closed port: the model is never asked to call a tool. */
const NO_IFIXIT = 'http://127.0.0.1:9/api/2.0';

interface Window {
  instances: number;
  turns: number;
  ms: number;
  latencies: number[];
  failed: string[];
  /** CPU ms during the window: the instances in use, the idle ones, this process, every postgres process. */
  cpu: { servers: number; idle: number; client: number; postgres: number };
}

interface Followed {
  ttft: number;
  lags: number[];
}

export interface MultiInstanceResult {
  bundle: string;
  turnsPerUser: number;
  windows: Window[];
  ttft: Record<number, number[]>;
  ttftFailed: string[];
  startMs: number[];
  follow: { same: Followed[]; other: Followed[] } | undefined;
  /** Warn-or-worse lines the instances logged, and the first few of them. */
  warnings: { count: number; first: string[] };
  redisKeysDeleted: number | string;
  load: { start: string; end: string };
}

const load = () => loadavg()[0]?.toFixed(2) ?? '?';

export async function measureMultiInstance(driver: BenchDriver): Promise<MultiInstanceResult> {
  const loadAtStart = load();
  const bundle = ensureBundle();
  const model = await startFakeModel((message) =>
    message.startsWith(FOLLOW_PREFIX) ? { text: FOLLOW_REPLY, delayMsBetweenChunks: FOLLOW_CHUNK_MS } : undefined,
  );
  const database = await driver.forChild();
  const dataRoot = mkdtempSync(join(tmpdir(), 'fixthread-bench-multi-'));
  const redisKeyPrefix = `fxbench-multi-${process.pid}-${randomBytes(6).toString('hex')}:`;
  const instances: Started[] = [];
  const startMs: number[] = [];
  const warnings = { count: 0, first: [] as string[] };
  // Whatever ends this process, no instance outlives it.
  const killAll = () => instances.forEach((s) => s.exit || s.child.kill('SIGKILL'));
  process.once('exit', killAll);

  try {
    for (let index = 0; index < Math.max(...COUNTS); index++) {
      const env = benchEnv({
        openaiBaseUrl: model.openai.baseURL,
        dataDir: join(dataRoot, `instance-${index}`),
        extra: {
          NODE_ENV: 'production',
          // startBundle learns the port from Fastify's "Server listening at" line, which is logged at info.
          LOG_LEVEL: 'info',
          JWT_SECRET: TEST_JWT_SECRET,
          OPENAI_MAX_RETRIES: '0',
          IFIXIT_API_URL: NO_IFIXIT,
          REDIS_URL,
          REDIS_KEY_PREFIX: redisKeyPrefix,
          ...database.env,
        },
      });
      const started = performance.now();
      instances.push(await startBundle(env));
      startMs.push(performance.now() - started);
    }
    const urls = instances.map((s) => s.url);
    const pids = instances.map((s) => s.child.pid ?? -1);

    // Every instance warmed alike, then the window size from 1 instance (warm by then).
    await runTurns(roundRobinOver(urls), await tokensFor('mi-warm'), WARMUP_TURNS_PER_USER);
    const calibration = await runTurns(roundRobinOver(urls.slice(0, 1)), await tokensFor('mi-cal'), CALIBRATION_TURNS_PER_USER);
    const rate = (calibration.turns / calibration.ms) * 1000;
    const turnsPerUser = Math.min(60, Math.max(4, Math.round((rate * TARGET_WINDOW_MS) / 1000 / USERS)));

    const windows: Window[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < COUNTS.length; k++) {
        const count = COUNTS[(round + k) % COUNTS.length]!;
        const tokens = await tokensFor(`mi-tps-r${round}-n${count}`);
        const before = { servers: pids.map(processCpuMs), client: process.cpuUsage(), postgres: cpuMsByName('postgres') };
        const window = await runTurns(roundRobinOver(urls.slice(0, count)), tokens, turnsPerUser);
        const client = process.cpuUsage(before.client);
        const servers = pids.map((pid, i) => processCpuMs(pid) - before.servers[i]!);
        const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
        windows.push({
          instances: count,
          ...window,
          cpu: {
            servers: sum(servers.slice(0, count)),
            idle: sum(servers.slice(count)),
            client: (client.user + client.system) / 1000,
            postgres: cpuMsBetween(before.postgres, cpuMsByName('postgres')),
          },
        });
      }
    }
    const { ttft, failed: ttftFailed } = await runTtft(urls);
    const follow = urls.length >= 2 ? await runFollow(urls) : undefined;
    for (const server of instances) collectWarnings(server, warnings);
    return {
      bundle,
      turnsPerUser,
      windows,
      ttft,
      ttftFailed,
      startMs,
      follow,
      warnings,
      redisKeysDeleted: await deleteKeysWithPrefix(REDIS_URL, redisKeyPrefix).catch(
        (error: unknown) => `not cleaned (${(error as Error).message})`,
      ),
      load: { start: loadAtStart, end: load() },
    };
  } catch (error) {
    for (const server of instances) collectWarnings(server, warnings);
    if (warnings.count > 0) {
      console.error(`part 6 failed; the instances logged ${warnings.count} warn/error lines, first:\n  ${warnings.first.join('\n  ')}`);
    }
    await deleteKeysWithPrefix(REDIS_URL, redisKeyPrefix).catch(() => {});
    throw error;
  } finally {
    killAll();
    await Promise.all(instances.map((server) => kill(server)));
    process.off('exit', killAll);
    await model.openai.close();
    await database.close();
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

/** pino's JSON lines at warn (40) or worse, and anything on stderr; the log is emptied as it is read. */
function collectWarnings(server: Started, into: MultiInstanceResult['warnings']): void {
  for (const line of server.logs) {
    const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 0);
    if (!line.startsWith('[stderr]') && level < 40) continue;
    into.count++;
    if (into.first.length < 3) into.first.push(summarizeLogLine(line));
  }
  server.logs.length = 0;
}

function summarizeLogLine(line: string): string {
  try {
    const entry = JSON.parse(line) as {
      level?: number;
      msg?: string;
      err?: { type?: string; message?: string; cause?: { code?: string; message?: string } };
    };
    // A database error's statement is long and says little; its cause (Postgres' code and message) says why.
    const cause = entry.err?.cause ? ` caused by ${entry.err.cause.code ?? ''} ${entry.err.cause.message ?? ''}` : '';
    const message = entry.err?.message?.split('\n')[0]?.slice(0, 120);
    return `level ${entry.level}: ${entry.msg ?? ''}${entry.err ? ` (${entry.err.type}: ${message}${cause})` : ''}`;
  } catch {
    return line.slice(0, 300);
  }
}

function roundRobinOver(urls: string[]): () => string {
  let next = 0;
  return () => urls[next++ % urls.length]!;
}

/** Tokens for fresh users `${prefix}-u<n>`. */
function tokensFor(prefix: string, users = USERS): Promise<string[]> {
  return Promise.all(Array.from({ length: users }, (_, u) => signToken(`${prefix}-u${u}`)));
}

/** A turn the server refused or failed: counted, not measured. Anything else (a wrong reply) aborts. */
class TurnFailed extends Error {}
const failedTurn = (error: unknown): TurnFailed => {
  if (error instanceof TurnFailed) return error;
  throw error;
};

function checkFailures(failed: string[], attempted: number, what: string): void {
  sanity(
    failed.length <= attempted * MAX_FAILED_SHARE,
    `${what}: ${failed.length} of ${attempted} turns failed, first: ${failed[0] ?? ''}`,
  );
}

/**
 * POST /chat/stream read to the end, like support/clients.ts streamOverSse, but a refusal or a mid-stream
 * error carries the instance's answer (and which instance), which is what a multi-instance failure needs.
 */
async function streamTurn(url: string, token: string, message: string, start = performance.now()): Promise<StreamedTurn> {
  const turn: StreamedTurn = { ttft: Number.NaN, tokens: 0, text: '', done: undefined };
  const response = await fetch(`${url}/chat/stream`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message }),
  });
  if (!response.ok || !response.body) {
    throw new TurnFailed(`POST ${url}/chat/stream answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
  }
  for await (const data of parseSse(response.body)) {
    const event = JSON.parse(data) as TurnEvent | { type: 'error'; content: string; code: string };
    if (event.type === 'token') {
      if (turn.tokens++ === 0) turn.ttft = performance.now() - start;
      turn.text += event.content;
    } else if (event.type === 'done') {
      turn.done = event;
    } else if (event.type === 'error') {
      throw new TurnFailed(`POST ${url}/chat/stream failed mid-stream: ${event.code} ${event.content}`);
    }
  }
  return turn;
}

/** Every user does `perUser` sequential turns, each on the next instance; the wall time is the window's. */
async function runTurns(
  next: () => string,
  tokens: string[],
  perUser: number,
): Promise<{ turns: number; ms: number; latencies: number[]; failed: string[] }> {
  const latencies: number[] = [];
  const failed: string[] = [];
  const start = performance.now();
  await Promise.all(
    tokens.map(async (token) => {
      for (let n = 0; n < perUser; n++) {
        const t0 = performance.now();
        const turn = await streamTurn(next(), token, `The dishwasher will not drain (${n})`, t0).catch(failedTurn);
        if (turn instanceof TurnFailed) {
          failed.push(turn.message);
          continue;
        }
        checkTurn(turn, SHORT_REPLY, 'multi-instance turn');
        latencies.push(performance.now() - t0);
      }
    }),
  );
  checkFailures(failed, tokens.length * perUser, 'turns/s window');
  return { turns: latencies.length, ms: performance.now() - start, latencies, failed };
}

/** Sequential single streams; the counts take turns stream by stream, each round-robin over its instances. */
async function runTtft(urls: string[]): Promise<{ ttft: Record<number, number[]>; failed: string[] }> {
  const lanes = await Promise.all(
    COUNTS.map(async (count) => ({
      count,
      next: roundRobinOver(urls.slice(0, count)),
      tokens: await tokensFor(`mi-ttft-n${count}`, TTFT_USERS),
      samples: [] as number[],
    })),
  );
  const failed: string[] = [];
  for (let i = 0; i < TTFT_WARMUP + TTFT_TURNS; i++) {
    for (let k = 0; k < lanes.length; k++) {
      const lane = lanes[(i + k) % lanes.length]!;
      const turn = await streamTurn(lane.next(), lane.tokens[i % TTFT_USERS]!, `My screen is cracked (${i})`).catch(
        failedTurn,
      );
      if (turn instanceof TurnFailed) {
        failed.push(turn.message);
        continue;
      }
      checkTurn(turn, SHORT_REPLY, 'multi-instance TTFT');
      if (i >= TTFT_WARMUP) lane.samples.push(turn.ttft);
    }
  }
  checkFailures(failed, (TTFT_WARMUP + TTFT_TURNS) * lanes.length, 'TTFT streams');
  return { ttft: Object.fromEntries(lanes.map((lane) => [lane.count, lane.samples])), failed };
}

interface Arrival {
  id: string;
  seq: number;
  at: number;
  event: TurnEvent;
}

/** Reads an SSE turn stream, timing each event; `onEvent` sees each as it comes. */
async function readTimed(response: Response, what: string, onEvent?: (arrival: Arrival) => void): Promise<Arrival[]> {
  sanity(response.ok && response.body, `${what} answered ${response.status}`);
  const arrivals: Arrival[] = [];
  for await (const { id, data } of parseSseEvents(response.body)) {
    const arrival = { id, seq: parseEventId(id)?.seq ?? Number.NaN, at: performance.now(), event: JSON.parse(data) as TurnEvent };
    arrivals.push(arrival);
    onEvent?.(arrival);
  }
  return arrivals;
}

const textOf = (arrivals: Arrival[]) =>
  arrivals.map(({ event }) => (event.type === 'token' ? event.content : '')).join('');

/**
 * FOLLOW_TURNS paced replies, each started on instance A (taking turns); at its first token, two followers
 * resume it after that token, on A itself and on the next instance B, at the same moment.
 */
async function runFollow(urls: string[]): Promise<{ same: Followed[]; other: Followed[] }> {
  const tokens = await tokensFor('mi-follow', 4);
  const same: Followed[] = [];
  const other: Followed[] = [];
  for (let i = 0; i < FOLLOW_TURNS; i++) {
    const [a, b] = [urls[i % urls.length]!, urls[(i + 1) % urls.length]!];
    const authorization = `Bearer ${tokens[i % tokens.length]!}`;
    const follow = async (url: string, lastEventId: string, afterText: string) => {
      const turnId = parseEventId(lastEventId)?.turnId ?? '';
      const sent = performance.now();
      const response = await fetch(`${url}/chat/stream/${turnId}`, {
        headers: { authorization, 'last-event-id': lastEventId },
      });
      const arrivals = await readTimed(response, `GET /chat/stream/:turnId on ${url}`);
      const text = textOf(arrivals);
      sanity(text === afterText, `follower on ${url} streamed ${JSON.stringify(text.slice(0, 60))}…, not the rest`);
      sanity(arrivals.at(-1)?.event.type === 'done', `follower on ${url}: no done event`);
      return { sent, arrivals };
    };
    let followers: Promise<Array<{ sent: number; arrivals: Arrival[] }>> | undefined;
    const response = await fetch(`${a}/chat/stream`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ message: `${FOLLOW_PREFIX} the fan rattles (${i})` }),
    });
    const origin: Arrival[] = [];
    await readTimed(response, 'POST /chat/stream (follow origin)', (arrival) => {
      origin.push(arrival);
      if (followers || arrival.event.type !== 'token') return;
      sanity(parseEventId(arrival.id), `origin event id ${JSON.stringify(arrival.id)} is not <turn id>:<seq>`);
      const afterText = FOLLOW_REPLY.slice(textOf(origin).length);
      followers = Promise.all([follow(a, arrival.id, afterText), follow(b, arrival.id, afterText)]);
    });
    sanity(textOf(origin) === FOLLOW_REPLY, 'follow origin streamed a different reply');
    sanity(followers, 'follow origin streamed no token');
    const [onA, onB] = (await followers).map(({ sent, arrivals }): Followed => {
      const tokensSeen = arrivals.filter(({ event }) => event.type === 'token');
      // When A's stream had (at least) what this event carries; all read in this process, on one clock.
      const lags = tokensSeen.map(({ seq, at }) => at - (origin.find((o) => o.seq >= seq)?.at ?? Number.NaN));
      return { ttft: (tokensSeen[0]?.at ?? Number.NaN) - sent, lags };
    });
    same.push(onA!);
    other.push(onB!);
  }
  return { same, other };
}

const sorted = (values: number[]) => [...values].sort((x, y) => x - y);
const median = (values: number[]) => percentile(sorted(values), 50);
const p90 = (values: number[]) => percentile(sorted(values), 90);
const plural = (n: number) => `${n} instance${n === 1 ? '' : 's'}`;

export function reportMultiInstance(result: MultiInstanceResult): void {
  const pooled = COUNTS.map((instances) => {
    const of = result.windows.filter((w) => w.instances === instances);
    const sum = (pick: (w: Window) => number) => of.reduce((total, w) => total + pick(w), 0);
    const ms = sum((w) => w.ms);
    const turns = sum((w) => w.turns);
    const cpu = {
      servers: sum((w) => w.cpu.servers),
      idle: sum((w) => w.cpu.idle),
      client: sum((w) => w.cpu.client),
      postgres: sum((w) => w.cpu.postgres),
    };
    const all = cpu.servers + cpu.idle + cpu.client + cpu.postgres;
    return {
      instances,
      turns,
      rate: (turns / ms) * 1000,
      latencies: of.flatMap((w) => w.latencies),
      failed: of.flatMap((w) => w.failed).length,
      ttft: result.ttft[instances] ?? [],
      cores: { servers: cpu.servers / ms, idle: cpu.idle / ms, client: cpu.client / ms, postgres: cpu.postgres / ms, all: all / ms },
      perTurn: { servers: cpu.servers / turns, all: all / turns },
    };
  });
  const [base] = pooled;
  sanity(base?.instances === 1, 'no 1-instance windows');
  printTable(
    [
      'instances',
      'turns',
      'failed',
      'turns/s',
      '× 1 instance',
      'turn median ms',
      'TTFT n',
      'TTFT median ms',
      'TTFT p90 ms',
      '× 1 (median)',
      '× 1 (p90)',
    ],
    pooled.map((p) => [
      String(p.instances),
      String(p.turns),
      String(p.failed),
      fixed(p.rate, 0),
      times(p.rate / base.rate),
      fixed(median(p.latencies), 1),
      String(p.ttft.length),
      fixed(median(p.ttft)),
      fixed(p90(p.ttft)),
      times(median(p.ttft) / median(base.ttft)),
      times(p90(p.ttft) / p90(base.ttft)),
    ]),
    1,
  );
  console.log(
    `  (${ROUNDS} rounds of one window per count, rotating order; a window: ${USERS} fresh users × ${result.turnsPerUser} ` +
      `sequential POST /chat/stream turns (SSE, read to done), each request to the next instance in turn.\n` +
      `   TTFT: ${TTFT_TURNS} sequential single streams per count after ${TTFT_WARMUP} warm-up, the counts taking turns stream by stream.\n` +
      `   Instances: production bundle (${result.bundle}), one process each, started in ` +
      `${result.startMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s, on one Postgres database + Redis; all ` +
      `${COUNTS.at(-1)} stay up, those not in use idle.\n` +
      `   Clients, fake model, servers and Postgres all share this machine's ${cpus().length} cores, so these ratios say what ` +
      `a 2nd and 3rd instance change here, not how capacity scales.)`,
  );
  console.log(`  turns/s by window, in run order: ${result.windows.map((w) => `${w.instances}: ${fixed((w.turns / w.ms) * 1000, 0)}`).join(', ')}`);

  console.log(
    '\n  CPU during the turns/s windows (/proc): cores busy (CPU time ÷ wall time), and CPU ms per turn, which other work\n' +
      '  on the machine moves much less than turns/s:',
  );
  printTable(
    ['instances', 'in use', 'idle ones', 'this process (clients + fake)', 'postgres (machine-wide)', 'sum', 'in use ms/turn', '× 1', 'sum ms/turn', '× 1'],
    pooled.map((p) => [
      String(p.instances),
      fixed(p.cores.servers),
      fixed(p.cores.idle),
      fixed(p.cores.client),
      fixed(p.cores.postgres),
      fixed(p.cores.all),
      fixed(p.perTurn.servers),
      times(p.perTurn.servers / base.perTurn.servers),
      fixed(p.perTurn.all),
      times(p.perTurn.all / base.perTurn.all),
    ]),
    1,
  );
  console.log(
    `  (a sum well under ${cpus().length} with a load average above it: other work on the machine had the rest; ` +
      `1-min load average ${result.load.start} at the start of part 6, ${result.load.end} at its end)`,
  );

  if (result.follow) {
    const { same, other } = result.follow;
    const rows = (
      [
        ['same instance (A)', same],
        ['other instance (B)', other],
      ] as const
    ).map(([label, samples]) => ({ label, ttft: samples.map((s) => s.ttft), lags: samples.flatMap((s) => s.lags) }));
    const onA = rows[0]!;
    console.log('');
    printTable(
      ['follower of a turn running on A', 'n', 'TTFT median ms', 'p90 ms', '× A', 'token lag median ms', 'p90 ms', 'tokens'],
      rows.map(({ label, ttft, lags }) => [
        label,
        String(ttft.length),
        fixed(median(ttft)),
        fixed(p90(ttft)),
        times(median(ttft) / median(onA.ttft)),
        fixed(median(lags)),
        fixed(p90(lags)),
        String(lags.length),
      ]),
      1,
    );
    console.log(
      `  (GET /chat/stream/:turnId, Last-Event-ID = A's first token, sent to A and to B at once while A streams a ` +
        `${FOLLOW_WORDS}-token reply ${FOLLOW_CHUNK_MS} ms apart;\n   TTFT: GET sent → first token; lag: token at the ` +
        `follower − the same token at A's own stream)`,
    );
  }
  const failures = [...result.windows.flatMap((w) => w.failed), ...result.ttftFailed];
  if (failures.length > 0) {
    console.log(`  ${failures.length} turns refused or failed (not measured), first: ${failures.slice(0, 3).join('\n    ')}`);
  }
  if (result.warnings.count > 0) {
    console.log(`  the instances logged ${result.warnings.count} warn/error/stderr lines, first: ${result.warnings.first.join('\n    ')}`);
  }
  console.log(`  redis keys under the run's prefix deleted: ${result.redisKeysDeleted}`);
  console.log(
    `→ postgres: ${pooled.map((p) => `${plural(p.instances)} ${fixed(p.rate, 0)} turns/s (${times(p.rate / base.rate)})`).join(', ')}; ` +
      `TTFT median ${pooled.map((p) => `${fixed(median(p.ttft))} ms (${times(median(p.ttft) / median(base.ttft))})`).join(', ')}.`,
  );
}
