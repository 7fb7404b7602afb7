import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openDatabase } from '@fixthread/core';
import { conversations, userUsage } from '@fixthread/core/schema';
import {
  parseSse,
  startFakeIfixit,
  startFakeOpenAI,
  type FakeIfixit,
  type FakeOpenAI,
} from '@fixthread/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceRoot } from '../src/workspace-root';
import {
  freePort,
  postgresBinDir,
  startPrivatePostgres,
  type PrivatePostgres,
} from './support/private-postgres';
import { signToken, TEST_JWT_SECRET } from './support/tokens';

/**
 * Fault injection: the production bundle on a private PostgreSQL cluster that is stopped, restarted and
 * SIGKILLed again and again while simulated users chat over REST, SSE and tRPC. The contract under test:
 * the server survives, answers every request promptly with a success or a 503 DATABASE_UNAVAILABLE, reports
 * the outage on /health, recovers by itself, and loses nothing it acknowledged.
 */

const serverDir = join(import.meta.dirname, '..');
const root = workspaceRoot();
const binDir = postgresBinDir(process.env.PG_BIN_DIR);

/** ~24 tokens 30 ms apart: a turn streams for about 0.75 s, so faults land on turns in flight. */
const REPLY = Array.from({ length: 24 }, (_, i) => `step${i}`).join(' ');
const CHUNK_DELAY_MS = 30;

const USERS = 8;
const HEALTH_EVERY_MS = 200;
/** A request still unanswered after this is recorded as a hang (and the client gives up on it). */
const HANG_MS = 8_000;
const WARM_UP_MS = 2_000;
/** Load with the database up between faults (and after the last one). */
const UP_MS = 2_500;

/** The contract's figures. */
const ANSWER_WITHIN_MS = 2_000;
const HEALTH_503_WITHIN_MS = 1_000;
const RECOVER_WITHIN_MS = 2_000;
/** A turn that starts right after recovery still has to stream its reply. */
const TURN_RECOVER_WITHIN_MS = RECOVER_WITHIN_MS + 1_500;

type FaultKind = 'stop' | 'restart' | 'kill';
const FAULTS: { kind: FaultKind; downMs?: number }[] = [
  { kind: 'stop', downMs: 2_000 },
  { kind: 'restart' },
  { kind: 'kill', downMs: 1_500 },
  { kind: 'stop', downMs: 2_500 },
  { kind: 'kill', downMs: 2_000 },
  { kind: 'restart' },
  { kind: 'kill', downMs: 1_000 },
];

type Kind =
  | 'POST /chat'
  | 'POST /chat/stream'
  | 'GET /chat/history'
  | 'GET /chat/sessions'
  | 'tRPC chat.send'
  | 'tRPC chat.history'
  | 'GET /health';
const TURN_KINDS = new Set<Kind>(['POST /chat', 'POST /chat/stream', 'tRPC chat.send']);
/** Each user's loop; users start at different offsets so every kind is in flight at once. */
const PLAN: Kind[] = [
  'POST /chat',
  'POST /chat/stream',
  'GET /chat/history',
  'POST /chat/stream',
  'GET /chat/sessions',
  'POST /chat',
  'tRPC chat.send',
  'POST /chat/stream',
  'tRPC chat.history',
];

interface Outcome {
  kind: Kind;
  sub?: string;
  /** The exact user message (turns only); it carries a unique marker such as `[chaos-3-m17]`. */
  message?: string;
  start: number;
  end: number;
  status?: number;
  /** `unavailable`: the contract's 503 DATABASE_UNAVAILABLE (or an SSE error event with that code). */
  result: 'ok' | 'unavailable' | 'bad';
  detail?: string;
  /** The server said it has the user message: a 200 answer, or an SSE stream that started. */
  acknowledged: boolean;
  /** The server said it saved the reply: a 200 /chat or chat.send, or a `done` event. */
  replied: boolean;
  messageId?: number;
}

interface Outage {
  kind: FaultKind;
  /** The fault was injected. */
  downAt: number;
  /** stop/kill: the cluster is down for sure (the command returned). */
  downConfirmedAt?: number;
  /** stop/kill: `start()` was called. */
  startAt?: number;
  /** The cluster accepts connections again (pg_ctl -w returned). */
  upAt: number;
}

