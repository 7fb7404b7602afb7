import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { migrationsDir } from './migrations-dir';
import { rawRows } from './raw-rows';
import type { Db } from './db';
import * as schema from './schema';

export type Driver = 'postgres' | 'pglite';

export interface Database {
  db: Db;
  driver: Driver;
  /** Where it lives, for logs: the PGlite directory (or `memory`), or Postgres's host:port/database, no credentials. */
  location: string;
  /** What opening it did to its schema; `null` for Postgres opened with `migrate: false` (PGlite always migrates). */
  migrations: MigrationReport | null;
  /** Cheap round trip, for health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Postgres connection string. Without it the embedded PGlite is used. */
  databaseUrl?: string | undefined;
  /** PGlite data directory; `undefined` means in memory (tests). */
  pgliteDir?: string | undefined;
  /** postgres.js pool size. */
  maxConnections?: number;
  /** Apply pending migrations before returning (default true). */
  migrate?: boolean;
}

/** The committed migrations by tag (`0003_threads`), oldest first. */
export interface MigrationReport {
  /** Applied by this open. */
  appliedNow: string[];
  /** Found in place already. */
  alreadyApplied: string[];
}

// Arbitrary constant shared by every instance, so concurrent start-ups migrate one at a time.
const MIGRATION_LOCK_KEY = 7_412_019_311;

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const database = options.databaseUrl
    ? await openPostgres(options.databaseUrl, options)
    : await openPglite(options.pgliteDir);
  return database;
}

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<Database> {
  // The note's columns are `timestamp` without time zone: pinning the session to UTC keeps NOW() in UTC.
  const connection = { TimeZone: 'UTC', application_name: 'fixthread' };
  const migrations = (options.migrate ?? true) ? await migratePostgresLocked(url, connection) : null;
  const client = postgres(url, {
    max: options.maxConnections ?? 10,
    onnotice: () => {},
    connection,
    // The default backoff grows to 20 s between reconnects after an outage, so requests kept waiting long after
    // the database was back; a capped, short one brings the pool back within a second of a restart.
    backoff: reconnectBackoffSeconds,
    // Requests are answered by the engine's database deadline well before this; it only bounds a stuck connect.
    connect_timeout: 5,
  });
  const db = drizzlePostgres(client, { schema });
  return {
    db,
    driver: 'postgres',
    location: postgresLocation(url),
    migrations,
    ping: async () => {
      await client`select 1`;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/** 50 ms, 100 ms, 200 ms, then 400 ms between attempts. */
function reconnectBackoffSeconds(attempt: number): number {
  return Math.min(0.05 * 2 ** attempt, 0.4);
}

/**
 * Migrates over a dedicated single-connection client, so the advisory lock and the migration share one session.
 * (drizzle's postgres-js driver needs a full client: a `reserve()`d connection has no `options` and crashes it.)
 * The client is closed even when a migration fails, which drops the lock too, so no other instance waits forever.
 */
async function migratePostgresLocked(url: string, connection: Record<string, string>): Promise<MigrationReport> {
  const client = postgres(url, { max: 1, onnotice: () => {}, connection });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    const db = drizzlePostgres(client, { schema });
    // Read under the lock: an instance that started a moment earlier may have just applied them.
    const report = await pendingMigrations(db);
    await migratePostgres(db, { migrationsFolder: migrationsDir() });
    await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    return report;
  } finally {
    // Ending the session also releases the lock when the migration failed.
    await client.end({ timeout: 5 });
  }
}

async function openPglite(dir: string | undefined): Promise<Database> {
  if (dir) mkdirSync(dir, { recursive: true });
  const client = await PGlite.create(dir);
  await client.exec(`SET TIME ZONE 'UTC'`);
  const db = drizzlePglite(client, { schema });
  let migrations: MigrationReport;
  try {
    migrations = await pendingMigrations(db);
    await migratePglite(db, { migrationsFolder: migrationsDir() });
  } catch (error) {
    await client.close();
    throw error;
  }
  return {
    db,
    driver: 'pglite',
    location: dir ?? 'memory',
    migrations,
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.close(),
  };
}

/**
 * Which committed migrations the migrator is about to apply, by its own rule: every one newer than the newest it
 * recorded. Read just before it runs, the report is what it then did.
 */
async function pendingMigrations(db: Pick<Db, 'execute'>): Promise<MigrationReport> {
  const journal = JSON.parse(readFileSync(join(migrationsDir(), 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string; when: number }[];
  };
  const [table] = await rawRows<{ present: boolean }>(db, sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`);
  const [last] = table?.present
    ? await rawRows<{ created_at: string | number | null }>(db, sql`select max(created_at) as created_at from drizzle.__drizzle_migrations`)
    : [];
  const newest = Number(last?.created_at ?? -Infinity);
  const report: MigrationReport = { appliedNow: [], alreadyApplied: [] };
  for (const entry of journal.entries) (entry.when > newest ? report.appliedNow : report.alreadyApplied).push(entry.tag);
  return report;
}

function postgresLocation(url: string): string {
  const parsed = new URL(url);
  return `${parsed.host}${parsed.pathname}`;
}
