import { randomUUID } from 'node:crypto';
import type { Db } from '@fixthread/core/db';
import { conversations, turns, usageLedger, userUsage, type TurnStatus } from '@fixthread/core/schema';
import { testDrivers, type TestDatabase } from '@fixthread/core/testing';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedReply, parseQuestion, type Question } from '../soak/fake-model';
import type { Attempt, SendRecord } from '../soak/send-record';
import { failures, report, type SoakOutcome } from '../soak/report';
import { verify, type Verdict } from '../soak/verifier';

/**
 * The soak's verdict is only as good as its checks: each kind of damage, written straight into a database,
 * must be named. The soak itself (soak.test.ts) then shows that a real run has none of it.
 */

const USER = 'verifier-user';
const THREAD = `user-${USER}`;

function question(key: string, words = 5): Question {
  return parseQuestion(`[soak ${key} short ${words}] My kettle leaks water, what should I try?`)!;
}

function acked(q: Question, ack: Partial<Attempt> = {}): SendRecord {
  const attempt: Attempt = {
    transport: 'rest',
    instance: 'a',
    kind: 'send',
    outcome: 'acked',
    text: expectedReply(q),
    ...ack,
  };
  return { user: USER, tab: 0, question: q, fault: 'none', attempts: [attempt] };
}

async function insertMessage(db: Db, role: 'user' | 'assistant', content: string): Promise<number> {
  const [row] = await db
    .insert(conversations)
    .values({ userId: USER, threadId: THREAD, role, content })
    .returning();
  return row!.id;
}

async function insertTurn(
  db: Db,
  q: Question,
  status: TurnStatus,
  ids: { user: number | null; assistant: number | null },
) {
  const id = randomUUID();
  await db.insert(turns).values({
    id,
    userId: USER,
    threadId: THREAD,
    clientMessageId: q.key,
    messageHash: 'hash',
    status,
    owner: 'verifier-test',
    leaseExpiresAt: new Date(),
    userMessageId: ids.user,
    assistantMessageId: ids.assistant,
  });
  return id;
}

/** A turn as the engine stores it: question, answer, turn, and its charge in both the ledger and user_usage. */
async function storeAnsweredTurn(
  db: Db,
  q: Question,
  answer = expectedReply(q),
  status: TurnStatus = 'completed',
) {
  const user = await insertMessage(db, 'user', q.message);
  const assistant = await insertMessage(db, 'assistant', answer);
  const turnId = await insertTurn(db, q, status, { user, assistant });
  await charge(db, turnId, 50);
  return { turnId, user, assistant };
}

/** `drift`: what user_usage gains beyond the ledger row, as a charge counted twice would. */
async function charge(db: Db, turnId: string, tokens: number, drift = 0) {
  await db.insert(usageLedger).values({
    userId: USER,
    turnId,
    round: 0,
    promptTokens: tokens,
    completionTokens: 0,
    totalTokens: tokens,
    estimated: false,
  });
  await db
    .insert(userUsage)
    .values({ userId: USER, totalTokens: tokens + drift })
    .onConflictDoUpdate({
      target: userUsage.userId,
      set: { totalTokens: sql`${userUsage.totalTokens} + ${tokens + drift}` },
    });
}

