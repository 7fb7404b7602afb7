import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dailyUsage, turnReservations, usageLedger } from '../db/schema';
import { DailyQuotaExceeded, QuotaExceeded } from '../errors';
import { nextUtcMidnight, reserveDailyTokens, utcDay } from '../store/daily-usage';
import { startEngineFixture, testDrivers, type TestDatabase } from '../testing/index';
import { OUTPUT_ALLOWANCE_TOKENS } from './daily-budget';

let seq = 0;
const newUser = () => `daily${Date.now().toString(36)}${seq++}`;

describe.each(testDrivers())('daily token budget on $name', (driver) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await driver.open();
  });
  afterAll(async () => {
    await database?.[Symbol.asyncDispose]();
  });

  const today = async (userId: string) =>
    (await database.db.select().from(dailyUsage).where(eq(dailyUsage.userId, userId)))[0] ?? { usedTokens: 0, reservedTokens: 0 };
  const ledgerTotal = async (userId: string) => {
    const [row] = await database.db
      .select({ total: sql<string | number | null>`sum(${usageLedger.totalTokens})` })
      .from(usageLedger)
      .where(eq(usageLedger.userId, userId));
    return Number(row?.total ?? 0);
  };
  const reservationsOf = (userId: string) => database.db.select().from(turnReservations).where(eq(turnReservations.userId, userId));

  it('50 concurrent turns overshoot the daily budget by at most one reservation', async () => {
    const quota = 12_000;
    await using fx = await startEngineFixture(database, { dailyTokenQuota: quota });
    const user = newUser();
    // Separate threads, so the turns really run at once instead of queueing behind one thread's lock.
    const threads = await Promise.all(Array.from({ length: 50 }, (_, i) => fx.engine.createThread(user, { title: `t${i}` })));
    for (let i = 0; i < 50; i++) {
      fx.openai.enqueue({ text: 'Reseat the ribbon cable.', delayMsBetweenChunks: 20, usage: { prompt_tokens: 1_200, completion_tokens: 300 } });
    }
    const outcomes = await Promise.allSettled(
      threads.map((thread, i) => fx.engine.send(user, `question ${i}`, { threadId: thread.id })),
    );
    const refused = outcomes.filter((o) => o.status === 'rejected');
    const answered = outcomes.filter((o) => o.status === 'fulfilled');
    for (const o of refused) expect(o.reason).toBeInstanceOf(DailyQuotaExceeded);
    expect(answered.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);

    const day = await today(user);
    expect(day.usedTokens).toBeLessThanOrEqual(quota + maxReservation());
    expect(day.usedTokens).toBe(answered.length * 1_500);
    // Settled: nothing stays set aside, and the day is the sum of its ledger rows.
    expect(day.reservedTokens).toBe(0);
    expect(await reservationsOf(user)).toEqual([]);
    expect(day.usedTokens).toBe(await ledgerTotal(user));
  });

  it('refuses once the day is spent, saying when it resets, and stores nothing', async () => {
    await using fx = await startEngineFixture(database, { dailyTokenQuota: 2_000 });
    const user = newUser();
    fx.openai.enqueue({ text: 'First answer.', usage: { prompt_tokens: 1_500, completion_tokens: 600 } });
    await fx.engine.send(user, 'first');
    const refusal = await fx.engine.send(user, 'second').catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(DailyQuotaExceeded);
    // A QuotaExceeded like the lifetime quota's, so every transport already answers it with 429.
    expect(refusal).toBeInstanceOf(QuotaExceeded);
    const { resetsAt, message } = refusal as DailyQuotaExceeded;
    expect(resetsAt.toISOString()).toBe(nextUtcMidnight(new Date()).toISOString());
    expect(message).toMatch(/^Daily token budget of 2000 tokens used up; it resets at 00:00 UTC \(in \d+ h \d+ min\)\.$/);
    const history = await fx.engine.history(user);
    expect(history.messages.map((m) => m.content)).toEqual(['first', 'First answer.']);
    expect(fx.openai.requests).toHaveLength(1);
    const stats = await fx.engine.stats(user);
    expect(stats.limits).toEqual({
      token_quota: null,
      daily_tokens: { limit: 2_000, used: 2_100, reserved: 0, resets_at: resetsAt.toISOString() },
      requests_per_minute: null,
    });
  });

  it('releases the reservation of a failed turn in its closing transaction', async () => {
    await using fx = await startEngineFixture(database, { dailyTokenQuota: 50_000 });
    const user = newUser();
    fx.openai.enqueue({ error: { status: 400, message: 'bad request' } });
    await expect(fx.engine.send(user, 'this fails')).rejects.toThrow();
    await fx.engine.drain();
    expect(await reservationsOf(user)).toEqual([]);
    expect((await today(user)).reservedTokens).toBe(0);
  });

  it('a conditional upsert per reservation: concurrent reservations never pass the quota together', async () => {
    const user = newUser();
    const day = utcDay(new Date());
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        reserveDailyTokens(database.db, { turnId: `${user}-${i}`, userId: user, day, tokens: 300, quota: 3_000 }),
      ),
    );
    expect(results.filter((r) => r === undefined)).toHaveLength(10);
    expect(await today(user)).toMatchObject({ usedTokens: 0, reservedTokens: 3_000 });
    expect(await reservationsOf(user)).toHaveLength(10);
  });

  it('turned off, it reserves nothing and shows no daily limit', async () => {
    await using fx = await startEngineFixture(database, { tokenQuota: 10_000 });
    const user = newUser();
    fx.openai.enqueue({ text: 'Fine.', usage: { prompt_tokens: 10, completion_tokens: 2 } });
    await fx.engine.send(user, 'hello');
    expect(await reservationsOf(user)).toEqual([]);
    const stats = await fx.engine.stats(user);
    expect(stats.limits).toEqual({
      token_quota: { limit: 10_000, used: 12, resets_at: null },
      daily_tokens: null,
      requests_per_minute: null,
    });
    // The day is still counted, so turning the budget on mid-day starts from what was really spent.
    expect((await today(user)).usedTokens).toBe(12);
  });
});

/** No prompt is larger than the context budget; a reservation is at most that and the answer allowance. */
function maxReservation(): number {
  return 8_000 + OUTPUT_ALLOWANCE_TOKENS;
}
