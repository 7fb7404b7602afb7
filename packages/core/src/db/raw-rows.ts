import type { SQL } from 'drizzle-orm';
import type { Db } from './db';

/** Rows of a raw statement, whichever driver ran it (postgres.js answers an array, PGlite `{ rows }`). */
export async function rawRows<T>(db: Pick<Db, 'execute'>, statement: SQL): Promise<T[]> {
  const result: unknown = await db.execute(statement);
  if (Array.isArray(result)) return result as T[];
  const rows = (result as { rows?: unknown } | null)?.rows;
  if (!Array.isArray(rows)) throw new Error('db.execute returned neither an array nor { rows }');
  return rows as T[];
}

/** Whether the error (or one it wraps) is a unique violation of that constraint, in either driver's spelling. */
export function violatesUnique(error: unknown, constraint: string): boolean {
  for (let link = error, depth = 0; typeof link === 'object' && link !== null && depth < 8; depth++) {
    const fields = link as { code?: unknown; constraint?: unknown; constraint_name?: unknown; cause?: unknown };
    if (fields.code === '23505' && (fields.constraint === constraint || fields.constraint_name === constraint)) return true;
    link = fields.cause;
  }
  return false;
}

/**
 * Rows of a fixed statement (`$1`… placeholders) straight through the driver, prepared: nothing is built per
 * call and no row is mapped field by field. For hot reads returning many rows, where Drizzle's per-row mapping
 * was most of their cost. Columns come back as the driver parses them: use it for ints, text and booleans,
 * not timestamps (Drizzle keeps those as strings in postgres.js and maps them itself).
 */
export async function queryRows<T>(db: Db, text: string, params: unknown[]): Promise<T[]> {
  const client = (db as unknown as { $client: RawClient }).$client;
  if ('unsafe' in client) return (await client.unsafe(text, params, { prepare: true })) as T[];
  return (await client.query(text, params)).rows as T[];
}

type RawClient =
  | { unsafe(text: string, params: unknown[], options: { prepare: boolean }): PromiseLike<unknown> }
  | { query(text: string, params: unknown[]): Promise<{ rows: unknown[] }> };