describe.each(testDrivers())('the soak verifier on $name', (driver) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await driver.open();
  });
  afterAll(() => database[Symbol.asyncDispose]());
  /** One database per driver (opening PGlite takes seconds), emptied after each test. */
  const withDatabase = async (run: (db: Db) => Promise<void>) => {
    try {
      await run(database.db);
    } finally {
      for (const table of [turns, usageLedger, userUsage, conversations]) await database.db.delete(table);
    }
  };

  it('passes a clean record: one question, its answer right after it, the ledger equal to user_usage', () =>
    withDatabase(async (db) => {
      const q1 = question('k1');
      const q2 = question('k2');
      const { turnId, user, assistant } = await storeAnsweredTurn(db, q1);
      await storeAnsweredTurn(db, q2);
      const done = {
        type: 'done' as const,
        thread_id: THREAD,
        turn_id: turnId,
        user_message_id: user,
        message_id: assistant,
        sources: [],
        usage: { total_tokens: 50, estimated: false },
        stopped: false,
        interrupted: false,
      };
      const verdict = await verify(db, [acked(q1, { transport: 'sse', done }), acked(q2)], [USER]);
      expect(verdict).toMatchObject({
        lost: [],
        duplicated: [],
        interleavings: [],
        mismatched: [],
        unfinished: [],
      });
      expect(verdict.ledger).toEqual([{ user: USER, ledger: 100, usage: 100 }]);
    }));

  it('names an acknowledged question with nothing stored as lost, and an unacknowledged one not at all', () =>
    withDatabase(async (db) => {
      const unacked: SendRecord = { ...acked(question('k2')), attempts: [] };
      const verdict = await verify(db, [acked(question('k1')), unacked], [USER]);
      expect(verdict.lost).toEqual([
        expect.stringContaining('k1: acknowledged (rest) but no turn is stored'),
      ]);
    }));

  it('names a completed answer stored short as lost, and the acknowledgement that differs from it', () =>
    withDatabase(async (db) => {
      const q = question('k1');
      await storeAnsweredTurn(db, q, 'Answer k1: step1');
      const verdict = await verify(db, [acked(q)], [USER]);
      expect(verdict.lost).toEqual([expect.stringContaining('k1: completed, but the stored answer is')]);
      expect(verdict.mismatched).toEqual([expect.stringContaining('k1 (rest on a)')]);
    }));

  it('names a question stored twice, and an answer no turn names, as duplicated', () =>
    withDatabase(async (db) => {
      const q = question('k1');
      await insertMessage(db, 'user', q.message);
      await storeAnsweredTurn(db, q);
      await insertMessage(db, 'assistant', expectedReply(q));
      const verdict = await verify(db, [acked(q)], [USER]);
      expect(verdict.duplicated).toEqual(
        expect.arrayContaining([
          expect.stringContaining('is named by 0 turns'),
          'k1: the question is stored 2 times',
        ]),
      );
    }));

  it('names two turns run at once (question, question, answer, answer) as interleaved', () =>
    withDatabase(async (db) => {
      const q1 = question('k1');
      const q2 = question('k2');
      const u1 = await insertMessage(db, 'user', q1.message);
      const u2 = await insertMessage(db, 'user', q2.message);
      const a1 = await insertMessage(db, 'assistant', expectedReply(q1));
      const a2 = await insertMessage(db, 'assistant', expectedReply(q2));
      await insertTurn(db, q1, 'completed', { user: u1, assistant: a1 });
      await insertTurn(db, q2, 'completed', { user: u2, assistant: a2 });
      const verdict = await verify(db, [acked(q1), acked(q2)], [USER]);
      expect(verdict.interleavings.length).toBeGreaterThanOrEqual(2);
      expect(verdict.interleavings).toEqual(
        expect.arrayContaining([expect.stringContaining(`#${u2} comes between question #${u1}`)]),
      );
    }));

  it('names an answer to another question as interleaved, even in alternation', () =>
    withDatabase(async (db) => {
      const q1 = question('k1');
      const q2 = question('k2');
      await storeAnsweredTurn(db, q1, expectedReply(q2));
      const verdict = await verify(db, [], [USER]);
      expect(verdict.interleavings).toEqual([expect.stringContaining('does not answer question')]);
    }));

  it('checks a done event against the stored turn: a stopped reply must say so', () =>
    withDatabase(async (db) => {
      const q = question('k1', 30);
      const partial = 'Answer k1: step1 step2';
      const { turnId, user, assistant } = await storeAnsweredTurn(db, q, partial, 'stopped');
      const done = {
        type: 'done' as const,
        thread_id: THREAD,
        turn_id: turnId,
        user_message_id: user,
        message_id: assistant,
        sources: [],
        usage: { total_tokens: 50, estimated: false },
        stopped: false,
        interrupted: false,
      };
      const verdict = await verify(db, [acked(q, { transport: 'trpc-stream', text: partial, done })], [USER]);
      expect(verdict.lost).toEqual([]);
      expect(verdict.mismatched).toEqual(['k1 (trpc-stream on a): done.stopped is false, stored true']);
    }));

  it('reports the ledger against user_usage per user, and turns left unfinished', () =>
    withDatabase(async (db) => {
      const q = question('k1');
      await storeAnsweredTurn(db, q);
      await charge(db, randomUUID(), 7, 1);
      await insertTurn(db, question('k2'), 'running', { user: null, assistant: null });
      const verdict = await verify(db, [acked(q)], [USER, 'nobody']);
      expect(verdict.ledger).toEqual([
        { user: USER, ledger: 57, usage: 58 },
        { user: 'nobody', ledger: 0, usage: 0 },
      ]);
      expect(verdict.unfinished).toEqual(['k2: running']);
    }));
});

