import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEventId, type TurnEvent } from '@fixthread/core';
import { conversations, turns, type ConversationRow, type TurnRow } from '@fixthread/core/schema';
import { testDrivers, type TestDatabase } from '@fixthread/core/testing';
import {
  parseSseEvents,
  startFakeIfixit,
  startFakeOpenAI,
  type ChatRequestBody,
  type FakeIfixit,
  type FakeOpenAI,
  type FakeReply,
} from '@fixthread/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  redisServerBinary,
  startPrivateRedis,
  type PrivateRedis,
  type RespValue,
} from './support/private-redis';
import { kill, startBundle, type Started } from './support/server-process';
import { signToken, TEST_JWT_SECRET } from './support/tokens';

/**
 * Several instances of the production bundle on one fresh Postgres database and one private Redis: A, B and
 * C. A client may start a turn on one instance and follow, resume or stop it on another; a thread's turns are
 * serialized across all of them; an idempotency key names one turn whichever instances receive it; and a
 * Redis restart mid-stream loses, duplicates and hangs nothing.
 *
 * Skipped only when neither TEST_DATABASE_URL nor REQUIRE_E2E is set; otherwise a missing database or
 * redis-server (REDIS_SERVER names another binary) fails it. MULTI_INSTANCE_SEED replays a run's random
 * choices (the seed is printed); each test draws from its own sequence, so running one test alone replays it.
 */

const serverDir = join(import.meta.dirname, '..');
const databaseUrl = process.env.TEST_DATABASE_URL || undefined;
const required = Boolean(process.env.REQUIRE_E2E);
const skip = !databaseUrl && !required;
if (skip) {
  console.warn(
    'multi-instance.test.ts skipped: TEST_DATABASE_URL is not set (REQUIRE_E2E=1 turns this skip into a failure)',
  );
}