interface Integrity {
  checked: number;
  lost: string[];
  duplicated: string[];
  missingUsage: string[];
  error?: string;
}

interface ServerProcess {
  child: ChildProcess;
  url: string;
  logs: string[];
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  exited: Promise<void>;
}

const now = () => performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const round = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${Math.round(ms)} ms`);
const relative = (ms: number) => `${Math.abs(Math.round(ms))} ms ${ms < 0 ? 'before' : 'after'}`;
const max = (values: number[]) => (values.length ? Math.max(...values) : undefined);

function describeFailure(error: unknown): string {
  const { name, message, cause } = error as {
    name?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer after ${HANG_MS} ms (hang)`;
  return `network error: ${message ?? String(error)}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isRestDatabaseUnavailable(body: unknown): boolean {
  const error = isRecord(body) ? body.error : undefined;
  return isRecord(error) && error.code === 'DATABASE_UNAVAILABLE' && typeof error.message === 'string';
}

function isTrpcDatabaseUnavailable(body: unknown): boolean {
  const error = isRecord(body) ? body.error : undefined;
  const data = isRecord(error) ? error.data : undefined;
  return (
    isRecord(data) &&
    data.errorCode === 'DATABASE_UNAVAILABLE' &&
    data.code === 'SERVICE_UNAVAILABLE' &&
    data.httpStatus === 503
  );
}

type Answer = Pick<Outcome, 'status' | 'result' | 'detail'>;

/** A JSON answer: 200 with the right shape, or the contract's 503; anything else is a violation. */
function judgeJson(
  status: number,
  text: string,
  shapeProblem: (body: unknown) => string | undefined,
  isUnavailable: (body: unknown) => boolean,
): Answer {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { status, result: 'bad', detail: `${status} with a non-JSON body: ${text.slice(0, 200)}` };
  }
  if (status === 200) {
    const problem = shapeProblem(body);
    return problem
      ? { status, result: 'bad', detail: `200 but ${problem}: ${text.slice(0, 200)}` }
      : { status, result: 'ok' };
  }
  if (status === 503 && isUnavailable(body)) return { status, result: 'unavailable' };
  return { status, result: 'bad', detail: `${status} ${text.slice(0, 300)}` };
}

const threadOf = (sub: string) => `user-${sub}`;

function sendShape(sub: string) {
  return (body: unknown) => {
    if (!isRecord(body)) return 'not an object';
    if (body.response !== REPLY) return 'response is not the full reply';
    if (body.thread_id !== threadOf(sub)) return 'wrong thread_id';
    return undefined;
  };
}

function historyShape(sub: string) {
  return (body: unknown) =>
    isRecord(body) &&
    body.thread_id === threadOf(sub) &&
    typeof body.message_count === 'number' &&
    Array.isArray(body.messages)
      ? undefined
      : 'not a history';
}

function sessionsShape(sub: string) {
  return (body: unknown) =>
    isRecord(body) &&
    body.user_id === sub &&
    body.thread_id === threadOf(sub) &&
    typeof body.total_messages === 'number'
      ? undefined
      : 'not session stats';
}

const trpcData = (shape: (body: unknown) => string | undefined) => (body: unknown) => {
  const result = isRecord(body) ? body.result : undefined;
  return isRecord(result) ? shape(result.data) : 'no result.data';
};

async function answerOf(
  url: string,
  init: RequestInit,
  shape: (body: unknown) => string | undefined,
  isUnavailable: (body: unknown) => boolean,
): Promise<Answer> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(HANG_MS) });
  return judgeJson(response.status, await response.text(), shape, isUnavailable);
}

/** POST /chat/stream read to the end, event by event. */
async function streamTurn(
  base: string,
  token: string,
  sub: string,
  message: string,
): Promise<Omit<Outcome, 'kind' | 'start' | 'end'>> {
  const response = await fetch(`${base}/chat/stream`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message }),
    signal: AbortSignal.timeout(HANG_MS),
  });
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('text/event-stream') || !response.body) {
    const answer = judgeJson(
      response.status,
      await response.text(),
      () => 'a JSON 200 instead of a stream',
      isRestDatabaseUnavailable,
    );
    return { ...answer, acknowledged: false, replied: false };
  }
  if (response.status !== 200) {
    return {
      status: response.status,
      result: 'bad',
      detail: `event stream with status ${response.status}`,
      acknowledged: false,
      replied: false,
    };
  }
  const events: Record<string, unknown>[] = [];
  const started = { status: 200, acknowledged: true };
  try {
    for await (const data of parseSse(response.body))
      events.push(JSON.parse(data) as Record<string, unknown>);
  } catch (error) {
    return {
      ...started,
      result: 'bad',
      detail: `stream broke after ${events.length} events: ${describeFailure(error)}`,
      replied: false,
    };
  }
  const last = events.at(-1);
  if (last?.type === 'done') {
    if (last.thread_id !== threadOf(sub) || typeof last.message_id !== 'number') {
      return {
        ...started,
        result: 'bad',
        detail: `malformed done event ${JSON.stringify(last)}`,
        replied: false,
      };
    }
    return { ...started, result: 'ok', replied: true, messageId: last.message_id };
  }
  if (last?.type === 'error' && last.code === 'DATABASE_UNAVAILABLE')
    return { ...started, result: 'unavailable', replied: false };
  return {
    ...started,
    result: 'bad',
    detail: `stream ended after ${events.length} events with ${last ? JSON.stringify(last).slice(0, 300) : 'no event'}`,
    replied: false,
  };
}

async function perform(
  base: string,
  kind: Kind,
  token: string,
  sub: string,
  message: string,
): Promise<Outcome> {
  const start = now();
  const auth = { authorization: `Bearer ${token}` };
  const post = (body: unknown): RequestInit => ({
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const isTurn = TURN_KINDS.has(kind);
  let partial: Omit<Outcome, 'kind' | 'start' | 'end'>;
  try {
    if (kind === 'POST /chat/stream') {
      partial = await streamTurn(base, token, sub, message);
    } else {
      let answer: Answer;
      if (kind === 'POST /chat')
        answer = await answerOf(`${base}/chat`, post({ message }), sendShape(sub), isRestDatabaseUnavailable);
      else if (kind === 'tRPC chat.send')
        answer = await answerOf(
          `${base}/trpc/chat.send`,
          post({ message }),
          trpcData(sendShape(sub)),
          isTrpcDatabaseUnavailable,
        );
      else if (kind === 'GET /chat/history')
        answer = await answerOf(
          `${base}/chat/history?limit=20`,
          { headers: auth },
          historyShape(sub),
          isRestDatabaseUnavailable,
        );
      else if (kind === 'GET /chat/sessions')
        answer = await answerOf(
          `${base}/chat/sessions`,
          { headers: auth },
          sessionsShape(sub),
          isRestDatabaseUnavailable,
        );
      else
        answer = await answerOf(
          `${base}/trpc/chat.history`,
          { headers: auth },
          trpcData(historyShape(sub)),
          isTrpcDatabaseUnavailable,
        );
      const ok = answer.result === 'ok' && isTurn;
      partial = { ...answer, acknowledged: ok, replied: ok };
    }
  } catch (error) {
    partial = { result: 'bad', detail: describeFailure(error), acknowledged: false, replied: false };
  }
  return { kind, sub, ...(isTurn ? { message } : {}), start, end: now(), ...partial };
}

async function probeHealth(base: string): Promise<Outcome> {
  const start = now();
  try {
    const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(HANG_MS) });
    const text = await response.text();
    const body = JSON.parse(text) as unknown;
    const status = isRecord(body) ? body.status : undefined;
    const result =
      response.status === 200 && status === 'ok'
        ? 'ok'
        : response.status === 503 && status === 'unavailable'
          ? 'unavailable'
          : 'bad';
    return {
      kind: 'GET /health',
      start,
      end: now(),
      status: response.status,
      result,
      ...(result === 'bad' ? { detail: `${response.status} ${text.slice(0, 200)}` } : {}),
      acknowledged: false,
      replied: false,
    };
  } catch (error) {
    return {
      kind: 'GET /health',
      start,
      end: now(),
      result: 'bad',
      detail: describeFailure(error),
      acknowledged: false,
      replied: false,
    };
  }
}

/** `pnpm start` runs the bundle from the repository root; so does this, on a port picked beforehand (LOG_LEVEL=warn hides the URL). */
async function startServer(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['apps/server/dist/main.js'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server: ServerProcess = {
    child,
    url: `http://127.0.0.1:${port}`,
    logs: [],
    exit: undefined,
    exited: undefined!,
  };
  server.exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      server.exit = { code, signal };
      resolve();
    }),
  );
  createInterface({ input: child.stdout }).on('line', (line) => server.logs.push(line));
  createInterface({ input: child.stderr }).on('line', (line) => server.logs.push(`[stderr] ${line}`));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exit)
      throw new Error(`server exited at start (${JSON.stringify(server.exit)}):\n${server.logs.join('\n')}`);
    const ready = await fetch(`${server.url}/health`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) return server;
    if (Date.now() > deadline) throw new Error(`server not healthy after 30 s:\n${server.logs.join('\n')}`);
    await sleep(100);
  }
}