describe('the soak report', () => {
  const clean: Verdict = {
    turnsByStatus: { completed: 2 },
    lost: [],
    duplicated: [],
    interleavings: [],
    mismatched: [],
    unfinished: [],
    ledger: [{ user: USER, ledger: 10, usage: 10 }],
  };
  const outcome = (verdict: Verdict, extra: Partial<SoakOutcome> = {}): SoakOutcome => ({
    options: { durationMs: 60_000, seed: 1, redis: true, users: 1 },
    instances: 2,
    records: [acked(question('k1'))],
    faults: [{ kind: 'server-kill', atMs: 1, tookMs: 1, detail: 'instance a' }],
    stops: 0,
    crashes: [],
    settled: true,
    verdict,
    ...extra,
  });

  it('passes a clean run and prints its figures', () => {
    expect(failures(outcome(clean))).toEqual([]);
    const printed = report(outcome(clean));
    expect(printed).toMatch(/^lost 0$/m);
    expect(printed).toMatch(/server SIGKILL\+restart 1, Postgres restart 0, Redis restart 0/);
    expect(printed).toMatch(/^ledger verifier-user: sum 10 = user_usage 10$/m);
    expect(printed).toMatch(/^PASSED$/m);
  });

  it.each<[string, SoakOutcome]>([
    ['lost', outcome({ ...clean, lost: ['k1: gone'] })],
    ['duplicated', outcome({ ...clean, duplicated: ['k1: twice'] })],
    ['interleavings', outcome({ ...clean, interleavings: ['t: mixed'] })],
    ['acknowledgements differing from the database', outcome({ ...clean, mismatched: ['k1: other text'] })],
    ['turns left unfinished', outcome({ ...clean, unfinished: ['k1: running'] })],
    ['ledger ≠ user_usage', outcome({ ...clean, ledger: [{ user: USER, ledger: 10, usage: 11 }] })],
    [
      'server crashes',
      outcome(clean, { crashes: [{ instance: 'a', exit: { code: 1, signal: null }, lastLines: [] }] }),
    ],
    [
      'faults that failed',
      outcome(clean, {
        faults: [{ kind: 'postgres-restart', atMs: 1, tookMs: 1, detail: '', error: 'pg_ctl failed' }],
      }),
    ],
  ])('fails a run with %s', (name, failing) => {
    expect(failures(failing)[0]).toBe(`${name}: 1`);
    expect(report(failing)).toMatch(/^FAILED$/m);
  });

  it('fails a run whose turns never settled', () => {
    expect(failures(outcome(clean, { settled: false }))).toEqual([
      'turns did not settle within the deadline',
    ]);
  });
});