const SEED = Number(process.env.MULTI_INSTANCE_SEED || Date.now() % 2_147_483_647);
/** mulberry32: small, fast, and the same sequence for the same seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
/** A test's own sequence: an integer in [min, max] per call. */
function randomInts(test: number): (min: number, max: number) => number {
  const random = seededRandom((SEED + Math.imul(test, 0x9e3779b1)) >>> 0);
  return (min, max) => min + Math.floor(random() * (max - min + 1));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const words = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}${i}`).join(' ');

// ---- what the fake model says, chosen by the tag that starts the question ----

/** ~6 s of reply (200 chunks, 30 ms apart): the kill lands mid-stream. */
const CRASH_REPLY = words('crash', 200);
/** ~6 s (100 chunks, 60 ms apart): slow enough to watch the resumed stream deliver live tokens. */
const DROP_REPLY = words('drop', 100);
/** ~15 s (300 chunks, 50 ms apart): the stop comes long before it would end. */
const STOP_REPLY = words('stop', 300);
const IDEM_REPLY = words('idem', 40);
/** ~6 s each (120 chunks, 50 ms apart): Redis goes away and comes back while they stream. */
const redisReply = (i: number) => words(`r${i}w`, 120);
const NAMESPACE_REPLY = words('ns', 80);
/** Names the question it answers, so each saved answer can be matched to its question. */
const serialReply = (question: string) => `Answer to (${question}): noted, and here is the fix.`;

function textOfMessage(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : '',
      )
      .join('');
  }
  return '';
}

function lastUserText(body: ChatRequestBody): string {
  const last = body.messages.findLast((message) => message.role === 'user');
  return textOfMessage(last?.content);
}

function replyFor(body: ChatRequestBody): FakeReply {
  const question = lastUserText(body);
  const tag = /^\[([a-z]+)(?: (\d+))?\]/.exec(question);
  switch (tag?.[1]) {
    case 'crash':
      return { text: CRASH_REPLY, delayMsBetweenChunks: 30 };
    case 'drop':
      return { text: DROP_REPLY, delayMsBetweenChunks: 60 };
    case 'serial':
      return { text: serialReply(question), delayMsBetweenChunks: 5 };
    case 'stop':
      return { text: STOP_REPLY, delayMsBetweenChunks: 50 };
    case 'idem':
      return { text: IDEM_REPLY, delayMsBetweenChunks: 20 };
    case 'redis':
      return { text: redisReply(Number(tag[2])), delayMsBetweenChunks: 50 };
    case 'ns':
      return { text: NAMESPACE_REPLY, delayMsBetweenChunks: 50 };
    default:
      return { text: 'Untagged question: short answer.' };
  }
}

// ---- reading SSE ----

type WireEvent = TurnEvent | { type: 'error'; content: string; code: string };

interface Received {
  id: string;
  event: WireEvent;
  /** Date.now() when the client parsed it. */
  at: number;
}

/** One HTTP stream a client read: where, what arrived, and how it ended. */
interface Attempt {
  instance: Name;
  kind: 'start' | 'resume';
  status?: number;
  events: Received[];
  /**
   * `done` / `error-event`: the stream ended after that event. `http-error`: a non-2xx answer. `broken`: the
   * connection ended or failed with neither. `left`: the client hung up on its own. `timeout`: nothing ended it
   * within the deadline (a hang).
   */
  ended: 'open' | 'done' | 'error-event' | 'http-error' | 'broken' | 'left' | 'timeout';
  error?: string;
}

const tokenText = (events: Received[]) =>
  events.map(({ event }) => (event.type === 'token' ? event.content : '')).join('');
const seqOf = (id: string) => parseEventId(id)?.seq ?? Number.NaN;
const turnIdOf = (events: Received[]) => events.map((e) => parseEventId(e.id)?.turnId).find(Boolean);
const isStrictlyIncreasing = (values: number[]) => values.every((v, i) => i === 0 || v > values[i - 1]!);
const describeAttempts = (attempts: Attempt[]) =>
  attempts
    .map(
      (a) =>
        `  ${a.kind} on ${a.instance}: ${a.ended}${a.status ? ` (HTTP ${a.status})` : ''}${a.error ? ` ${a.error}` : ''}; ` +
        `${a.events.length} events, seqs ${a.events.map((e) => seqOf(e.id)).join(',')}; ` +
        `last: ${JSON.stringify(a.events.at(-1)?.event ?? null).slice(0, 300)}`,
    )
    .join('\n');

/**
 * Reads an SSE body into `attempt` until it ends, breaks, times out, or `leaveWhen` says the client has had
 * enough (then the fetch is aborted, as a closed tab would). `onEvent` runs after each event.
 */
async function readSse(
  response: Response,
  attempt: Attempt,
  {
    leave,
    timedOut,
    onEvent,
    leaveWhen,
  }: {
    leave: AbortController;
    timedOut: () => boolean;
    onEvent?: (received: Received) => void;
    leaveWhen?: (received: Received) => boolean;
  },
): Promise<void> {
  attempt.status = response.status;
  if (!response.ok || !response.body) {
    attempt.ended = 'http-error';
    attempt.error = (await response.text().catch((error: unknown) => String(error))).slice(0, 500);
    return;
  }
  try {
    for await (const { id, data } of parseSseEvents(response.body)) {
      const received: Received = { id, event: JSON.parse(data) as WireEvent, at: Date.now() };
      attempt.events.push(received);
      onEvent?.(received);
      if (leaveWhen?.(received)) {
        attempt.ended = 'left';
        leave.abort();
        return;
      }
    }
    const last = attempt.events.at(-1)?.event.type;
    attempt.ended = last === 'done' ? 'done' : last === 'error' ? 'error-event' : 'broken';
  } catch (error) {
    const { name, message } = error as Error;
    attempt.ended = timedOut() ? 'timeout' : 'broken';
    attempt.error = `${name}: ${message}`;
  }
}

type Name = 'A' | 'B' | 'C';
const NAMES: Name[] = ['A', 'B', 'C'];

describe.skipIf(skip)('three instances on one Postgres database and one Redis', () => {
  let openai: FakeOpenAI | undefined;
  let ifixit: FakeIfixit | undefined;
  let redis: PrivateRedis | undefined;
  let database: TestDatabase | undefined;
  let dataDir: string | undefined;
  let env: Record<string, string> = {};
  const keyPrefix = `fixthread-mi-${SEED}:`;
  const instances: Partial<Record<Name, Started>> = {};
  /** Every instance ever started (A is replaced after its crash), for the clean-up. */
  const everyInstance: Started[] = [];
  const tokens = new Map<string, string>();

  const instance = (name: Name): Started => {
    const started = instances[name];
    if (!started) throw new Error(`instance ${name} is not running`);
    return started;
  };

  async function startInstance(name: Name): Promise<Started> {
    const started = await startBundle({ ...env, DATA_DIR: join(dataDir!, name) });
    instances[name] = started;
    everyInstance.push(started);
    return started;
  }

  /** A test after a failed one still gets three live instances. */
  async function ensureLive(): Promise<void> {
    for (const name of NAMES) {
      const current = instances[name];
      if (!current || current.exit) await startInstance(name);
    }
  }

  const logsTail = (lines = 15) =>
    NAMES.map(
      (name) => `--- ${name} log tail ---\n${(instances[name]?.logs ?? []).slice(-lines).join('\n')}`,
    ).join('\n');

  async function tokenOf(userId: string): Promise<string> {
    let token = tokens.get(userId);
    if (!token) {
      token = await signToken(userId);
      tokens.set(userId, token);
    }
    return token;
  }

  async function headersFor(
    userId: string,
    extra: Record<string, string> = {},
  ): Promise<Record<string, string>> {
    return { authorization: `Bearer ${await tokenOf(userId)}`, ...extra };
  }

  /**
   * One stream, read to its end: POST /chat/stream (`kind: 'start'`) or GET /chat/stream/:turnId with
   * Last-Event-ID (`kind: 'resume'`). Never hangs: after `deadlineMs` the fetch is aborted and the attempt
   * is recorded as a timeout.
   */
  async function stream(
    name: Name,
    userId: string,
    request:
      | { kind: 'start'; message: string; idempotencyKey?: string }
      | { kind: 'resume'; turnId: string; lastEventId?: string },
    options: {
      deadlineMs?: number;
      onEvent?: (received: Received) => void;
      leaveWhen?: (received: Received) => boolean;
    } = {},
  ): Promise<Attempt> {
    const attempt: Attempt = { instance: name, kind: request.kind, events: [], ended: 'open' };
    const leave = new AbortController();
    const deadline = AbortSignal.timeout(options.deadlineMs ?? 45_000);
    const signal = AbortSignal.any([leave.signal, deadline]);
    const base = instance(name).url;
    try {
      const response =
        request.kind === 'start'
          ? await fetch(`${base}/chat/stream`, {
              method: 'POST',
              headers: await headersFor(userId, {
                'content-type': 'application/json',
                ...(request.idempotencyKey ? { 'idempotency-key': request.idempotencyKey } : {}),
              }),
              body: JSON.stringify({ message: request.message }),
              signal,
            })
          : await fetch(`${base}/chat/stream/${request.turnId}`, {
              headers: await headersFor(
                userId,
                request.lastEventId ? { 'last-event-id': request.lastEventId } : {},
              ),
              signal,
            });
      await readSse(response, attempt, {
        leave,
        timedOut: () => deadline.aborted,
        onEvent: options.onEvent,
        leaveWhen: options.leaveWhen,
      });
    } catch (error) {
      const { name: errorName, message } = error as Error;
      attempt.ended = deadline.aborted ? 'timeout' : 'broken';
      attempt.error = `${errorName}: ${message}`;
    }
    return attempt;
  }

  async function storedRows(userId: string): Promise<{ rows: ConversationRow[]; turns: TurnRow[] }> {
    const db = database!.db;
    const rows = (await db.select().from(conversations))
      .filter((row) => row.userId === userId)
      .sort((a, b) => a.id - b.id);
    const userTurns = (await db.select().from(turns)).filter((turn) => turn.userId === userId);
    return { rows, turns: userTurns };
  }

  async function waitFor<T>(
    what: string,
    probe: () => Promise<T | undefined> | T | undefined,
    deadlineMs: number,
    everyMs = 100,
  ): Promise<T> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`${what}: not within ${deadlineMs} ms\n${logsTail()}`);
      await sleep(everyMs);
    }
  }

  async function health(name: Name): Promise<{ status: number; body: unknown }> {
    try {
      const response = await fetch(`${instance(name).url}/health`, { signal: AbortSignal.timeout(3_000) });
      return { status: response.status, body: await response.json() };
    } catch (error) {
      return { status: 0, body: String(error) };
    }
  }

  beforeAll(async () => {
    if (!databaseUrl)
      throw new Error('REQUIRE_E2E is set but TEST_DATABASE_URL is not: this suite needs Postgres');
    if (!redisServerBinary(process.env.REDIS_SERVER)) {
      throw new Error(
        'redis-server not found at /usr/bin/redis-server (set REDIS_SERVER): this suite needs Redis',
      );
    }
    console.info(`[multi-instance] seed ${SEED} (MULTI_INSTANCE_SEED=${SEED} replays this run)`);
    execFileSync(process.execPath, ['build.mjs'], { cwd: serverDir, stdio: 'pipe' });
    const postgres = testDrivers().find((driver) => driver.name === 'postgres');
    if (!postgres)
      throw new Error('testDrivers() offers no postgres driver although TEST_DATABASE_URL is set');
    database = await postgres.open();
    redis = await startPrivateRedis({ binary: process.env.REDIS_SERVER });
    openai = await startFakeOpenAI({ responder: replyFor });
    ifixit = await startFakeIfixit();
    dataDir = mkdtempSync(join(tmpdir(), 'fixthread-multi-instance-'));
    for (const name of NAMES) mkdirSync(join(dataDir, name));
    env = {
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_JWT_SECRET,
      WEB_DIST_DIR: join(dataDir, 'no-web-client'),
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: openai.baseURL,
      OPENAI_MAX_RETRIES: '0',
      IFIXIT_API_URL: ifixit.apiUrl,
      SHUTDOWN_GRACE_MS: '1000',
      DATABASE_URL: database.url!,
      // The machine running this is small and busy: a slow query is not what these tests are about.
      DATABASE_TIMEOUT_MS: '5000',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: keyPrefix,
    };
    // One after another: three bundles starting at once on two cores would only slow each other down.
    for (const name of NAMES) await startInstance(name);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(everyInstance.map((server) => kill(server)));
    await Promise.all([openai?.close(), ifixit?.close()]);
    await redis?.[Symbol.asyncDispose]();
    await database?.[Symbol.asyncDispose]();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('1. a stream started on A, which is SIGKILLed mid-reply, resumes on B: before + after = the saved reply, then done with interrupted: true', async () => {
    await ensureLive();
    const userId = 'mi-crash-user';
    const question = '[crash] My laptop froze during a BIOS update.';
    const killAfter = randomInts(1)(1, 40);
    const a = instance('A');
    let tokensSeen = 0;
    let killedAt = 0;
    const before = await stream(
      'A',
      userId,
      { kind: 'start', message: question },
      {
        deadlineMs: 30_000,
        onEvent: ({ event }) => {
          if (event.type === 'token') tokensSeen++;
          // The kill lands as the chosen event arrives; whatever was already on its way is still read.
          if (killedAt === 0 && tokensSeen >= killAfter) {
            killedAt = Date.now();
            a.child.kill('SIGKILL');
          }
        },
      },
    );
    if (killedAt === 0) a.child.kill('SIGKILL');
    await a.exited;
    const turnId = turnIdOf(before.events);
    const context = () => `\nbefore the kill:\n${describeAttempts([before])}\n${logsTail()}`;
    expect(killedAt, `A was killed after ${killAfter} token events${context()}`).toBeGreaterThan(0);
    expect(turnId, `the events carry the turn id${context()}`).toBeDefined();

    const after = await stream(
      'B',
      userId,
      { kind: 'resume', turnId: turnId!, lastEventId: before.events.at(-1)!.id },
      { deadlineMs: 40_000 },
    );
    const recoveredInMs = Date.now() - killedAt;
    // Three live instances for the tests that follow.
    await startInstance('A');
    const { rows, turns: stored } = await storedRows(userId);
    const turn = stored.find((t) => t.id === turnId);
    const reply = rows.find((row) => row.id === turn?.assistantMessageId);
    const seen = tokenText(before.events) + tokenText(after.events);
    const detail = `\n${describeAttempts([before, after])}\n${logsTail()}`;
    console.info(
      `[multi-instance 1] seed ${SEED}: killed A after ${killAfter} token events (${before.events.length} events, ` +
        `${tokenText(before.events).length} chars received); B resumed with ${after.events.length} events, ` +
        `done ${recoveredInMs} ms after the kill`,
    );

    // No done before the kill: it really was mid-reply.
    expect(
      before.events.map((e) => e.event.type).filter((type) => type !== 'token'),
      detail,
    ).toEqual([]);
    expect(before.ended, detail).toBe('broken');
    // The resumed stream ends with exactly one done { interrupted: true } naming the stored rows.
    expect(after.ended, `the stream resumed on B${detail}`).toBe('done');
    expect(
      after.events.filter((e) => e.event.type === 'done' || e.event.type === 'error'),
      detail,
    ).toHaveLength(1);
    expect(turn?.status, 'turns.status').toBe('interrupted');
    expect(reply, 'the saved assistant row').toBeDefined();
    expect(after.events.at(-1)?.event).toMatchObject({
      type: 'done',
      turn_id: turnId,
      thread_id: turn?.threadId,
      message_id: reply?.id,
      user_message_id: turn?.userMessageId,
      interrupted: true,
      stopped: false,
    });
    // No gap, no repeat: the ids go on from the last one seen, and the text joins up exactly.
    const ids = [...before.events, ...after.events].map((e) => e.id);
    expect(
      ids.every((id) => parseEventId(id)?.turnId === turnId),
      `every id is <turn id>:<seq>: ${ids.join(' ')}`,
    ).toBe(true);
    expect(isStrictlyIncreasing(ids.map(seqOf)), `seqs strictly increase: ${ids.map(seqOf).join(',')}`).toBe(
      true,
    );
    expect(seen, 'before + after = the saved assistant message').toBe(reply?.content);
    expect(reply?.role).toBe('assistant');
    expect(rows.map((row) => [row.role, row.content])).toEqual([
      ['user', question],
      ['assistant', seen],
    ]);
    // Cut where the stream was: a proper prefix of what the model was saying, at least what A delivered.
    expect(CRASH_REPLY.startsWith(seen), 'the saved text is a prefix of the model reply').toBe(true);
    expect(seen.length).toBeLessThan(CRASH_REPLY.length);
    expect(seen.length).toBeGreaterThanOrEqual(tokenText(before.events).length);
  }, 150_000);

  it('2. a client that drops its stream on A resumes on C with its last event id and gets the live tokens with no gap and no repeat', async () => {
    await ensureLive();
    const userId = 'mi-drop-user';
    const question = '[drop] The Wi-Fi card keeps disconnecting.';
    const leaveAfter = randomInts(2)(2, 10);
    let tokensSeen = 0;
    const before = await stream(
      'A',
      userId,
      { kind: 'start', message: question },
      { deadlineMs: 30_000, leaveWhen: ({ event }) => event.type === 'token' && ++tokensSeen >= leaveAfter },
    );
    const turnId = turnIdOf(before.events);
    expect(before.ended, `the client left A after ${leaveAfter} tokens:\n${describeAttempts([before])}`).toBe(
      'left',
    );
    expect(turnId).toBeDefined();
    const resumedAt = Date.now();
    const after = await stream(
      'C',
      userId,
      { kind: 'resume', turnId: turnId!, lastEventId: before.events.at(-1)!.id },
      { deadlineMs: 40_000 },
    );
    const { rows, turns: stored } = await storedRows(userId);
    const turn = stored.find((t) => t.id === turnId);
    const reply = rows.find((row) => row.id === turn?.assistantMessageId);
    const detail = `\n${describeAttempts([before, after])}\n${logsTail()}`;
    const tokensOnC = after.events.filter((e) => e.event.type === 'token');
    const finishedAt = turn?.finishedAt?.getTime() ?? Number.NaN;
    console.info(
      `[multi-instance 2] seed ${SEED}: left A after ${leaveAfter} tokens; C delivered ${tokensOnC.length} token events, ` +
        `the first ${tokensOnC[0] ? tokensOnC[0].at - resumedAt : 'n/a'} ms after resuming and ` +
        `${tokensOnC[0] ? finishedAt - tokensOnC[0].at : 'n/a'} ms before the turn finished`,
    );

    expect(after.ended, `the stream resumed on C${detail}`).toBe('done');
    expect(
      after.events.filter((e) => e.event.type === 'done' || e.event.type === 'error'),
      detail,
    ).toHaveLength(1);
    expect(turn?.status).toBe('completed');
    expect(after.events.at(-1)?.event).toMatchObject({
      type: 'done',
      turn_id: turnId,
      message_id: reply?.id,
      user_message_id: turn?.userMessageId,
      stopped: false,
      interrupted: false,
    });
    const ids = [...before.events, ...after.events].map((e) => e.id);
    expect(
      ids.every((id) => parseEventId(id)?.turnId === turnId),
      ids.join(' '),
    ).toBe(true);
    expect(isStrictlyIncreasing(ids.map(seqOf)), `seqs strictly increase: ${ids.map(seqOf).join(',')}`).toBe(
      true,
    );
    expect(tokenText(before.events) + tokenText(after.events), 'A + C = the saved message').toBe(
      reply?.content,
    );
    expect(reply?.content).toBe(DROP_REPLY);
    // Live, not a replay of a finished turn: several token events, arriving before the turn had finished.
    expect(tokensOnC.length, `token events C delivered before done${detail}`).toBeGreaterThanOrEqual(2);
    expect(tokensOnC[0]!.at, 'C’s first token arrived before the turn finished').toBeLessThan(finishedAt);
    expect(tokensOnC[1]!.at, 'C’s second token arrived before the turn finished').toBeLessThan(finishedAt);
  }, 120_000);

  it('3. 20 concurrent messages on one thread, spread over A, B and C, are answered one after another: 40 rows, user/assistant alternating, each answer to the question before it', async () => {
    await ensureLive();
    const userId = 'mi-serial-user';
    const nonce = SEED.toString(36);
    const questions = Array.from({ length: 20 }, (_, k) => `[serial] question #${k} (${nonce}-${k})`);
    const answers = await Promise.all(
      questions.map(async (message, k) => {
        const name = NAMES[k % NAMES.length]!;
        try {
          const response = await fetch(`${instance(name).url}/chat`, {
            method: 'POST',
            headers: await headersFor(userId, { 'content-type': 'application/json' }),
            body: JSON.stringify({ message }),
            signal: AbortSignal.timeout(100_000),
          });
          return { name, message, status: response.status, body: await response.json() };
        } catch (error) {
          return { name, message, status: 0, body: String(error) };
        }
      }),
    );
    const { rows, turns: stored } = await storedRows(userId);
    const detail = `\n${JSON.stringify(answers.filter((a) => a.status !== 200)).slice(0, 2000)}\n${logsTail()}`;

    const threadId = rows[0]?.threadId;
    for (const answer of answers) {
      expect(answer, `POST /chat on ${answer.name}${detail}`).toEqual({
        name: answer.name,
        message: answer.message,
        status: 200,
        body: { response: serialReply(answer.message), thread_id: threadId },
      });
    }
    expect(rows, 'rows of the thread').toHaveLength(40);
    expect(rows.map((row) => row.role)).toEqual(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 'user' : 'assistant')),
    );
    for (let i = 1; i < rows.length; i += 2) {
      expect(rows[i]!.content, `row ${i} answers row ${i - 1}`).toBe(serialReply(rows[i - 1]!.content));
    }
    expect(
      rows
        .filter((row) => row.role === 'user')
        .map((row) => row.content)
        .sort(),
    ).toEqual([...questions].sort());
    expect(new Set(rows.map((row) => row.threadId)).size).toBe(1);
    // Each turn holds its own question and answer, side by side.
    expect(stored).toHaveLength(20);
    for (const turn of stored) {
      const at = rows.findIndex((row) => row.id === turn.userMessageId);
      expect(turn.status).toBe('completed');
      expect(at % 2, `turn ${turn.id}'s question is a user row`).toBe(0);
      expect(turn.assistantMessageId, `turn ${turn.id}'s answer follows its question`).toBe(rows[at + 1]?.id);
    }
    // Each model call saw the whole thread as it stood, its question last: the previous answer was saved first.
    const calls = openai!.requests.filter((request) => lastUserText(request.body).includes(`(${nonce}-`));
    expect(calls).toHaveLength(20);
    for (const call of calls) {
      const question = lastUserText(call.body);
      const at = rows.findIndex((row) => row.role === 'user' && row.content === question);
      const seen = call.body.messages
        .filter((message) => message.role === 'user' || message.role === 'assistant')
        .map((message) => [message.role, textOfMessage(message.content)]);
      expect(seen, `the context sent for “${question}”`).toEqual(
        rows.slice(0, at + 1).map((row) => [row.role, row.content]),
      );
    }
  }, 150_000);

  it('4. stop sent to C ends the stream running on A with done { stopped: true } within 200 ms, and the partial reply is saved as stopped', async () => {
    await ensureLive();
    const userId = 'mi-stop-user';
    const question = '[stop] How do I reseat the RAM?';
    const stopAfter = randomInts(4)(3, 12);
    let tokensSeen = 0;
    let stop: Promise<{ sentAt: number; answeredAt: number; status: number; body: unknown }> | undefined;
    const c = instance('C');
    // Ready before the clock starts: the 200 ms are the servers'.
    const headers = await headersFor(userId);
    const sendStop = async () => {
      const sentAt = Date.now();
      try {
        const response = await fetch(`${c.url}/chat/stop`, {
          method: 'POST',
          headers,
          signal: AbortSignal.timeout(10_000),
        });
        return {
          sentAt,
          answeredAt: Date.now(),
          status: response.status,
          body: await response.json(),
        };
      } catch (error) {
        return { sentAt, answeredAt: Date.now(), status: 0, body: String(error) };
      }
    };
    const onA = await stream(
      'A',
      userId,
      { kind: 'start', message: question },
      {
        deadlineMs: 40_000,
        onEvent: ({ event }) => {
          if (event.type === 'token' && ++tokensSeen === stopAfter) stop = sendStop();
        },
      },
    );
    const stopped = await stop;
    const { rows, turns: stored } = await storedRows(userId);
    const turnId = turnIdOf(onA.events);
    const turn = stored.find((t) => t.id === turnId);
    const reply = rows.find((row) => row.id === turn?.assistantMessageId);
    const done = onA.events.at(-1);
    const doneAfterMs = stopped && done ? done.at - stopped.sentAt : Number.NaN;
    const detail = `\nstop: ${JSON.stringify(stopped)}\n${describeAttempts([onA])}\n${logsTail()}`;
    console.info(
      `[multi-instance 4] seed ${SEED}: stop sent to C after ${stopAfter} tokens; C answered in ` +
        `${stopped ? stopped.answeredAt - stopped.sentAt : 'n/a'} ms with ${JSON.stringify(stopped?.body)}; ` +
        `A's done (stopped: ${done?.event.type === 'done' ? done.event.stopped : 'n/a'}) arrived ${doneAfterMs} ms after the stop was sent`,
    );

    expect(stopped, `the stop request was sent${detail}`).toBeDefined();
    expect(stopped?.status, `C answered the stop${detail}`).toBe(200);
    // A reply was in flight for this user (on A): C says so, though it does not run it.
    expect(stopped?.body, `POST /chat/stop on C${detail}`).toEqual({ stopped: true });
    expect(onA.ended, `A's stream${detail}`).toBe('done');
    expect(
      onA.events.filter((e) => e.event.type === 'done' || e.event.type === 'error'),
      detail,
    ).toHaveLength(1);
    expect(done?.event, `A's last event, ${doneAfterMs} ms after the stop was sent${detail}`).toMatchObject({
      type: 'done',
      turn_id: turnId,
      message_id: reply?.id,
      stopped: true,
      interrupted: false,
    });
    expect(doneAfterMs, `ms from sending the stop to C until A's done${detail}`).toBeLessThanOrEqual(200);
    expect(turn?.status).toBe('stopped');
    const streamed = tokenText(onA.events);
    expect(reply?.content, 'the saved reply is what the stream delivered').toBe(streamed);
    expect(reply?.finishReason).toBe('stopped');
    expect(STOP_REPLY.startsWith(streamed)).toBe(true);
    expect(streamed.length).toBeLessThan(STOP_REPLY.length);
    expect(isStrictlyIncreasing(onA.events.map((e) => seqOf(e.id)))).toBe(true);
  }, 120_000);

  it('5. one Idempotency-Key sent to A and B at once makes one turn: the same turn id on both streams, one question and one answer saved', async () => {
    await ensureLive();
    const userId = 'mi-idem-user';
    const question = '[idem] Same question, sent to two instances.';
    const key = `mi-idem-${SEED}`;
    const [onA, onB] = await Promise.all(
      (['A', 'B'] as const).map((name) =>
        stream(
          name,
          userId,
          { kind: 'start', message: question, idempotencyKey: key },
          { deadlineMs: 40_000 },
        ),
      ),
    );
    const { rows, turns: stored } = await storedRows(userId);
    const detail = `\n${describeAttempts([onA!, onB!])}\n${logsTail()}`;
    const turnIds = new Set([...onA!.events, ...onB!.events].map((e) => parseEventId(e.id)?.turnId));

    expect(onA!.ended, `A${detail}`).toBe('done');
    expect(onB!.ended, `B${detail}`).toBe('done');
    expect([...turnIds], `turn ids in the event ids${detail}`).toEqual([stored[0]?.id]);
    expect(stored, 'turns saved').toHaveLength(1);
    expect(stored[0]).toMatchObject({ clientMessageId: key, status: 'completed' });
    expect(rows.map((row) => [row.role, row.content])).toEqual([
      ['user', question],
      ['assistant', IDEM_REPLY],
    ]);
    for (const attempt of [onA!, onB!]) {
      expect(tokenText(attempt.events), `text on ${attempt.instance}`).toBe(IDEM_REPLY);
      expect(isStrictlyIncreasing(attempt.events.map((e) => seqOf(e.id)))).toBe(true);
      expect(attempt.events.at(-1)?.event).toMatchObject({
        type: 'done',
        turn_id: stored[0]?.id,
        user_message_id: rows[0]?.id,
        message_id: rows[1]?.id,
        stopped: false,
        interrupted: false,
      });
    }
    expect(
      openai!.requests.filter((request) => lastUserText(request.body) === question),
      'model calls for the question',
    ).toHaveLength(1);
  }, 120_000);

  /**
   * Several turns stream (over A, B and C; half the clients follow theirs from another instance) while Redis
   * goes away for `downMs` (`stop`: SIGTERM, `kill`: SIGKILL) and comes back empty.
   */
  async function redisOutage({
    how,
    downMs,
    label,
  }: {
    how: 'stop' | 'kill';
    downMs: number;
    label: string;
  }) {
    await ensureLive();
    const clients = Array.from({ length: 6 }, (_, i) => ({
      i,
      userId: `mi-redis-user-${label}-${i}`,
      question: `[redis ${i}] Streaming through a Redis restart, client ${i}.`,
      origin: NAMES[i % 3]!,
      /** Odd clients leave the instance running the turn and follow it from the next one. */
      follower: i % 2 === 1 ? NAMES[(i + 1) % 3]! : undefined,
      attempts: [] as Attempt[],
      tokens: 0,
    }));
    type Client = (typeof clients)[number];
    const MAX_RESUMES = 4;
    const countTokens = ({ event }: Received, client: Client) => {
      if (event.type === 'token') client.tokens++;
    };
    const received = (client: Client) => client.attempts.flatMap((a) => a.events);
    const follow = async (client: Client) => {
      // A reply streams for ~6 s: a stream still open after this hangs.
      const deadlineMs = 30_000;
      client.attempts.push(
        await stream(
          client.origin,
          client.userId,
          { kind: 'start', message: client.question },
          {
            deadlineMs,
            onEvent: (event) => countTokens(event, client),
            leaveWhen: client.follower ? ({ event }) => event.type === 'token' : undefined,
          },
        ),
      );
      let next = client.follower ?? client.origin;
      for (let resumes = 0; resumes < MAX_RESUMES; resumes++) {
        const last = client.attempts.at(-1)!;
        if (last.ended === 'done' || last.ended === 'timeout') return;
        const turnId = turnIdOf(received(client));
        if (!turnId) return;
        // A clear error is an answer too; the client still tries to get the rest, from the next instance.
        if (last.ended === 'error-event' || last.ended === 'http-error' || last.ended === 'broken') {
          await sleep(300);
        }
        const lastEventId = received(client)
          .filter((e) => e.event.type !== 'error')
          .at(-1)?.id;
        client.attempts.push(
          await stream(
            next,
            client.userId,
            { kind: 'resume', turnId, lastEventId },
            { deadlineMs, onEvent: (event) => countTokens(event, client) },
          ),
        );
        if (client.attempts.at(-1)!.ended !== 'done') next = NAMES[(NAMES.indexOf(next) + 1) % 3]!;
      }
    };
    const following = clients.map(follow);
    await waitFor(
      'every client has 3 tokens',
      () => clients.every((c) => c.tokens >= 3) || undefined,
      30_000,
    );
    const tokensBefore = clients.map((c) => c.tokens);
    await (how === 'stop' ? redis!.stop() : redis!.kill());
    await sleep(downMs);
    await redis!.start();
    const restartedAt = Date.now();
    await Promise.all(following);

    const problems: string[] = [];
    const summary: string[] = [];
    for (const client of clients) {
      const { rows, turns: stored } = await storedRows(client.userId);
      const events = received(client);
      const turnId = turnIdOf(events);
      const turn = stored.find((t) => t.id === turnId);
      const reply = rows.find((row) => row.id === turn?.assistantMessageId);
      const expected = redisReply(client.i);
      const text = tokenText(events);
      const last = client.attempts.at(-1)!;
      const where = `client ${client.i} (${client.origin}${client.follower ? `, followed on ${client.follower}` : ''})`;
      const problem = (what: string) =>
        problems.push(`${where}: ${what}\n${describeAttempts(client.attempts)}`);
      summary.push(
        `${client.i}: ${client.attempts.map((a) => `${a.kind}@${a.instance}=${a.ended}`).join(' → ')} ` +
          `(${client.tokens} token events, ${tokensBefore[client.i]} before the restart)`,
      );

      // The turn itself: completed and saved whole, whatever Redis did.
      if (turn?.status !== 'completed')
        problem(`turn status ${turn?.status ?? 'missing'}, expected completed`);
      if (reply?.content !== expected)
        problem(`saved reply ${JSON.stringify(reply?.content)?.slice(0, 200)}`);
      if (rows.length !== 2) problem(`${rows.length} rows saved, expected the question and the answer`);

      // What the client saw: never a hang, never lost or repeated text.
      if (client.attempts.some((a) => a.ended === 'timeout')) problem('a stream hung (timeout)');
      if (!['done', 'error-event', 'http-error'].includes(last.ended)) {
        problem(`ended without done or a clear error: ${last.ended}`);
      }
      const ids = events.filter((e) => e.event.type !== 'error').map((e) => e.id);
      if (!ids.every((id) => parseEventId(id)?.turnId === turnId))
        problem(`event ids of another turn: ${ids.join(' ')}`);
      if (!isStrictlyIncreasing(ids.map(seqOf)))
        problem(`seqs not strictly increasing: ${ids.map(seqOf).join(',')}`);
      if (!expected.startsWith(text))
        problem(`received text is not a prefix of the saved reply: ${text.slice(0, 300)}`);
      const dones = events.filter((e) => e.event.type === 'done');
      if (last.ended === 'done') {
        if (text !== expected) problem('done, but the text received is not the saved reply');
        if (dones.length !== 1) problem(`${dones.length} done events`);
        const done = last.events.at(-1)?.event;
        if (
          done?.type !== 'done' ||
          done.stopped ||
          done.interrupted ||
          done.turn_id !== turnId ||
          done.message_id !== reply?.id
        ) {
          problem(`done event ${JSON.stringify(done)}`);
        }
      } else if (dones.length !== 0) {
        problem('a done event, yet the stream went on');
      }
      for (const attempt of client.attempts) {
        const ends = attempt.events.findIndex((e) => e.event.type === 'done' || e.event.type === 'error');
        if (ends !== -1 && ends !== attempt.events.length - 1)
          problem(`events after ${attempt.events[ends]!.event.type}`);
      }
    }
    console.info(
      `[multi-instance ${label}] Redis ${how === 'stop' ? 'stopped' : 'killed'} for ${downMs} ms, streams all ended ${Date.now() - restartedAt} ms after it came back:\n  ` +
        summary.join('\n  '),
    );
    expect(problems, `${problems.join('\n')}\n${logsTail(25)}`).toEqual([]);
    // The restart landed mid-stream: every client was still receiving after it.
    expect(
      clients.every((c) => c.tokens > tokensBefore[c.i]!),
      summary.join('\n'),
    ).toBe(true);
  }

  it('6. Redis restarted mid-stream: every turn completes and is saved, and every client gets the full text or a clear error, never a hang, a gap or a repeat', async () => {
    await redisOutage({ how: 'stop', downMs: 1_500, label: '6' });
  }, 180_000);

  it('/health reports Redis: ok and up, degraded and down while it is stopped, ok and up once it is back', async () => {
    await ensureLive();
    const up = { status: 200, body: { status: 'ok', database: 'postgres', redis: 'up' } };
    const down = { status: 200, body: { status: 'degraded', database: 'postgres', redis: 'down' } };
    const until = (name: Name, want: typeof up) =>
      waitFor(
        `${name}'s /health to be ${JSON.stringify(want)}`,
        async () => {
          const seen = await health(name);
          return (seen.body as { redis?: unknown } | null)?.redis === want.body.redis ? seen : undefined;
        },
        10_000,
        200,
      ).catch(async (error: unknown) => ({
        status: -1,
        body: `${String(error)}; last: ${JSON.stringify(await health(name))}`,
      }));

    const before = await Promise.all(NAMES.map(health));
    await redis!.stop();
    let during: { status: number; body: unknown }[];
    try {
      during = await Promise.all(NAMES.map((name) => until(name, down)));
    } finally {
      await redis!.start();
    }
    const after = await Promise.all(NAMES.map((name) => until(name, up)));
    console.info(
      `[multi-instance health] before ${JSON.stringify(before)} during ${JSON.stringify(during)} after ${JSON.stringify(after)}`,
    );
    expect(before, 'with Redis up').toEqual([up, up, up]);
    expect(during, 'while Redis is stopped').toEqual([down, down, down]);
    expect(after, 'once Redis is back').toEqual([up, up, up]);
  }, 90_000);

  it('keys and channels in Redis are all under REDIS_KEY_PREFIX while a turn streams', async () => {
    await ensureLive();
    const userId = 'mi-namespace-user';
    let inspected:
      { keys: string[]; channels: string[]; shardChannels: string[]; patterns: number } | undefined;
    let tokensSeen = 0;
    let inspection: Promise<void> | undefined;
    const inspect = async () => {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = (await redis!.command('SCAN', cursor, 'COUNT', '1000')) as [
          string,
          RespValue[],
        ];
        cursor = next;
        keys.push(...batch.map(String));
      } while (cursor !== '0');
      const list = (value: RespValue) => (Array.isArray(value) ? value.map(String) : []);
      inspected = {
        keys,
        channels: list(await redis!.command('PUBSUB', 'CHANNELS')),
        shardChannels: list(await redis!.command('PUBSUB', 'SHARDCHANNELS')),
        patterns: Number(await redis!.command('PUBSUB', 'NUMPAT')),
      };
    };
    const onB = await stream(
      'B',
      userId,
      { kind: 'start', message: '[ns] Where do the keys go?' },
      {
        deadlineMs: 40_000,
        onEvent: ({ event }) => {
          if (event.type === 'token' && ++tokensSeen === 5) inspection = inspect();
        },
      },
    );
    await inspection;
    console.info(`[multi-instance namespace] prefix ${keyPrefix}: ${JSON.stringify(inspected)}`);
    expect(onB.ended, describeAttempts([onB])).toBe('done');
    expect(tokenText(onB.events)).toBe(NAMESPACE_REPLY);
    expect(inspected, 'Redis was inspected mid-stream').toBeDefined();
    expect(inspected!.keys.length, 'keys in Redis while a turn streams').toBeGreaterThan(0);
    expect(
      inspected!.keys.filter((key) => !key.startsWith(keyPrefix)),
      'keys outside the prefix',
    ).toEqual([]);
    expect(
      [...inspected!.channels, ...inspected!.shardChannels].filter(
        (channel) => !channel.startsWith(keyPrefix),
      ),
      'channels outside the prefix',
    ).toEqual([]);
    expect(
      inspected!.channels.length + inspected!.shardChannels.length + inspected!.patterns,
      'channels (or patterns) the instances listen on',
    ).toBeGreaterThan(0);
  }, 90_000);
});
