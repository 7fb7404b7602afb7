import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendUserMessage, history, stats } from '../store/messages';
import { addUsage } from '../store/usage';
import { testDrivers } from '../testing';
import { ISO_UTC, newUserId, query, useFreshDatabase, utcMillis } from '../../test/helpers';
import type { Db } from './db';
import { openDatabase } from './open-database';

// Run with a process time zone far from UTC, so any local-time parsing or formatting shows up as an offset.
const originalTz = process.env.TZ;
beforeAll(() => {
  process.env.TZ = 'Asia/Kolkata';
  expect(new Date(Date.UTC(2025, 0, 1)).getTimezoneOffset()).toBe(-330);
});
afterAll(() => {
  process.env.TZ = originalTz;
});

const SECONDS = 1_000;

async function checkStoredInUtc(db: Db): Promise<void> {
  const userId = newUserId();
  const stored = await appendUserMessage(db, userId, 'when was this written?');
  const [row] = await query<{ created_at: string; utc_now: string; lag: number | string }>(
    db,
    sql`select created_at::text as created_at, (now() at time zone 'utc')::text as utc_now,
               extract(epoch from ((now() at time zone 'utc') - created_at)) as lag
        from conversations where id = ${stored.id}`,
  );
  // Same clock as the database's UTC now, within a few seconds.
  expect(Number(row?.lag)).toBeGreaterThanOrEqual(0);
  expect(Number(row?.lag)).toBeLessThan(5);
  // And as the host's clock: the stored wall-clock time read as UTC is the real instant.
  expect(Math.abs(utcMillis(row?.created_at) - Date.now())).toBeLessThan(5 * SECONDS);
  expect(Math.abs(stored.createdAt.getTime() - Date.now())).toBeLessThan(5 * SECONDS);

  const [message] = await history(db, userId, { limit: 1 });
  expect(message?.timestamp).toMatch(ISO_UTC);
  expect(message?.timestamp).toBe(stored.createdAt.toISOString());
  const s = await stats(db, userId);
  expect(s.session_start).toBe(message?.timestamp);
  expect(s.last_activity).toBe(message?.timestamp);

  await addUsage(db, userId, 1);
  const [usage] = await query<{ created_at: string; updated_at: string }>(
    db,
    sql`select created_at::text, updated_at::text from user_usage where user_id = ${userId}`,
  );
  expect(Math.abs(utcMillis(usage?.created_at) - Date.now())).toBeLessThan(5 * SECONDS);
  expect(Math.abs(utcMillis(usage?.updated_at) - Date.now())).toBeLessThan(5 * SECONDS);
}

describe.each(testDrivers())('timestamps on $name', (driver) => {
  const database = useFreshDatabase(driver);

  it('the session is pinned to UTC', async () => {
    const [row] = await query<{ tz: string }>(database().db, sql`select current_setting('TimeZone') as tz`);
    expect(row?.tz).toBe('UTC');
  });

  it('created_at is stored in UTC', async () => {
    await checkStoredInUtc(database().db);
  });
});

const postgresDriver = testDrivers().find((d) => d.name === 'postgres');

describe('timestamps on postgres when the server default time zone is not UTC (needs TEST_DATABASE_URL)', () => {
  const database = postgresDriver ? useFreshDatabase(postgresDriver) : undefined;
  const FAR_ZONE = 'Pacific/Kiritimati'; // UTC+14

  it.runIf(database)('still stores created_at in UTC', async () => {
    if (!database) throw new Error('unreachable: runIf');
    const { db, url: dbUrl } = database();
    if (!dbUrl) throw new Error('postgres test database has no url');
    const name = decodeURIComponent(new URL(dbUrl).pathname.slice(1));
    await db.execute(sql.raw(`alter database "${name}" set timezone to '${FAR_ZONE}'`));

    // Control: a connection that does not pin its time zone now gets the far zone, so this test can fail.
    const plain = postgres(dbUrl, { max: 1, onnotice: () => {} });
    try {
      const [control] = await plain<{ tz: string; hours: string }[]>`
        select current_setting('TimeZone') as tz, extract(epoch from (now()::timestamp - (now() at time zone 'utc'))) / 3600 as hours`;
      expect(control?.tz).toBe(FAR_ZONE);
      expect(Number(control?.hours)).toBe(14);
    } finally {
      await plain.end({ timeout: 5 });
    }

    const reopened = await openDatabase({ databaseUrl: dbUrl, migrate: true, maxConnections: 2 });
    try {
      const [row] = await query<{ tz: string }>(reopened.db, sql`select current_setting('TimeZone') as tz`);
      expect(row?.tz).toBe('UTC');
      await checkStoredInUtc(reopened.db);
    } finally {
      await reopened.close();
    }
  });
});