function overlaps(outcome: Outcome, outage: Outage): boolean {
  return outcome.start < outage.upAt && outcome.end > outage.downAt;
}

if (!binDir) {
  console.warn(
    'database-restart.test.ts skipped: no PostgreSQL binaries in /usr/lib/postgresql/*/bin (set PG_BIN_DIR)',
  );
}

describe.skipIf(!binDir)(
  'the production bundle while its Postgres stops, restarts and crashes under load',
  () => {
    let pg: PrivatePostgres | undefined;
    let openai: FakeOpenAI | undefined;
    let ifixit: FakeIfixit | undefined;
    let dataDir: string | undefined;
    let server: ServerProcess | undefined;
    const tokens = new Map<string, string>();
    const subs = Array.from({ length: USERS }, (_, i) => `chaos-${i}`);

    const outcomes: Outcome[] = [];
    const health: Outcome[] = [];
    const outages: Outage[] = [];
    let chaosStart = 0;
    let chaosEnd = 0;
    let faultError: string | undefined;
    let integrity: Integrity = { checked: 0, lost: [], duplicated: [], missingUsage: [] };

    const serverLogTail = (lines = 60) => (server ? server.logs.slice(-lines).join('\n') : '(no server)');

    beforeAll(async () => {
      execFileSync(process.execPath, ['build.mjs'], { cwd: serverDir, stdio: 'pipe' });
      pg = await startPrivatePostgres({ binDir });
      openai = await startFakeOpenAI({
        defaultReply: { text: REPLY, delayMsBetweenChunks: CHUNK_DELAY_MS },
        record: false,
      });
      ifixit = await startFakeIfixit();
      dataDir = mkdtempSync(join(tmpdir(), 'fixthread-db-restart-'));
      server = await startServer({
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        JWT_SECRET: TEST_JWT_SECRET,
        DATABASE_URL: pg.url,
        OPENAI_API_KEY: 'test-key',
        OPENAI_BASE_URL: openai.baseURL,
        OPENAI_MAX_RETRIES: '0',
        IFIXIT_API_URL: ifixit.apiUrl,
        DATA_DIR: dataDir,
        WEB_DIST_DIR: join(dataDir, 'no-web-client'),
        SHUTDOWN_GRACE_MS: '500',
      });
      for (const sub of subs) tokens.set(sub, await signToken(sub));
      const base = server.url;
      const running = server;

      // Load: users loop through every endpoint; /health is probed on a clock so a stuck probe can't delay the next.
      let stopLoad = false;
      chaosStart = now();
      const probes: Promise<void>[] = [];
      const healthTimer = setInterval(
        () => probes.push(probeHealth(base).then((o) => void health.push(o))),
        HEALTH_EVERY_MS,
      );
      const users = subs.map(async (sub, index) => {
        const token = tokens.get(sub)!;
        for (let k = 0; !stopLoad && !running.exit; k++) {
          const kind = PLAN[(k + index) % PLAN.length]!;
          const outcome = await perform(
            base,
            kind,
            token,
            sub,
            `My console won't boot, what now? [${sub}-m${k}]`,
          );
          outcomes.push(outcome);
          await sleep(outcome.result === 'ok' ? 20 : 150);
        }
      });

      // Faults, with the database up for UP_MS between them.
      const cluster = pg;
      try {
        await sleep(WARM_UP_MS);
        for (const fault of FAULTS) {
          if (running.exit) break;
          const downAt = now();
          if (fault.kind === 'restart') {
            await cluster.restart();
            outages.push({ kind: 'restart', downAt, upAt: now() });
          } else {
            if (fault.kind === 'stop') await cluster.stop('fast');
            else await cluster.kill();
            const downConfirmedAt = now();
            await sleep(fault.downMs ?? 1_500);
            const startAt = now();
            await cluster.start();
            outages.push({ kind: fault.kind, downAt, downConfirmedAt, startAt, upAt: now() });
          }
          await sleep(UP_MS);
        }
      } catch (error) {
        faultError = error instanceof Error ? error.message : String(error);
        if (!cluster.isRunning()) await cluster.start().catch(() => undefined);
      } finally {
        stopLoad = true;
        await Promise.all(users);
        clearInterval(healthTimer);
        await Promise.all(probes);
        chaosEnd = now();
      }

      integrity = await checkIntegrity(cluster.url);
      console.log(summary());
    }, 180_000);

    afterAll(async () => {
      if (server && !server.exit) {
        server.child.kill('SIGTERM');
        await Promise.race([server.exited, sleep(5_000)]);
        if (!server.exit) server.child.kill('SIGKILL');
      }
      await Promise.all([openai?.close(), ifixit?.close()]);
      await pg?.[Symbol.asyncDispose]();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }, 30_000);

    /** Every user message the server acknowledged, and every reply it said it saved, read back from Postgres. */
    async function checkIntegrity(url: string): Promise<Integrity> {
      const found: Integrity = { checked: 0, lost: [], duplicated: [], missingUsage: [] };
      let database: Awaited<ReturnType<typeof openDatabase>> | undefined;
      try {
        database = await openDatabase({ databaseUrl: url, migrate: false, maxConnections: 2 });
        const rows = (await database.db.select().from(conversations)).sort((a, b) => a.id - b.id);
        const usage = await database.db.select().from(userUsage);
        for (const outcome of outcomes) {
          if (!outcome.acknowledged || !outcome.sub || !outcome.message) continue;
          found.checked++;
          const thread = rows.filter(
            (row) => row.threadId === threadOf(outcome.sub!) && row.userId === outcome.sub,
          );
          const asked = thread.filter((row) => row.role === 'user' && row.content === outcome.message);
          const label = `${outcome.kind} ${outcome.message.slice(outcome.message.indexOf('['))} (${outcome.result})`;
          if (asked.length === 0) {
            found.lost.push(`${label}: user message missing`);
            continue;
          }
          if (asked.length > 1) found.duplicated.push(`${label}: user message stored ${asked.length} times`);
          if (!outcome.replied) continue;
          const question = asked[0]!;
          // A user's turns run one at a time, so a question's reply is the next row of its thread.
          const next = thread.find((row) => row.id > question.id);
          if (outcome.messageId !== undefined) {
            const reply = rows.find((row) => row.id === outcome.messageId);
            if (
              !reply ||
              reply.role !== 'assistant' ||
              reply.threadId !== threadOf(outcome.sub) ||
              reply.id < question.id
            ) {
              found.lost.push(`${label}: reply ${outcome.messageId} from the done event missing`);
            }
          } else if (next?.role !== 'assistant') {
            found.lost.push(
              `${label}: reply missing (next row: ${next ? `${next.role} ${next.id}` : 'none'})`,
            );
          }
        }
        const replied = new Set(outcomes.filter((o) => o.replied && o.sub).map((o) => o.sub!));
        for (const sub of replied) {
          const row = usage.find((u) => u.userId === sub);
          if (!row || !row.totalTokens) found.missingUsage.push(sub);
        }
      } catch (error) {
        found.error = error instanceof Error ? error.message : String(error);
      } finally {
        await database?.close();
      }
      return found;
    }

    // ---- figures ----

    function downTimes(): { outcome: Outcome; outage: Outage; ms: number }[] {
      return [...outcomes, ...health].flatMap((outcome) =>
        outages
          .filter((outage) => overlaps(outcome, outage))
          .map((outage) => ({ outcome, outage, ms: outcome.end - Math.max(outcome.start, outage.downAt) })),
      );
    }

    function turnsInFlightAtFaults(): number {
      return outages.reduce(
        (sum, outage) =>
          sum +
          outcomes.filter((o) => TURN_KINDS.has(o.kind) && o.start < outage.downAt && o.end > outage.downAt)
            .length,
        0,
      );
    }

    /** While the cluster is certainly down (stop/kill, between the command returning and start() being called). */
    function probesWhileDown(): { probe: Outcome; outage: Outage }[] {
      return outages.flatMap((outage) =>
        outage.downConfirmedAt === undefined
          ? []
          : health
              .filter((p) => p.start >= outage.downConfirmedAt! && p.start < outage.startAt!)
              .map((probe) => ({ probe, outage })),
      );
    }

    function recoveries(): { outage: Outage; health?: number; request?: number; turn?: number }[] {
      return outages.map((outage) => {
        const firstEnd = (list: Outcome[]) => {
          const ends = list
            .filter((o) => o.result === 'ok' && o.end >= outage.upAt)
            .map((o) => o.end - outage.upAt);
          return ends.length ? Math.min(...ends) : undefined;
        };
        const after = outcomes.filter((o) => o.start >= outage.upAt);
        return {
          outage,
          health: firstEnd(health),
          request: firstEnd(after),
          turn: firstEnd(after.filter((o) => TURN_KINDS.has(o.kind))),
        };
      });
    }

    /** Requests wholly inside a stretch where the database has been back for RECOVER_WITHIN_MS. */
    function steadyStateUnavailable(): Outcome[] {
      const windows: [number, number][] = [];
      let from = chaosStart;
      for (const outage of outages) {
        windows.push([from, outage.downAt]);
        from = outage.upAt + RECOVER_WITHIN_MS;
      }
      windows.push([from, chaosEnd]);
      return [...outcomes, ...health].filter(
        (o) =>
          o.result === 'unavailable' &&
          windows.some(([a, b]) => o.start >= a && o.end <= b) &&
          !outages.some((outage) => overlaps(o, outage)),
      );
    }

    function summary(): string {
      const count = (kind: FaultKind) => outages.filter((o) => o.kind === kind).length;
      const turns = outcomes.filter((o) => TURN_KINDS.has(o.kind));
      const by = (list: Outcome[], result: Outcome['result']) =>
        list.filter((o) => o.result === result).length;
      const down = downTimes();
      const whileDown = probesWhileDown().filter(({ probe }) => probe.result === 'unavailable');
      const rec = recoveries();
      const detection = outages
        .filter((o) => o.downConfirmedAt !== undefined)
        .map((o) => {
          const first = health.find(
            (p) => p.result === 'unavailable' && p.end >= o.downAt && p.end <= o.upAt,
          );
          return first ? first.end - o.downAt : undefined;
        });
      const lost = integrity.lost.length;
      return [
        `[database-restart] faults: ${count('stop')} stops, ${count('restart')} restarts, ${count('kill')} kills` +
          `${faultError ? ` (fault loop failed: ${faultError})` : ''}; server ${server?.exit ? `EXITED ${JSON.stringify(server.exit)}` : 'alive'}`,
        `turns: ${turns.length} (ok ${by(turns, 'ok')}, db-unavailable ${by(turns, 'unavailable')}, bad ${by(turns, 'bad')}); ` +
          `all requests: ${outcomes.length} (bad ${by(outcomes, 'bad')}); health probes: ${health.length} (bad ${by(health, 'bad')})`,
        `by kind (ok/db-unavailable/bad): ${[...new Set(outcomes.map((o) => o.kind))]
          .map((kind) => {
            const of = outcomes.filter((o) => o.kind === kind);
            return `${kind} ${by(of, 'ok')}/${by(of, 'unavailable')}/${by(of, 'bad')}`;
          })
          .join(', ')}`,
        `turns in flight at fault moments: ${turnsInFlightAtFaults()}; requests overlapping outages: ${down.length}; ` +
          `longest request while DB down: ${round(max(down.map((d) => d.ms)))} (slowest: ${[...down]
            .sort((a, b) => b.ms - a.ms)
            .slice(0, 3)
            .map(
              (d) =>
                `${d.outcome.kind} ${d.outcome.result} in ${Math.round(d.ms)} ms, started ${relative(d.outcome.start - d.outage.downAt)} the fault`,
            )
            .join('; ')})`,
        `health 503 latency max: ${round(max(whileDown.map(({ probe }) => probe.end - probe.start)))}; ` +
          `first 503 after the fault: ${detection.map((d) => round(d)).join(', ')}`,
        `recovery (from cluster ready) health 200: ${rec.map((r) => round(r.health)).join(', ')}; ` +
          `first ok request: ${rec.map((r) => round(r.request)).join(', ')}; first ok turn: ${rec.map((r) => round(r.turn)).join(', ')}`,
        `rows lost: ${integrity.error ? `unknown (${integrity.error})` : lost} of ${integrity.checked} acknowledged turns` +
          ` (duplicated ${integrity.duplicated.length}, users without usage ${integrity.missingUsage.length}); ` +
          `503s after recovery: ${steadyStateUnavailable().length}; chaos phase ${round(chaosEnd - chaosStart)}`,
      ].join('\n  ');
    }

    const list = (lines: string[], limit = 15) =>
      lines.length === 0
        ? ''
        : `${lines.slice(0, limit).join('\n')}${lines.length > limit ? `\n… and ${lines.length - limit} more` : ''}`;
    const at = (t: number) => `t+${Math.round(t - chaosStart)}ms`;

    // ---- the contract ----

    it('a Postgres stop, restart or crash under load never kills the server', () => {
      expect(faultError, 'the fault loop itself failed').toBeUndefined();
      expect(outages.length, 'every fault was injected').toBe(FAULTS.length);
      expect(
        server?.exit,
        `the server exited during the faults; its last log lines:\n${serverLogTail()}`,
      ).toBeUndefined();
      const alarming = (server?.logs ?? []).filter((line) => /TypeError|uncaught/i.test(line));
      expect(list(alarming, 5), 'TypeError / uncaught in the server output').toBe('');
    });

    it('every request answers within 2 s of the database going down, and none hangs or is reset', () => {
      const down = downTimes();
      expect(down.length, 'requests overlapped the outages (else this test proves nothing)').toBeGreaterThan(
        20,
      );
      expect(turnsInFlightAtFaults(), 'turns were in flight when faults struck').toBeGreaterThan(0);
      // A request spanning two outages counts once, with the longer time.
      const slow = down
        .filter((d) => d.ms > ANSWER_WITHIN_MS)
        .filter((d) => !down.some((other) => other.outcome === d.outcome && other.ms > d.ms))
        .map(
          (d) =>
            `${d.outcome.kind} ${at(d.outcome.start)}: ${Math.round(d.ms)} ms into the ${d.outage.kind} outage → ${d.outcome.result} ${d.outcome.detail ?? ''}`,
        );
      expect(
        list(slow),
        `requests answered later than ${ANSWER_WITHIN_MS} ms after the database went down`,
      ).toBe('');
      const broken = [...outcomes, ...health]
        .filter((o) => o.result === 'bad' && /network error|hang|stream broke/.test(o.detail ?? ''))
        .map((o) => `${o.kind} ${at(o.start)}: ${o.detail}`);
      expect(list(broken), 'requests that hung or whose connection broke').toBe('');
    });

    it('every answer is a success or a 503 DATABASE_UNAVAILABLE (SSE: done or a DATABASE_UNAVAILABLE error event), never a 500', () => {
      const bad = [...outcomes, ...health]
        .filter((o) => o.result === 'bad')
        .map((o) => `${o.kind} ${at(o.start)} (${o.sub ?? ''}): ${o.detail}`);
      const kinds = [
        ...new Set([...outcomes, ...health].filter((o) => o.result === 'bad').map((o) => o.kind)),
      ];
      expect(list(bad), `answers outside the contract (${bad.length}, on ${kinds.join(', ')})`).toBe('');
      expect(
        outcomes.some((o) => o.result === 'unavailable'),
        'some request met the outage',
      ).toBe(true);
    });

    it('/health answers 503 within 1 s while Postgres is down, and the server is healthy and chatting within 2 s of it coming back', () => {
      const whileDown = probesWhileDown();
      const wrong = whileDown
        // A probe that outlives the down time may see the database back: then 200 is right.
        .filter(
          ({ probe, outage }) =>
            (probe.result !== 'unavailable' && !(probe.result === 'ok' && probe.end > outage.startAt!)) ||
            probe.end - probe.start > HEALTH_503_WITHIN_MS,
        )
        .map(
          ({ probe, outage }) =>
            `${outage.kind} outage, probe ${at(probe.start)}: ${probe.status ?? ''} ${probe.result} in ${Math.round(probe.end - probe.start)} ms ${probe.detail ?? ''}`,
        );
      expect(list(wrong), 'health probes while the database was down').toBe('');
      for (const outage of outages.filter((o) => o.downConfirmedAt !== undefined)) {
        expect(
          whileDown.some((d) => d.outage === outage && d.probe.result === 'unavailable'),
          `a 503 during the ${outage.kind} outage at ${at(outage.downAt)}`,
        ).toBe(true);
      }
      const slow = recoveries().flatMap((r) => {
        const where = `${r.outage.kind} outage at ${at(r.outage.downAt)}`;
        const problems: string[] = [];
        if (r.health === undefined || r.health > RECOVER_WITHIN_MS)
          problems.push(`${where}: health 200 after ${round(r.health)}`);
        if (r.request === undefined || r.request > RECOVER_WITHIN_MS)
          problems.push(`${where}: first ok chat request after ${round(r.request)}`);
        if (r.turn === undefined || r.turn > TURN_RECOVER_WITHIN_MS)
          problems.push(`${where}: first ok turn after ${round(r.turn)}`);
        return problems;
      });
      expect(list(slow), 'slow recoveries (measured from the cluster accepting connections)').toBe('');
      const stale = steadyStateUnavailable().map(
        (o) => `${o.kind} ${at(o.start)}: 503 with the database up for over ${RECOVER_WITHIN_MS} ms`,
      );
      expect(list(stale), 'DATABASE_UNAVAILABLE answers long after recovery (stale connections?)').toBe('');
    });

    it('no acknowledged message or saved reply is lost across stops, restarts and crashes', () => {
      expect(integrity.error, 'reading the database back').toBeUndefined();
      expect(integrity.checked, 'acknowledged turns to check').toBeGreaterThan(20);
      expect(list(integrity.lost), `rows lost (${integrity.lost.length})`).toBe('');
      expect(list(integrity.duplicated), 'user messages stored twice').toBe('');
      expect(integrity.missingUsage, 'users with a saved reply but no user_usage').toEqual([]);
    });

    it('after the faults every user can chat again over REST and SSE', async () => {
      expect(server?.exit, `the server exited; its last log lines:\n${serverLogTail()}`).toBeUndefined();
      const base = server!.url;
      const results = await Promise.all(
        subs.map(async (sub) => {
          const token = tokens.get(sub)!;
          const chat = await perform(base, 'POST /chat', token, sub, `Back again? [${sub}-final-chat]`);
          const stream = await perform(
            base,
            'POST /chat/stream',
            token,
            sub,
            `Back again? [${sub}-final-stream]`,
          );
          const history = (await fetch(`${base}/chat/history?limit=10`, {
            headers: { authorization: `Bearer ${token}` },
          }).then((r) => r.json())) as {
            messages?: { role: string; content: string }[];
          };
          const contents = (history.messages ?? []).map((m) => `${m.role}:${m.content}`);
          return {
            sub,
            chat: `${chat.result} ${chat.detail ?? ''}`.trim(),
            stream: `${stream.result} ${stream.detail ?? ''}`.trim(),
            stored:
              contents.includes(`user:${chat.message}`) &&
              contents.includes(`user:${stream.message}`) &&
              contents.at(-1) === `assistant:${REPLY}`,
          };
        }),
      );
      expect(results).toEqual(subs.map((sub) => ({ sub, chat: 'ok', stream: 'ok', stored: true })));
    }, 30_000);
  },
);
