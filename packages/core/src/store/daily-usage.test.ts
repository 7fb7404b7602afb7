import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dailyUsage, turnReservations, turns, usageLedger } from '../db/schema';
import { testDrivers, type TestDatabase } from '../testing/index';
import { nextUtcMidnight, releaseStaleReservations, reserveDailyTokens, utcDay } from './daily-usage';
import { appendTurnEvents, recoverExpiredTurns, startTurnNow } from './turns';

let seq = 0;
const newUser = () => `du${Date.now().toString(36)}${seq++}`;

describe('UTC days', () => {
  it('a day is its UTC date, and resets at the next UTC midnight', () => {
    const lateEvening = new Date('2026-12-02T23:59:59.500Z');
    expect(utcDay(lateEvening)).toBe('2026-12-02');
    expect(nextUtcMidnight(lateEvening).toISOString()).toBe('2026-12-03T00:00:00.000Z');
    expect(nextUtcMidnight(new Date('2026-12-31T00:00:00.000Z')).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });
});

describe.each(testDrivers())('daily usage store on $name', (driver) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await driver.open();
  });
  afterAll(async () => {
    await database?.[Symbol.asyncDispose]();
  });

  const dayOf = async (userId: string) => (await database.db.select().from(dailyUsage).where(eq(dailyUsage.userId, userId)))[0];
  const ledgerTotal = async (userId: string) => {
    const [row] = await database.db
      .select({ total: sql<string | number | null>`sum(${usageLedger.totalTokens})` })
      .from(usageLedger)
      .where(eq(usageLedger.userId, userId));
    return Number(row?.total ?? 0);
  };

  it('a crashed turn is settled by recovery: its reservation released with its estimated charge, in one transaction', async () => {
    const user = newUser();
    const turnId = randomUUID();
    const day = utcDay(new Date());
    expect(await reserveDailyTokens(database.db, { turnId, userId: user, day, tokens: 1_500, quota: 10_000 })).toBeUndefined();
    const started = await startTurnNow(
      database.db,
      { id: turnId, clientMessageId: null, messageHash: 'h', owner: 'a-dead-instance', leaseMs: 1 },
      { userId: user, threadId: `user-${user}`, content: 'Why is it smoking?', contentTokens: 5 },
    );
    expect(started).toBeDefined();
    await appendTurnEvents(database.db, turnId, [{ seq: 1, round: 0, type: 'token', content: 'Unplug it at once and let it cool' }]);
    expect(await dayOf(user)).toMatchObject({ usedTokens: 0, reservedTokens: 1_500 });
    await new Promise((resolve) => setTimeout(resolve, 20));

    expect(await recoverExpiredTurns(database.db)).toBeGreaterThanOrEqual(1);
    const [turn] = await database.db.select().from(turns).where(eq(turns.id, turnId));
    expect(turn?.status).toBe('interrupted');
    const settled = await dayOf(user);
    expect(settled?.reservedTokens).toBe(0);
    expect(settled?.usedTokens).toBeGreaterThan(0);
    expect(settled?.usedTokens).toBe(await ledgerTotal(user));
    expect(await database.db.select().from(turnReservations).where(eq(turnReservations.turnId, turnId))).toEqual([]);
  });

  it('a reservation whose turn never began (its process died first) is released by the sweep, once it is stale', async () => {
    const user = newUser();
    const turnId = randomUUID();
    await reserveDailyTokens(database.db, { turnId, userId: user, day: utcDay(new Date()), tokens: 700, quota: 10_000 });
    expect(await releaseStaleReservations(database.db, 60_000)).toBe(0);
    expect((await dayOf(user))?.reservedTokens).toBe(700);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await releaseStaleReservations(database.db, 10)).toBeGreaterThanOrEqual(1);
    expect((await dayOf(user))?.reservedTokens).toBe(0);
  });

  it('refuses a reservation that would pass the quota, and reports the day as it stands', async () => {
    const user = newUser();
    const day = utcDay(new Date());
    await reserveDailyTokens(database.db, { turnId: randomUUID(), userId: user, day, tokens: 900, quota: 1_000 });
    expect(await reserveDailyTokens(database.db, { turnId: randomUUID(), userId: user, day, tokens: 200, quota: 1_000 })).toEqual({
      used: 0,
      reserved: 900,
    });
    expect(await reserveDailyTokens(database.db, { turnId: randomUUID(), userId: user, day, tokens: 100, quota: 1_000 })).toBeUndefined();
  });
});
