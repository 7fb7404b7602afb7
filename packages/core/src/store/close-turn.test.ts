import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { and, asc, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Db } from '../db/db';
import { rowLevelSecurity } from '../db/row-level-security';
import { conversations, dailyUsage, turnEvents, turnReservations, turns, usageLedger, userUsage } from '../db/schema';
import { testDrivers } from '../testing';
import { newUserId, useFreshDatabase } from '../../test/helpers';
import { closeTurnWithReply, type ClosingReply } from './close-turn';
import { reserveDailyTokens, utcDay } from './daily-usage';
import { chargeModelCall, chargeModelCallIn, type ModelCallUsage } from './ledger';
import { insertAssistantMessageIn } from './messages';
import { appendTurnEvents, finishTurn, recoverAbandonedTurns, startTurnNow, type StreamedChunk } from './turns';

const OWNER = 'instance-a';
const CHARGE: ModelCallUsage = { round: 1, promptTokens: 1_200, completionTokens: 330, totalTokens: 1_530, cachedTokens: 200, estimated: false };
const ZERO: ModelCallUsage = { round: 1, promptTokens: 0, completionTokens: 0, totalTokens: 0, cachedTokens: null, estimated: true };
/** A reply's last events, as the writer hands them to the close: text that needs quoting, a status, another round. */
const TAIL: StreamedChunk[] = [
  { seq: 2, round: 0, type: 'token', content: 'Descale it: the "steam" switch, {furred}\\ up, ' },
  { seq: 3, round: 0, type: 'status', content: 'Searching iFixit…' },
  { seq: 4, round: 1, type: 'token', content: 'ü, 🔧 and a comma, then NULL' },
];
const today = () => utcDay(new Date());
const yesterday = () => utcDay(new Date(Date.now() - 86_400_000));

interface Turn {
  db: Db;
  userId: string;
  turnId: string;
  threadId: string;
}

