import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countTokens, openDatabase, parseEventId, type HistoryResult, type TurnEvent } from '@fixthread/core';
import {
  conversations,
  turns,
  usageLedger,
  userUsage,
  type ConversationRow,
  type TurnRow,
  type UsageLedgerRow,
  type UserUsageRow,
} from '@fixthread/core/schema';
import { testDrivers, type TestDatabase } from '@fixthread/core/testing';
import {
  parseSseEvents,
  startFakeIfixit,
  startFakeOpenAI,
  type FakeIfixit,
  type FakeOpenAI,
} from '@fixthread/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kill, startBundle, type Started } from './support/server-process';
import { connect } from './support/trpc';
import { signToken, TEST_JWT_SECRET } from './support/tokens';

/**
 * Crash recovery of durable turns, on the production bundle: an instance is SIGKILLed while two replies
 * stream (one over REST SSE, one over a tRPC subscription), a second instance starts on the same database,
 * and the clients come back with the last event id they saw. The dead instance's leases lapse (6 s), the
 * survivor's sweep (every 2 s) closes the turns as `interrupted`, and the resumed streams must deliver exactly
 * the rest of what was saved, then `done` with `interrupted: true`.
 */

const serverDir = join(import.meta.dirname, '..');

/** 200 words, one per chunk, 30 ms apart: a reply streams for ~6 s, so the kill lands mid-stream. */
const REPLY = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
const CHUNK_DELAY_MS = 30;
/** The provider would report this at the end; the kill comes first, so it is never seen. */
const REPLY_USAGE = { prompt_tokens: 120, completion_tokens: 400 };
/** Words each client has received before the instance is killed. */
const KILL_AFTER_WORDS = 25;
/**
 * The REST client leaves once it has its words; the instance streams on (and saves) this much longer before it
 * is killed, so the resumed stream must carry text saved while nobody was listening.
 */
const KILL_DELAY_MS = 500;
/** Lease (6 s) + sweep (2 s), with room for a busy machine. */
const RESUME_BUDGET_MS = 20_000;
const NEXT_REPLY = 'Back on a healthy instance.';
const NEXT_USAGE = { prompt_tokens: 300, completion_tokens: 7 };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const words = (text: string) => text.split(' ').filter((w) => w !== '').length;

interface Received {
  id: string;
  event: TurnEvent | { type: 'error'; content: string; code: string };
}

/** What a client saw of one stream: its events with their ids, and how the stream ended. */
interface Seen {
  events: Received[];
  /** `left`: the client stopped reading (and closed the connection) on its own. */
  ended: 'complete' | 'left' | 'error' | 'timeout' | 'open';
  error?: string;
}

const textOf = (events: Received[]) =>
  events
    .map(({ event }) => event)
    .filter((event) => event.type === 'token')
    .map((event) => event.content)
    .join('');
const seqOf = (id: string) => parseEventId(id)?.seq ?? Number.NaN;
const describeSeen = (seen: Seen) =>
  `${seen.ended}${seen.error ? ` (${seen.error})` : ''}: ${JSON.stringify(seen.events).slice(0, 1500)}`;

/**
 * Reads an SSE body into `seen` until it ends or breaks, or `leaveWhen` says the client has had enough (it
 * then closes the connection, as a closed tab would); `onEvent` runs after each event.
 */
async function readSse(
  response: Response,
  seen: Seen,
  { onEvent, leaveWhen }: { onEvent?: () => void; leaveWhen?: () => boolean } = {},
): Promise<void> {
  if (!response.ok || !response.body) {
    seen.ended = 'error';
    seen.error = `${response.status} ${await response.text()}`;
    return;
  }
  try {
    for await (const { id, data } of parseSseEvents(response.body)) {
      seen.events.push({ id, event: JSON.parse(data) as Received['event'] });
      onEvent?.();
      if (leaveWhen?.()) {
        seen.ended = 'left';
        return;
      }
    }
    seen.ended = 'complete';
  } catch (error) {
    const { name, message } = error as Error;
    seen.ended = name === 'TimeoutError' ? 'timeout' : 'error';
    seen.error = `${name}: ${message}`;
  }
}

type TrpcClient = ReturnType<typeof connect>;

