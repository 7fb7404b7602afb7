import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { userUsage } from '../db/schema';
import { testDrivers } from '../testing';
import { newUserId, query, useFreshDatabase, utcMillis } from '../../test/helpers';
import { appendAssistantMessage } from './messages';
import { addUsage, totalTokens } from './usage';

describe.each(testDrivers())('usage on $name', (driver) => {
  const database = useFreshDatabase(driver);

  it('creates the row on first use and accumulates after', async () => {
    const { db } = database();
    const userId = newUserId();
    expect(await totalTokens(db, userId)).toBe(0);
    await addUsage(db, userId, 120);
    expect(await totalTokens(db, userId)).toBe(120);
    await addUsage(db, userId, 0);
    await addUsage(db, userId, 5);
    expect(await totalTokens(db, userId)).toBe(125);
    const rows = await db.select().from(userUsage).where(eq(userUsage.userId, userId));
    expect(rows).toHaveLength(1);
    const [row] = rows;
    expect(row?.createdAt).toBeInstanceOf(Date);
    expect(row?.updatedAt?.getTime()).toBeGreaterThanOrEqual(row?.createdAt?.getTime() ?? Infinity);
  });

  it('moves updated_at forward on increment and leaves created_at alone', async () => {
    const { db } = database();
    const userId = newUserId();
    await addUsage(db, userId, 1);
    await db.execute(sql`update ${userUsage} set created_at = '2025-01-01 00:00:00', updated_at = '2025-01-01 00:00:00' where user_id = ${userId}`);
    await addUsage(db, userId, 1);
    const [row] = await query<{ created_at: string; updated_at: string }>(db, sql`select created_at::text, updated_at::text from ${userUsage} where user_id = ${userId}`);
    expect(row?.created_at).toBe('2025-01-01 00:00:00');
    expect(Math.abs(utcMillis(row?.updated_at) - Date.now())).toBeLessThan(60_000);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects %s tokens without writing', async (tokens) => {
    const { db } = database();
    const userId = newUserId();
    await expect(addUsage(db, userId, tokens)).rejects.toBeInstanceOf(RangeError);
    expect(await db.select().from(userUsage).where(eq(userUsage.userId, userId))).toEqual([]);
  });

  it('50 parallel addUsage calls on a new user sum exactly', async () => {
    const { db } = database();
    const userId = newUserId();
    const amounts = Array.from({ length: 50 }, (_, i) => i + 1);
    await Promise.all(amounts.map((n) => addUsage(db, userId, n)));
    expect(await totalTokens(db, userId)).toBe(1275);
    // And again on the now-existing row.
    await Promise.all(amounts.map((n) => addUsage(db, userId, n * 2)));
    expect(await totalTokens(db, userId)).toBe(1275 * 3);
  });

  it('parallel assistant replies for one user sum their spend exactly', async () => {
    const { db } = database();
    const userId = newUserId();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        appendAssistantMessage(db, userId, { content: `r${i}`, usageTokens: 100 + i, usageEstimated: false, finishReason: 'stop', toolCalls: [] }),
      ),
    );
    expect(await totalTokens(db, userId)).toBe(20 * 100 + 190);
  });

  it('keeps users apart', async () => {
    const { db } = database();
    const [a, b] = [newUserId('a'), newUserId('b')];
    await Promise.all([addUsage(db, a, 3), addUsage(db, b, 4), addUsage(db, a, 5)]);
    expect([await totalTokens(db, a), await totalTokens(db, b)]).toEqual([8, 4]);
  });
});