describe.each(testDrivers())('closeTurnWithReply on $name', (driver) => {
  const database = useFreshDatabase(driver);
  const scoped = () => rowLevelSecurity(database().db);

  /** A running turn started the way the engine starts one, optionally with tokens set aside for it first. */
  async function runningTurn(reserve?: { day: string; tokens: number }, userId = newUserId()): Promise<Turn> {
    const db = scoped().forUser(userId);
    const turnId = randomUUID();
    const threadId = `thread-${userId}`;
    if (reserve) await reserveFor(db, userId, turnId, reserve);
    const started = await startTurnNow(
      db,
      { id: turnId, clientMessageId: null, messageHash: 'h', owner: OWNER, leaseMs: 60_000 },
      { userId, threadId, content: 'My kettle will not switch itself off', contentTokens: 8 },
    );
    expect(started).toBeDefined();
    return { db, userId, turnId, threadId };
  }

  async function reserveFor(db: Db, userId: string, turnId: string, { day, tokens }: { day: string; tokens: number }) {
    expect(await reserveDailyTokens(db, { turnId, userId, day, tokens, quota: 1_000_000 })).toBeUndefined();
  }

  const replyOf = (turn: Turn, overrides: Partial<ClosingReply> = {}): ClosingReply => ({
    turnId: turn.turnId,
    owner: OWNER,
    userId: turn.userId,
    threadId: turn.threadId,
    content: 'Descale it: the steam switch is furred up.',
    contentTokens: 11,
    usageTokens: 1_530,
    usageEstimated: false,
    finishReason: 'stop',
    status: 'completed',
    charge: CHARGE,
    ...overrides,
  });

  /** The older multi-statement path this statement replaces, as run-turn still runs it for replies with tools. */
  async function closeTheOldWay(db: Db, reply: ClosingReply): Promise<boolean> {
    return finishTurn(db, reply.turnId, reply.owner, async (tx) => {
      if (reply.charge) await chargeModelCallIn(tx, reply.userId, reply.turnId, reply.charge);
      const { id } = await insertAssistantMessageIn(tx, reply.userId, { ...reply, toolCalls: [] });
      return { status: reply.status, assistantMessageId: id, usageTokens: reply.usageTokens, usageEstimated: reply.usageEstimated };
    });
  }

  /** Everything the close may touch for one user and turn, read across users (maintenance), so RLS hides nothing. */
  async function effects(userId: string, turnId: string) {
    const db = scoped().maintenance;
    const [turn] = await db
      .select({
        status: turns.status,
        assistantMessageId: turns.assistantMessageId,
        usageTokens: turns.usageTokens,
        usageEstimated: turns.usageEstimated,
        finished: turns.finishedAt,
        errorCode: turns.errorCode,
      })
      .from(turns)
      .where(eq(turns.id, turnId));
    const replies = await db
      .select({
        id: conversations.id,
        threadId: conversations.threadId,
        content: conversations.content,
        contentTokens: conversations.contentTokens,
        usageTokens: conversations.usageTokens,
        usageEstimated: conversations.usageEstimated,
        finishReason: conversations.finishReason,
      })
      .from(conversations)
      .where(and(eq(conversations.userId, userId), eq(conversations.role, 'assistant')))
      .orderBy(asc(conversations.id));
    const ledger = await db
      .select({
        round: usageLedger.round,
        promptTokens: usageLedger.promptTokens,
        completionTokens: usageLedger.completionTokens,
        totalTokens: usageLedger.totalTokens,
        cachedTokens: usageLedger.cachedTokens,
        estimated: usageLedger.estimated,
      })
      .from(usageLedger)
      .where(eq(usageLedger.userId, userId))
      .orderBy(asc(usageLedger.round));
    const [usage] = await db.select({ total: userUsage.totalTokens }).from(userUsage).where(eq(userUsage.userId, userId));
    const days = await db
      .select({ day: dailyUsage.day, used: dailyUsage.usedTokens, reserved: dailyUsage.reservedTokens })
      .from(dailyUsage)
      .where(eq(dailyUsage.userId, userId))
      .orderBy(asc(dailyUsage.day));
    const reservations = await db
      .select({ turnId: turnReservations.turnId, day: turnReservations.day, tokens: turnReservations.tokens })
      .from(turnReservations)
      .where(eq(turnReservations.userId, userId))
      .orderBy(asc(turnReservations.tokens));
    const events = await db
      .select({ seq: turnEvents.seq, round: turnEvents.round, type: turnEvents.type, content: turnEvents.content })
      .from(turnEvents)
      .where(eq(turnEvents.turnId, turnId))
      .orderBy(asc(turnEvents.seq));
    return { turn, replies, ledger, total: usage?.total ?? null, days, reservations, events };
  }

  /** Two users' effects compared: ids, turn ids and thread ids differ by construction, the rest must not. */
  const comparable = ({ turn, replies, ledger, total, days, reservations }: Awaited<ReturnType<typeof effects>>) => ({
    turn: turn && { ...turn, assistantMessageId: turn.assistantMessageId === replies.at(-1)?.id, finished: turn.finished !== null },
    replies: replies.map(({ id: _id, threadId: _thread, ...rest }) => rest),
    ledger,
    total,
    days,
    reservations: reservations.map(({ turnId: _turn, ...rest }) => rest),
  });

  it('closes an owned turn: the reply, the turn pointing at it, the ledger row, and the charge added to the total and today', async () => {
    const turn = await runningTurn();
    // An earlier round already charged, so "added to" is told apart from "set to".
    await chargeModelCall(turn.db, turn.userId, turn.turnId, { ...CHARGE, round: 0, promptTokens: 400, completionTokens: 70, totalTokens: 470 });
    const closed = await closeTurnWithReply(turn.db, replyOf(turn, { usageTokens: 2_000 }));
    expect(typeof closed?.messageId).toBe('number');
    const after = await effects(turn.userId, turn.turnId);
    expect(after.replies).toEqual([
      {
        id: closed!.messageId,
        threadId: turn.threadId,
        content: 'Descale it: the steam switch is furred up.',
        contentTokens: 11,
        usageTokens: 2_000,
        usageEstimated: false,
        finishReason: 'stop',
      },
    ]);
    expect(after.turn).toMatchObject({
      status: 'completed',
      assistantMessageId: closed!.messageId,
      usageTokens: 2_000,
      usageEstimated: false,
      errorCode: null,
    });
    expect(after.turn?.finished).not.toBeNull();
    expect(after.ledger).toEqual([expect.objectContaining({ round: 0, totalTokens: 470 }), { ...CHARGE }]);
    expect(after.total).toBe(2_000);
    expect(after.days).toEqual([{ day: today(), used: 2_000, reserved: 0 }]);
  });

  // One user closes the old way, another with the statement, from the same start: what they end with must match.
  // Each reservation has a neighbour (another turn's, same day), so a wrong amount given back cannot hide behind the clamp at 0.
  it.each([
    { case: 'a charge, no reservation', charge: CHARGE },
    { case: 'no charge', charge: null },
    { case: 'a stopped reply with a charge and a same-day reservation', charge: CHARGE, reserve: today, status: 'stopped' as const },
    { case: 'no charge and a same-day reservation', charge: null, reserve: today },
    { case: 'a charge and a reservation from yesterday', charge: CHARGE, reserve: yesterday },
    { case: 'a charge of 0 and a same-day reservation', charge: ZERO, reserve: today },
    { case: 'a charge of 0, no reservation', charge: ZERO },
    { case: 'a call charged already and a same-day reservation', charge: CHARGE, reserve: today, chargedAlready: true },
  ])('writes what finishTurn + chargeModelCallIn + insertAssistantMessageIn wrote: $case', async ({ charge, reserve, status, chargedAlready }) => {
    const [oldWay, newWay] = await Promise.all(
      [0, 1].map(async () => {
        const turn = await runningTurn(reserve && { day: reserve(), tokens: 500 });
        if (reserve) await reserveFor(turn.db, turn.userId, randomUUID(), { day: reserve(), tokens: 300 });
        if (chargedAlready && charge) await chargeModelCall(turn.db, turn.userId, turn.turnId, charge);
        return { turn, reply: replyOf(turn, { charge, status: status ?? 'completed', finishReason: status ?? 'stop' }) };
      }),
    );
    expect(await closeTheOldWay(oldWay!.turn.db, oldWay!.reply)).toBe(true);
    expect(await closeTurnWithReply(newWay!.turn.db, newWay!.reply)).toBeDefined();
    const expected = comparable(await effects(oldWay!.turn.userId, oldWay!.turn.turnId));
    expect(comparable(await effects(newWay!.turn.userId, newWay!.turn.turnId))).toEqual(expected);
    expect(expected.turn).toMatchObject({ status: status ?? 'completed', assistantMessageId: true, finished: true });
  });

  it('does not charge a call already in the ledger again, and still saves the reply and closes the turn', async () => {
    const turn = await runningTurn();
    expect(await chargeModelCall(turn.db, turn.userId, turn.turnId, CHARGE)).toBe(true);
    // Other figures for the same round: the ledger row already there is the one that counts.
    const closed = await closeTurnWithReply(turn.db, replyOf(turn, { charge: { ...CHARGE, totalTokens: 9_999 } }));
    const after = await effects(turn.userId, turn.turnId);
    expect(after.ledger).toEqual([{ ...CHARGE }]);
    expect(after.total).toBe(1_530);
    expect(after.days).toEqual([{ day: today(), used: 1_530, reserved: 0 }]);
    expect(after.replies.map((r) => r.id)).toEqual([closed?.messageId]);
    expect(after.turn).toMatchObject({ status: 'completed', assistantMessageId: closed?.messageId });
  });

  it('with no charge, writes no ledger row and leaves the usage alone, but saves the reply and closes the turn', async () => {
    const turn = await runningTurn();
    await chargeModelCall(turn.db, turn.userId, turn.turnId, { ...CHARGE, round: 0 });
    const closed = await closeTurnWithReply(turn.db, replyOf(turn, { charge: null, usageEstimated: true }));
    const after = await effects(turn.userId, turn.turnId);
    expect(after.ledger).toEqual([{ ...CHARGE, round: 0 }]);
    expect(after.total).toBe(1_530);
    expect(after.days).toEqual([{ day: today(), used: 1_530, reserved: 0 }]);
    expect(after.replies).toEqual([expect.objectContaining({ id: closed?.messageId, usageEstimated: true })]);
    expect(after.turn).toMatchObject({ status: 'completed', assistantMessageId: closed?.messageId, usageEstimated: true });
  });

  it.each(['a wrong owner', 'a turn completed already', 'a turn recovery interrupted'] as const)(
    'for %s, writes nothing anywhere and returns undefined',
    async (which) => {
      const turn = await runningTurn({ day: today(), tokens: 500 });
      let owner = OWNER;
      if (which === 'a wrong owner') owner = 'instance-b';
      if (which === 'a turn completed already') expect(await closeTurnWithReply(turn.db, replyOf(turn))).toBeDefined();
      if (which === 'a turn recovery interrupted') await recoverAbandonedTurns(scoped().maintenance, [turn.turnId]);
      // Those closes gave the reservation back; one set aside again shows whether a wrongful close would take it.
      if (which !== 'a wrong owner') await reserveFor(turn.db, turn.userId, turn.turnId, { day: today(), tokens: 500 });
      const before = await effects(turn.userId, turn.turnId);
      // A round not charged yet, so a ledger row written by mistake would not be hidden by the conflict.
      const reply = replyOf(turn, { owner, charge: { ...CHARGE, round: 7 }, events: TAIL.map((e) => ({ ...e, seq: e.seq + 10 })) });
      expect(await closeTurnWithReply(turn.db, reply)).toBeUndefined();
      expect(await effects(turn.userId, turn.turnId)).toEqual(before);
      expect(before.reservations).toEqual([{ turnId: turn.turnId, day: today(), tokens: 500 }]);
    },
  );

  it('gives back a same-day reservation in the same row that gets the charge, and deletes the reservation', async () => {
    const turn = await runningTurn({ day: today(), tokens: 500 });
    const neighbour = randomUUID();
    await reserveFor(turn.db, turn.userId, neighbour, { day: today(), tokens: 300 });
    await closeTurnWithReply(turn.db, replyOf(turn));
    const after = await effects(turn.userId, turn.turnId);
    expect(after.days).toEqual([{ day: today(), used: 1_530, reserved: 300 }]);
    expect(after.reservations).toEqual([{ turnId: neighbour, day: today(), tokens: 300 }]);
  });

  it('never takes the day below 0 reserved, when less is reserved than the turn set aside', async () => {
    const turn = await runningTurn({ day: today(), tokens: 500 });
    // As a day can end up when something else released part of it first.
    await turn.db.update(dailyUsage).set({ reservedTokens: 100 }).where(eq(dailyUsage.userId, turn.userId));
    expect(await closeTurnWithReply(turn.db, replyOf(turn))).toBeDefined();
    const after = await effects(turn.userId, turn.turnId);
    expect(after.days).toEqual([{ day: today(), used: 1_530, reserved: 0 }]);
    expect(after.reservations).toEqual([]);
  });

  it('a turn that ran past midnight gives yesterday its reservation back and charges today', async () => {
    const turn = await runningTurn({ day: yesterday(), tokens: 500 });
    await reserveFor(turn.db, turn.userId, randomUUID(), { day: yesterday(), tokens: 300 });
    await reserveFor(turn.db, turn.userId, randomUUID(), { day: today(), tokens: 200 });
    expect(await closeTurnWithReply(turn.db, replyOf(turn))).toBeDefined();
    const after = await effects(turn.userId, turn.turnId);
    expect(after.days).toEqual([
      { day: yesterday(), used: 0, reserved: 300 },
      { day: today(), used: 1_530, reserved: 200 },
    ]);
    expect(after.reservations.map((r) => r.turnId)).not.toContain(turn.turnId);
  });

  it('a charge of 0 writes its ledger row, adds nothing, and still gives the reservation back', async () => {
    const turn = await runningTurn({ day: today(), tokens: 500 });
    const closed = await closeTurnWithReply(turn.db, replyOf(turn, { charge: ZERO, usageTokens: 0, usageEstimated: true }));
    const after = await effects(turn.userId, turn.turnId);
    expect(after.ledger).toEqual([{ ...ZERO }]);
    expect(after.total).toBe(0);
    expect(after.days).toEqual([{ day: today(), used: 0, reserved: 0 }]);
    expect(after.reservations).toEqual([]);
    expect(after.turn).toMatchObject({ status: 'completed', assistantMessageId: closed?.messageId, usageTokens: 0 });
  });

  it('closes of one turn racing each other: one wins, one reply, charged and given back once', async () => {
    const turn = await runningTurn({ day: today(), tokens: 500 });
    await reserveFor(turn.db, turn.userId, randomUUID(), { day: today(), tokens: 300 });
    // One handle is enough: on Postgres each close takes its own pooled connection, so they really race (PGlite serialises them).
    const results = await Promise.all(Array.from({ length: 4 }, () => closeTurnWithReply(turn.db, replyOf(turn, { events: TAIL }))));
    const winners = results.filter((r) => r !== undefined);
    expect(winners).toHaveLength(1);
    const after = await effects(turn.userId, turn.turnId);
    expect(after.replies.map((r) => r.id)).toEqual([winners[0]!.messageId]);
    expect(after.turn?.assistantMessageId).toBe(winners[0]!.messageId);
    expect(after.ledger).toEqual([{ ...CHARGE }]);
    expect(after.total).toBe(1_530);
    expect(after.days).toEqual([{ day: today(), used: 1_530, reserved: 300 }]);
    expect(after.events).toEqual(TAIL);
  });

  it('stores the last events with the close, after those stored already, exactly as given', async () => {
    const turn = await runningTurn();
    await appendTurnEvents(turn.db, turn.turnId, [{ seq: 1, round: 0, type: 'token', content: 'First, ' }]);
    expect(await closeTurnWithReply(turn.db, replyOf(turn, { events: TAIL }))).toBeDefined();
    const after = await effects(turn.userId, turn.turnId);
    expect(after.events).toEqual([{ seq: 1, round: 0, type: 'token', content: 'First, ' }, ...TAIL]);
    expect(after.turn?.status).toBe('completed');
  });

  it('an event the database refuses (a seq stored already) fails the whole close: nothing is written', async () => {
    const turn = await runningTurn({ day: today(), tokens: 500 });
    await appendTurnEvents(turn.db, turn.turnId, [{ seq: 2, round: 0, type: 'token', content: 'stored' }]);
    const before = await effects(turn.userId, turn.turnId);
    await expect(closeTurnWithReply(turn.db, replyOf(turn, { events: TAIL }))).rejects.toThrow();
    expect(await effects(turn.userId, turn.turnId)).toEqual(before);
    expect(before.turn?.status).toBe('running');
  });

  // A question whose start raced the close would otherwise land between the closing turn's question and reply.
  it.runIf(driver.name === 'postgres')('waits for the thread lock a starting question holds, and a question cannot start while it closes', async () => {
    const turn = await runningTurn();
    const holder = postgres(database().url!, { max: 1, onnotice: () => {} });
    let release = () => {};
    try {
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => (locked = resolve));
      const holding = holder.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(hashtext(${`fixthread:thread:${turn.threadId}`}))`;
        locked();
        await held;
      });
      await lockTaken;
      let closedAt = 0;
      const closing = closeTurnWithReply(turn.db, replyOf(turn, { events: TAIL })).then((closed) => ((closedAt = performance.now()), closed));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(closedAt, 'the close went ahead while the thread was locked').toBe(0);
      expect((await effects(turn.userId, turn.turnId)).turn?.status).toBe('running');
      const releasedAt = performance.now();
      release();
      await holding;
      expect(await closing).toBeDefined();
      expect(closedAt).toBeGreaterThanOrEqual(releasedAt);
    } finally {
      release();
      await holder.end();
    }
  });

  // A thread's first turn charges its title while the thread's next turn closes: both write the user's total and day.
  it('a close racing another charge of the same user never deadlocks, and both are counted', async () => {
    for (let round = 0; round < 40; round++) {
      const turn = await runningTurn();
      const [closed] = await Promise.all([
        closeTurnWithReply(turn.db, replyOf(turn)),
        chargeModelCall(turn.db, turn.userId, randomUUID(), { ...CHARGE, round: 1_000, totalTokens: 70 }),
      ]);
      expect(closed).toBeDefined();
      const after = await effects(turn.userId, turn.turnId);
      expect(after.total).toBe(1_530 + 70);
      expect(after.days).toEqual([{ day: today(), used: 1_530 + 70, reserved: 0 }]);
    }
  });

  it("another user's handle cannot close the turn: it writes nothing for either user", async () => {
    const victim = await runningTurn({ day: today(), tokens: 500 });
    await chargeModelCall(victim.db, victim.userId, victim.turnId, { ...CHARGE, round: 0 });
    const intruder = newUserId('intruder');
    const intruderDb = scoped().forUser(intruder);
    const before = await effects(victim.userId, victim.turnId);
    // Naming the victim, then itself, as the reply's user: the turn must stay out of reach either way.
    expect(await closeTurnWithReply(intruderDb, replyOf(victim, { events: TAIL }))).toBeUndefined();
    expect(await closeTurnWithReply(intruderDb, replyOf(victim, { userId: intruder, events: TAIL }))).toBeUndefined();
    expect(await effects(victim.userId, victim.turnId)).toEqual(before);
    expect(await effects(intruder, victim.turnId)).toMatchObject({ replies: [], ledger: [], total: null, days: [], reservations: [] });
    // It was the handle that stopped it: the owner's own close still goes through.
    expect(await closeTurnWithReply(victim.db, replyOf(victim))).toBeDefined();
  });
});