/** Subscribes to chat.stream; the returned promise settles when the server completes or fails it, or `signal` fires. */
function subscribe(
  client: TrpcClient,
  input: { message: string; lastEventId?: string },
  seen: Seen,
  options: { signal?: AbortSignal; onEvent?: () => void } = {},
): { finished: Promise<void>; unsubscribe(): void } {
  let unsubscribe = () => {};
  const finished = new Promise<void>((resolve) => {
    const subscription = client.trpc.chat.stream.subscribe(input, {
      onData: ({ id, data }) => {
        seen.events.push({ id, event: data });
        options.onEvent?.();
      },
      onError: (error) => {
        seen.ended = 'error';
        seen.error = `${error.data?.code ?? ''} ${error.message}`;
        subscription.unsubscribe();
        resolve();
      },
      onComplete: () => {
        if (seen.ended === 'open') seen.ended = 'complete';
        resolve();
      },
    });
    unsubscribe = () => {
      subscription.unsubscribe();
      resolve();
    };
    options.signal?.addEventListener('abort', () => {
      if (seen.ended === 'open') seen.ended = 'timeout';
      unsubscribe();
    });
  });
  return { finished, unsubscribe: () => unsubscribe() };
}

/** wsClient.close() waits for the socket; a client still retrying a dead server must not hold the test up. */
async function closeClient(client: TrpcClient | undefined): Promise<void> {
  await Promise.race([client?.close().catch(() => {}), sleep(2_000)]);
}

interface Stored {
  turns: TurnRow[];
  conversations: ConversationRow[];
  ledger: UsageLedgerRow[];
  usage: UserUsageRow[];
}

interface Scenario {
  server1Logs: string[];
  server2Logs: string[];
  server2Exit: Started['exit'];
  rest: { turnId: string; before: Seen; after: Seen };
  trpc: { turnId: string; before: Seen; after: Seen };
  /** From the kill to each resumed stream's `done`. */
  recoveredInMs: { rest?: number; trpc?: number };
  historyAfterRecovery: Record<'rest' | 'trpc', HistoryResult>;
  nextTurn: Record<'rest' | 'trpc', { status: number; body: unknown }>;
  historyAfterNextTurn: Record<'rest' | 'trpc', HistoryResult>;
  stored: Stored;
}

const USERS = { rest: 'crash-rest-user', trpc: 'crash-trpc-user' } as const;
const QUESTIONS = {
  rest: 'My phone died mid-update, what now? (REST)',
  trpc: 'My phone died mid-update, what now? (tRPC)',
} as const;
const NEXT_QUESTION = 'Are you still there?';

