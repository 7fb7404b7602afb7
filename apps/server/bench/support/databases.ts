/**
 * The databases the benchmarks run on: PGlite always (on disk in a temp DATA_DIR, as `pnpm start` runs it),
 * and a fresh Postgres database when TEST_DATABASE_URL or DATABASE_URL is set. Each also exposes the raw
 * driver underneath Drizzle (postgres.js / PGlite), for the raw-driver baselines.
 */
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { openDatabase, type Database, type Driver } from '@fixthread/core';
import { openPostgresTestDatabase } from '@fixthread/core/testing';
import type { Sql } from 'postgres';

export type Row = Record<string, unknown>;
export type RawQuery = (text: string, params: unknown[]) => Promise<Row[]>;

/** The driver without Drizzle: parameterised SQL, and a transaction that hands out the same shape. */
export interface RawDb {
  query: RawQuery;
  transaction(work: (query: RawQuery) => Promise<void>): Promise<void>;
  /** Statements in one transaction, in one round trip on postgres.js (as core's `queryBatch`); rows of each. */
  batch(statements: [text: string, params: unknown[]][]): Promise<Row[][]>;
}

export interface BenchDatabase {
  driver: Driver;
  database: Database;
  raw: RawDb;
  close(): Promise<void>;
}

export interface BenchDriver {
  name: Driver;
  /** A migrated database for a server in this process. */
  open(dataDir: string): Promise<BenchDatabase>;
  /**
   * A database for a server in a child process: the env the child needs (PGlite: nothing, it opens
   * DATA_DIR/pglite itself) and how to drop it afterwards.
   */
  forChild(): Promise<{ env: Record<string, string>; close(): Promise<void> }>;
}

export function benchDrivers(): BenchDriver[] {
  const url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  const drivers: BenchDriver[] = [
    {
      name: 'pglite',
      open: async (dataDir) => {
        const database = await openDatabase({ pgliteDir: join(dataDir, 'pglite') });
        return {
          driver: 'pglite',
          database,
          raw: rawPglite(clientOf<PGlite>(database)),
          close: () => database.close(),
        };
      },
      forChild: async () => ({ env: {}, close: async () => {} }),
    },
  ];
  if (url) {
    drivers.push({
      name: 'postgres',
      open: async () => {
        const test = await openPostgresTestDatabase(url); // fresh, dropped on close
        return {
          driver: 'postgres',
          database: test,
          raw: rawPostgres(clientOf<Sql>(test)),
          close: async () => test[Symbol.asyncDispose](),
        };
      },
      forChild: async () => {
        const test = await openPostgresTestDatabase(url);
        // The child opens its own pool; this process keeps the database only to drop it.
        return { env: { DATABASE_URL: test.url ?? '' }, close: async () => test[Symbol.asyncDispose]() };
      },
    });
  }
  return drivers;
}

export function postgresSkippedNote(): string | undefined {
  return process.env.TEST_DATABASE_URL || process.env.DATABASE_URL
    ? undefined
    : 'postgres: skipped (set TEST_DATABASE_URL or DATABASE_URL to include it)';
}

/** Drizzle keeps the driver's client as `$client`; core's `Db` type does not name it. */
function clientOf<T>(database: Database): T {
  return (database.db as unknown as { $client: T }).$client;
}

/** The raw driver under an opened database (postgres.js or PGlite), for baselines in another process. */
export function rawDbOf(database: Database): RawDb {
  return database.driver === 'pglite' ? rawPglite(clientOf<PGlite>(database)) : rawPostgres(clientOf<Sql>(database));
}

function rawPglite(pg: PGlite): RawDb {
  const via =
    (target: Pick<PGlite, 'query'>): RawQuery =>
    async (text, params) =>
      (await target.query<Row>(text, params)).rows;
  return {
    query: via(pg),
    transaction: async (work) => {
      await pg.transaction((tx) => work(via(tx)));
    },
    batch: (statements) =>
      pg.transaction(async (tx) => {
        const results: Row[][] = [];
        for (const [text, params] of statements) results.push((await tx.query<Row>(text, params)).rows);
        return results;
      }),
  };
}

function rawPostgres(sql: Sql): RawDb {
  // `prepare: true`: named prepared statements, as Drizzle's `.prepare()` gives the server's hot path.
  const via =
    (target: Pick<Sql, 'unsafe'>): RawQuery =>
    async (text, params) => [...(await target.unsafe<Row[]>(text, params as never[], { prepare: true }))];
  return {
    query: via(sql),
    transaction: async (work) => {
      await sql.begin((tx) => work(via(tx)));
    },
    batch: async (statements) =>
      (await sql.begin((tx) => statements.map(([text, params]) => tx.unsafe<Row[]>(text, params as never[], { prepare: true })))) as Row[][],
  };
}
