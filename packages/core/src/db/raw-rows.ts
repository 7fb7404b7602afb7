import type { SQL } from 'drizzle-orm';
import { DrizzleQueryError } from 'drizzle-orm/errors';
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

/** A statement with `$1`… placeholders and its parameters. */
export interface RawStatement {
  text: string;
  params: unknown[];
}

/** A Drizzle-built statement as its text and parameters, as `db.execute` would send it. */
export function rawStatement(db: Db, statement: SQL): RawStatement {
  const { sql: text, params } = (db as unknown as { dialect: { sqlToQuery(sql: SQL): { sql: string; params: unknown[] } } }).dialect.sqlToQuery(
    statement,
  );
  return { text, params };
}

/**
 * Statements run in order in one transaction, each prepared, and the rows of each. On postgres.js (patched) they
 * go in one round trip with their BEGIN and COMMIT, where a statement each costs a round trip each; PGlite, in
 * process, runs them one after the other. A failing statement fails the batch, and nothing of it is kept.
 */
export async function queryBatch(db: Db, statements: RawStatement[]): Promise<unknown[][]> {
  const client = (db as unknown as { $client: BatchClient }).$client;
  let running: RawStatement | undefined;
  try {
    if ('batch' in client) return await client.batch(statements);
    if ('unsafe' in client) {
      return (await client.begin((sql) => statements.map(({ text, params }) => sql.unsafe(text, params, { prepare: true })))) as unknown[][];
    }
    return await client.transaction(async (tx) => {
      const results: unknown[][] = [];
      for (const statement of statements) {
        running = statement;
        results.push((await tx.query(statement.text, statement.params)).rows);
      }
      return results;
    });
  } catch (error) {
    // Wrapped as Drizzle wraps a failed statement, so it is logged the same way (the statement, never its
    // parameters: see the server's sanitized-database-error) and found by the same checks of its cause.
    const named = (error as { query?: unknown } | null)?.query;
    const failed = statements.find((statement) => statement.text === named) ?? running ?? statements.at(-1);
    throw new DrizzleQueryError(failed?.text ?? '', failed?.params ?? [], error instanceof Error ? error : undefined);
  }
}

type BatchClient =
  | { batch(statements: RawStatement[]): Promise<unknown[][]> }
  | {
      unsafe: unknown;
      begin(work: (sql: { unsafe(text: string, params: unknown[], options: { prepare: boolean }): unknown }) => unknown[]): Promise<unknown>;
    }
  | { transaction<T>(work: (tx: { query(text: string, params: unknown[]): Promise<{ rows: unknown[] }> }) => Promise<T>): Promise<T> };