describe.each(testDrivers())('an instance SIGKILLed mid-reply, recovered by another on $name', (driver) => {
  let openai: FakeOpenAI | undefined;
  let ifixit: FakeIfixit | undefined;
  let dataDir: string | undefined;
  let postgres: TestDatabase | undefined;
  let server1: Started | undefined;
  let server2: Started | undefined;
  const clients: TrpcClient[] = [];
  let scenario: Scenario;

  beforeAll(async () => {
    execFileSync(process.execPath, ['build.mjs'], { cwd: serverDir, stdio: 'pipe' });
    openai = await startFakeOpenAI({
      defaultReply: { text: REPLY, delayMsBetweenChunks: CHUNK_DELAY_MS, usage: REPLY_USAGE },
    });
    ifixit = await startFakeIfixit();
    // PGlite keeps its files here, so the second instance opens what the first one wrote.
    dataDir = mkdtempSync(join(tmpdir(), 'fixthread-crash-'));
    postgres = driver.name === 'postgres' ? await driver.open() : undefined;
    const env = {
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_JWT_SECRET,
      DATA_DIR: dataDir,
      WEB_DIST_DIR: join(dataDir, 'no-web-client'),
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: openai.baseURL,
      OPENAI_MAX_RETRIES: '0',
      IFIXIT_API_URL: ifixit.apiUrl,
      SHUTDOWN_GRACE_MS: '1000',
      // Titles are one more charged model call per new thread; this suite counts each turn's charges.
      THREAD_TITLES: 'heuristic',
      ...(postgres?.url ? { DATABASE_URL: postgres.url } : {}),
    };
    const token = { rest: await signToken(USERS.rest), trpc: await signToken(USERS.trpc) };
    const auth = (who: 'rest' | 'trpc') => ({ authorization: `Bearer ${token[who]}` });

    // ---- instance 1: two replies streaming, one per transport ----
    server1 = await startBundle(env);
    const first = server1;
    const restBefore: Seen = { events: [], ended: 'open' };
    const trpcBefore: Seen = { events: [], ended: 'open' };
    let onProgress = () => {};
    const progressed = () => onProgress();
    const restResponse = await fetch(`${first.url}/chat/stream`, {
      method: 'POST',
      headers: { ...auth('rest'), 'content-type': 'application/json', 'idempotency-key': 'crash-rest-1' },
      body: JSON.stringify({ message: QUESTIONS.rest }),
    });
    const restReading = readSse(restResponse, restBefore, {
      onEvent: progressed,
      leaveWhen: () => words(textOf(restBefore.events)) >= KILL_AFTER_WORDS,
    });
    const trpcClient1 = connect(first.url, token.trpc);
    clients.push(trpcClient1);
    const trpcReading = subscribe(trpcClient1, { message: QUESTIONS.trpc }, trpcBefore, {
      onEvent: progressed,
    });

    const bothStreaming = new Promise<void>((resolve) => {
      onProgress = () => {
        if (
          words(textOf(restBefore.events)) >= KILL_AFTER_WORDS &&
          words(textOf(trpcBefore.events)) >= KILL_AFTER_WORDS
        ) {
          resolve();
        }
      };
      onProgress();
    });
    const streamingTimeout = AbortSignal.timeout(20_000);
    const timedOut = new Promise<'timeout'>((resolve) =>
      streamingTimeout.addEventListener('abort', () => resolve('timeout')),
    );
    if ((await Promise.race([bothStreaming, timedOut])) === 'timeout') {
      throw new Error(
        `the replies did not stream ${KILL_AFTER_WORDS} words within 20 s.\nREST ${describeSeen(restBefore)}\n` +
          `tRPC ${describeSeen(trpcBefore)}\nserver log:\n${first.logs.join('\n')}`,
      );
    }

    // ---- the crash: the tRPC client is still connected, the REST one left ~15 words ago ----
    await sleep(KILL_DELAY_MS);
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await first.exited;
    await restReading;
    // The socket is gone: what arrived before it went is all this client saw.
    trpcReading.unsubscribe();
    if (trpcBefore.ended === 'open') trpcBefore.ended = 'error';
    await closeClient(trpcClient1);
    const restTurnId = parseEventId(restBefore.events[0]?.id ?? '')?.turnId;
    const trpcTurnId = parseEventId(trpcBefore.events[0]?.id ?? '')?.turnId;
    if (!restTurnId || !trpcTurnId) {
      throw new Error(
        `no turn id in the events received.\nREST ${describeSeen(restBefore)}\ntRPC ${describeSeen(trpcBefore)}`,
      );
    }

    // ---- instance 2 on the same database; the clients come back with their last event ids ----
    openai.setDefaultReply({ text: NEXT_REPLY, usage: NEXT_USAGE });
    server2 = await startBundle(env);
    const second = server2;
    const recoveredInMs: Scenario['recoveredInMs'] = {};
    const restAfter: Seen = { events: [], ended: 'open' };
    const trpcAfter: Seen = { events: [], ended: 'open' };
    const budget = AbortSignal.timeout(RESUME_BUDGET_MS);
    const restResumed = (async () => {
      const response = await fetch(`${second.url}/chat/stream/${restTurnId}`, {
        headers: { ...auth('rest'), 'last-event-id': restBefore.events.at(-1)!.id },
        signal: budget,
      });
      await readSse(response, restAfter, {
        onEvent: () => {
          if (restAfter.events.at(-1)?.event.type === 'done') recoveredInMs.rest = Date.now() - killedAt;
        },
      });
    })().catch((error: unknown) => {
      restAfter.ended = 'error';
      restAfter.error = String(error);
    });
    const trpcClient2 = connect(second.url, token.trpc);
    clients.push(trpcClient2);
    const trpcResumed = subscribe(
      trpcClient2,
      { message: 'ignored', lastEventId: trpcBefore.events.at(-1)!.id },
      trpcAfter,
      {
        signal: budget,
        onEvent: () => {
          if (trpcAfter.events.at(-1)?.event.type === 'done') recoveredInMs.trpc = Date.now() - killedAt;
        },
      },
    );
    await Promise.all([restResumed, trpcResumed.finished]);
    await closeClient(trpcClient2);

    // ---- the recovering instance goes on serving these users ----
    const historyOf = async (who: 'rest' | 'trpc') =>
      (await (await fetch(`${second.url}/chat/history`, { headers: auth(who) })).json()) as HistoryResult;
    const historyAfterRecovery = { rest: await historyOf('rest'), trpc: await historyOf('trpc') };
    const ask = async (who: 'rest' | 'trpc') => {
      const response = await fetch(`${second.url}/chat`, {
        method: 'POST',
        headers: { ...auth(who), 'content-type': 'application/json' },
        body: JSON.stringify({ message: NEXT_QUESTION }),
        signal: AbortSignal.timeout(15_000),
      });
      return { status: response.status, body: await response.json() };
    };
    const nextTurn = { rest: await ask('rest'), trpc: await ask('trpc') };
    const historyAfterNextTurn = { rest: await historyOf('rest'), trpc: await historyOf('trpc') };

    // PGlite allows one process at a time: the database is read once instance 2 is gone.
    second.child.kill('SIGTERM');
    await Promise.race([second.exited, sleep(15_000)]);
    await kill(second);
    const database = postgres ?? (await openDatabase({ pgliteDir: join(dataDir, 'pglite') }));
    let stored: Stored;
    try {
      stored = {
        turns: await database.db.select().from(turns),
        conversations: (await database.db.select().from(conversations)).sort((a, b) => a.id - b.id),
        ledger: await database.db.select().from(usageLedger),
        usage: await database.db.select().from(userUsage),
      };
    } finally {
      if (!postgres) await database.close();
    }

    scenario = {
      server1Logs: first.logs,
      server2Logs: second.logs,
      server2Exit: second.exit,
      rest: { turnId: restTurnId, before: restBefore, after: restAfter },
      trpc: { turnId: trpcTurnId, before: trpcBefore, after: trpcAfter },
      recoveredInMs,
      historyAfterRecovery,
      nextTurn,
      historyAfterNextTurn,
      stored,
    };
    console.info(
      `[crash-recovery ${driver.name}] killed after ${words(textOf(restBefore.events))} (REST) / ` +
        `${words(textOf(trpcBefore.events))} (tRPC) words; done with interrupted after ` +
        `${recoveredInMs.rest ?? 'n/a'} ms (REST) / ${recoveredInMs.trpc ?? 'n/a'} ms (tRPC) from the kill; ` +
        `resumed with ${words(textOf(restAfter.events))} (REST) / ${words(textOf(trpcAfter.events))} (tRPC) ` +
        `more words saved before the kill`,
    );
  }, 150_000);

  afterAll(async () => {
    await Promise.all(clients.map(closeClient));
    await Promise.all([kill(server1), kill(server2)]);
    await Promise.all([openai?.close(), ifixit?.close()]);
    await postgres?.[Symbol.asyncDispose]();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** The exactness contract for one client that came back: both halves together are the saved reply, once. */
  function expectExactResume(who: 'rest' | 'trpc') {
    const { turnId, before, after } = scenario[who];
    const context =
      `\nbefore the kill: ${describeSeen(before)}\nafter resuming: ${describeSeen(after)}` +
      `\ninstance 2 log tail:\n${scenario.server2Logs.slice(-30).join('\n')}`;
    const userId = USERS[who];
    const turn = scenario.stored.turns.find((t) => t.id === turnId);
    const rows = scenario.stored.conversations.filter((r) => r.userId === userId);
    const question = rows.find((r) => r.role === 'user' && r.content === QUESTIONS[who]);
    const reply = rows.find((r) => r.id === turn?.assistantMessageId);

    // The kill landed mid-reply: no done before it.
    expect(words(textOf(before.events))).toBeGreaterThanOrEqual(KILL_AFTER_WORDS);
    expect(
      before.events.filter((e) => e.event.type === 'done'),
      'done before the kill',
    ).toEqual([]);

    // The resumed stream ends with done { interrupted: true } naming the stored rows.
    expect(after.ended, `the resumed stream ended${context}`).toBe('complete');
    const done = after.events.at(-1)?.event;
    expect(done?.type, `last event after resuming${context}`).toBe('done');
    expect(after.events.filter((e) => e.event.type === 'done' || e.event.type === 'error')).toHaveLength(1);
    expect(turn?.status, 'turns.status').toBe('interrupted');
    expect(question, 'the stored question').toBeDefined();
    expect(reply, 'the stored reply (turns.assistant_message_id)').toBeDefined();
    expect(done).toMatchObject({
      type: 'done',
      turn_id: turnId,
      thread_id: turn?.threadId,
      interrupted: true,
      stopped: false,
      message_id: reply?.id,
      user_message_id: question?.id,
      usage: { estimated: true },
    });

    // No gap, no repeat: the event ids go on from the last one seen, and the text joins up exactly.
    const ids = [...before.events, ...after.events].map((e) => e.id);
    expect(
      ids.every((id) => parseEventId(id)?.turnId === turnId),
      `every event id is <turn id>:<seq>: ${ids.join(', ')}`,
    ).toBe(true);
    const seqs = ids.map(seqOf);
    expect(
      seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!),
      `seqs strictly increase: ${seqs.join(', ')}`,
    ).toBe(true);
    const seenInTotal = textOf(before.events) + textOf(after.events);
    expect(seenInTotal, 'before + after resuming = the saved reply').toBe(reply?.content);
    expect(reply?.finishReason).toBe('interrupted');
    expect(reply?.role).toBe('assistant');
    // A partial reply, cut where the stream was: a proper prefix of what the model was saying.
    expect(REPLY.startsWith(seenInTotal), 'the saved text is a prefix of the model reply').toBe(true);
    expect(seenInTotal.length).toBeLessThan(REPLY.length);

    // Charged as estimated, through the ledger, with the streamed completion counted by the tokenizer.
    const charges = scenario.stored.ledger.filter((row) => row.turnId === turnId);
    expect(charges.length, 'usage_ledger rows for the turn').toBeGreaterThan(0);
    expect(charges.every((row) => row.userId === userId)).toBe(true);
    const estimated = charges.filter((row) => row.estimated);
    expect(estimated.length, 'estimated ledger rows').toBeGreaterThan(0);
    expect(estimated.reduce((sum, row) => sum + row.completionTokens, 0)).toBe(countTokens(seenInTotal));
    const charged = charges.reduce((sum, row) => sum + row.totalTokens, 0);
    expect(turn?.usageTokens).toBe(charged);
    expect(turn?.usageEstimated).toBe(true);
    expect(done?.type === 'done' ? done.usage.total_tokens : undefined).toBe(charged);
    const allOfUser = scenario.stored.ledger.filter((row) => row.userId === userId);
    expect(
      scenario.stored.usage.find((row) => row.userId === userId)?.totalTokens,
      'user_usage = sum of the ledger',
    ).toBe(allOfUser.reduce((sum, row) => sum + row.totalTokens, 0));

    // History marks the partial reply.
    expect(
      scenario.historyAfterRecovery[who].messages.map((m) => ({
        id: m.id,
        role: m.role,
        content: m.content,
        interrupted: m.interrupted,
        stopped: m.stopped,
      })),
    ).toEqual([
      { id: question?.id, role: 'user', content: QUESTIONS[who], interrupted: false, stopped: false },
      { id: reply?.id, role: 'assistant', content: seenInTotal, interrupted: true, stopped: false },
    ]);
  }

  it('a server killed mid-reply lost what it had streamed: now the partial reply is saved as interrupted, charged as estimated, and a resuming client gets exactly the saved text, then done with interrupted: true', () => {
    expectExactResume('rest');
    const { before, after } = scenario.rest;
    expect(before.ended, 'the REST client left at its word count').toBe('left');
    // The instance streamed on for KILL_DELAY_MS after the client left: that text was saved, and comes now.
    expect(
      words(textOf(after.events)),
      `words the resumed stream carried that the client had not seen: ${describeSeen(after)}`,
    ).toBeGreaterThan(0);
  });

  it('the same over tRPC: a subscriber re-subscribing with its lastEventId on another instance gets exactly the saved text, then done with interrupted: true', () => {
    expectExactResume('trpc');
  });

  it('the recovering instance serves the users’ next turns: user, assistant (interrupted), user, assistant', () => {
    for (const who of ['rest', 'trpc'] as const) {
      expect(scenario.nextTurn[who], `POST /chat for ${who}`).toMatchObject({
        status: 200,
        body: { response: NEXT_REPLY },
      });
      expect(
        scenario.historyAfterNextTurn[who].messages.map((m) => [m.role, m.content, m.interrupted]),
      ).toEqual([
        ['user', QUESTIONS[who], false],
        ['assistant', scenario.historyAfterRecovery[who].messages[1]?.content, true],
        ['user', NEXT_QUESTION, false],
        ['assistant', NEXT_REPLY, false],
      ]);
      // The next turn was charged as the provider reported it, and the user's total is still the ledger's sum.
      const userId = USERS[who];
      const ledger = scenario.stored.ledger.filter((row) => row.userId === userId);
      expect(ledger.filter((row) => !row.estimated).map((row) => row.totalTokens)).toEqual([
        NEXT_USAGE.prompt_tokens + NEXT_USAGE.completion_tokens,
      ]);
      expect(scenario.stored.usage.find((row) => row.userId === userId)?.totalTokens).toBe(
        ledger.reduce((sum, row) => sum + row.totalTokens, 0),
      );
    }
    expect(
      scenario.server2Exit,
      `instance 2 stopped cleanly on SIGTERM:\n${scenario.server2Logs.slice(-20).join('\n')}`,
    ).toEqual({
      code: 0,
      signal: null,
    });
  });
});
