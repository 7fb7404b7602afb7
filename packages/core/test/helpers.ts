import { randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll } from 'vitest';
import type { Db } from '../src/db/db';
import type { TestDatabase, TestDriver } from '../src/testing';
import { threadIdFor } from '../src/store/thread-id';

/** `db.execute` yields an array on postgres.js and `{ rows }` on PGlite. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  const rows = (result as { rows?: unknown } | null)?.rows;
  if (!Array.isArray(rows)) throw new Error('db.execute returned neither an array nor { rows }');
  return rows as T[];
}

export async function query<T = Record<string, unknown>>(db: Db, statement: SQL): Promise<T[]> {
  return rowsOf<T>(await db.execute(statement));
}

/**
 * A brand-new migrated database for the enclosing `describe`, disposed (Postgres: dropped) after it.
 * Returns an accessor because the database only exists once `beforeAll` has run.
 */
export function useFreshDatabase(driver: TestDriver): () => TestDatabase {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await driver.open();
  });
  afterAll(async () => {
    await database?.[Symbol.asyncDispose]();
    database = undefined;
  });
  return () => {
    if (!database) throw new Error('database not open yet: call it inside a test or hook');
    return database;
  };
}

/** A user id no other test uses, so tests sharing a suite's database cannot see each other's rows. */
export function newUserId(label = 'u'): string {
  return `${label}-${randomUUID()}`;
}

/** A timestamp column as the driver hands it back raw (`timestamp` without time zone), read as UTC. */
export function utcMillis(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value !== 'string') throw new Error(`not a timestamp: ${String(value)}`);
  const hasZone = /(Z|[+-]\d\d(:?\d\d)?)$/.test(value);
  return Date.parse(hasZone ? value.replace(' ', 'T') : `${value.replace(' ', 'T')}Z`);
}

export const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

export interface BulkThreadOptions {
  userId: string;
  count: number;
  /** Tokens recorded per message in `content_tokens` (the content itself is ~this many tokens of filler). */
  tokensPerMessage: number;
}

/**
 * Seeds a long thread in one statement: user/assistant alternating, oldest first, `content_tokens` filled,
 * contents `m<n>` followed by filler, created_at one second apart ending now (UTC).
 */
export async function bulkInsertThread(db: Db, options: BulkThreadOptions): Promise<void> {
  const { userId, count, tokensPerMessage } = options;
  await db.execute(sql`
    insert into conversations (user_id, thread_id, role, content, content_tokens, created_at)
    select ${userId}, ${threadIdFor(userId)},
           case when g % 2 = 1 then 'user' else 'assistant' end,
           'm' || g || ' ' || repeat('lorem ', greatest(${tokensPerMessage}::int - 2, 0)),
           ${tokensPerMessage}::int,
           (now() at time zone 'utc') - make_interval(secs => ${count}::int - g)
    from generate_series(1, ${count}::int) as g
    order by g`);
}

/** The SQLSTATE of a driver error, looking through drizzle's DrizzleQueryError wrapper. */
export function pgErrorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** Runs `fn`, expecting it to fail with that SQLSTATE. */
export async function expectPgError(fn: () => Promise<unknown>, code: string): Promise<void> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error(`expected SQLSTATE ${code}, but it succeeded`);
  if (pgErrorCode(caught) !== code) throw new Error(`expected SQLSTATE ${code}, got ${pgErrorCode(caught) ?? 'none'}: ${caught instanceof Error ? caught.message : JSON.stringify(caught)}`);
}
