import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { conversations } from '../src/db/schema';
import { appendAssistantMessage, appendUserMessage } from '../src/store/messages';
import { addUsage } from '../src/store/usage';
import { testDrivers } from '../src/testing';
import {
  ACTIVE_SESSIONS_LAST_24H,
  COUNT_MESSAGES_PER_USER,
  TOKEN_USAGE_LEADERBOARD,
  VIEW_ALL_USER_CONVERSATIONS,
} from './design-note-queries';
import { query, useFreshDatabase, utcMillis } from './helpers';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Each user's messages, oldest first, as "how long before the reference time" they were written. */
const plan: Record<string, number[]> = {
  abc123: [300 * MINUTE, 240 * MINUTE, 180 * MINUTE, 120 * MINUTE, 60 * MINUTE, 0],
  bob: [40 * HOUR, 35 * HOUR, 31 * HOUR, 30 * HOUR], // nothing in the last 24 hours
  dave: [48 * HOUR, 47 * HOUR, 23 * HOUR],
  carol: [20 * MINUTE, 10 * MINUTE],
};

/** Spend on top of what the assistant replies add: 12 users in all, so the leaderboard must cut at 10. */
const extraUsage: Record<string, number> = {
  u01: 50, u02: 5_000, u03: 1_000, u04: 20, u05: 750, u06: 5, u07: 999, u08: 420,
};

describe.each(testDrivers())("the design note's queries, verbatim, on $name", (driver) => {
  const database = useFreshDatabase(driver);
  let reference = 0; // UTC millis of the seeding "now"
  const expectedUsage = new Map<string, number>();
  const contents = new Map<string, string[]>();

  beforeAll(async () => {
    const { db } = database();
    const [{ now } = { now: '' }] = await query<{ now: string }>(db, sql`select (now() at time zone 'utc')::text as now`);
    reference = utcMillis(now);
    for (const [userId, ages] of Object.entries(plan)) {
      const written: string[] = [];
      for (const [i, age] of ages.entries()) {
        const content = `${userId} message ${i}`;
        const usageTokens = 100 * (Object.keys(plan).indexOf(userId) + 1) + i;
        const stored =
          i % 2 === 0
            ? await appendUserMessage(db, userId, content)
            : await appendAssistantMessage(db, userId, { content, usageTokens, usageEstimated: false, finishReason: 'stop', toolCalls: [] });
        if (i % 2 === 1) expectedUsage.set(userId, (expectedUsage.get(userId) ?? 0) + usageTokens);
        await db.execute(
          sql`update ${conversations} set created_at = ${now}::timestamp - make_interval(secs => ${age / 1000}) where id = ${stored.id}`,
        );
        written.push(content);
      }
      contents.set(userId, written);
    }
    for (const [userId, tokens] of Object.entries(extraUsage)) {
      await addUsage(db, userId, tokens);
      expectedUsage.set(userId, (expectedUsage.get(userId) ?? 0) + tokens);
    }
  });

  it('View all user conversations', async () => {
    const { db } = database();
    const rows = await query<Record<string, unknown>>(db, sql.raw(VIEW_ALL_USER_CONVERSATIONS));
    expect(rows).toHaveLength(plan.abc123?.length ?? -1);
    for (const column of ['id', 'user_id', 'thread_id', 'role', 'content', 'created_at']) {
      expect(Object.keys(rows[0] ?? {})).toContain(column);
    }
    expect(rows.map((r) => r.content)).toEqual([...(contents.get('abc123') ?? [])].reverse());
    expect(rows.map((r) => r.role)).toEqual(['assistant', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(new Set(rows.map((r) => r.user_id))).toEqual(new Set(['abc123']));
    expect(new Set(rows.map((r) => r.thread_id))).toEqual(new Set(['user-abc123']));
    const times = rows.map((r) => utcMillis(r.created_at));
    const expectedTimes = [...(plan.abc123 ?? [])].reverse().map((age) => reference - age);
    times.forEach((t, i) => expect(Math.abs(t - (expectedTimes[i] ?? 0))).toBeLessThan(1));
  });

  it('Count messages per user', async () => {
    const { db } = database();
    const rows = await query<{ user_id: string; message_count: number | string }>(db, sql.raw(COUNT_MESSAGES_PER_USER));
    const expected = Object.entries(plan)
      .map(([user_id, ages]) => ({ user_id, message_count: ages.length }))
      .sort((a, b) => b.message_count - a.message_count);
    expect(rows.map((r) => ({ user_id: r.user_id, message_count: Number(r.message_count) }))).toEqual(expected);
    expect(expected.map((r) => r.user_id)).toEqual(['abc123', 'bob', 'dave', 'carol']);
  });

  it('Get active sessions (last 24 hours)', async () => {
    const { db } = database();
    const rows = await query<{ user_id: string; thread_id: string; last_active: unknown }>(db, sql.raw(ACTIVE_SESSIONS_LAST_24H));
    const expected = Object.entries(plan)
      .filter(([, ages]) => ages.some((age) => age < 24 * HOUR))
      .map(([userId, ages]) => ({ user_id: userId, thread_id: `user-${userId}`, last_active: reference - Math.min(...ages) }))
      .sort((a, b) => b.last_active - a.last_active);
    expect(expected.map((r) => r.user_id)).toEqual(['abc123', 'carol', 'dave']);
    expect(rows.map((r) => ({ user_id: r.user_id, thread_id: r.thread_id }))).toEqual(
      expected.map(({ user_id, thread_id }) => ({ user_id, thread_id })),
    );
    rows.forEach((row, i) => expect(Math.abs(utcMillis(row.last_active) - (expected[i]?.last_active ?? 0))).toBeLessThan(1));
  });

  it('Token usage leaderboard', async () => {
    const { db } = database();
    const rows = await query<{ user_id: string; total_tokens: number | string }>(db, sql.raw(TOKEN_USAGE_LEADERBOARD));
    const all = [...expectedUsage.entries()].sort((a, b) => b[1] - a[1]);
    expect(all).toHaveLength(12);
    expect(new Set(all.map(([, total]) => total)).size).toBe(12); // no ties: the order is fully determined
    expect(rows.map((r) => [r.user_id, Number(r.total_tokens)])).toEqual(all.slice(0, 10));
  });
});
