import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { migrationsDir } from './migrations-dir';
import type { Db } from './db';
import * as schema from './schema';

export type Driver = 'postgres' | 'pglite';

export interface Database {
  db: Db;
  driver: Driver;
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
  if (options.migrate ?? true) await migratePostgresLocked(url, connection);
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
async function migratePostgresLocked(url: string, connection: Record<string, string>): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {}, connection });
  try {
    await client`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await migratePostgres(drizzlePostgres(client, { schema }), { migrationsFolder: migrationsDir() });
    await client`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
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
  try {
    await migratePglite(db, { migrationsFolder: migrationsDir() });
  } catch (error) {
    await client.close();
    throw error;
  }
  return {
    db,
    driver: 'pglite',
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.close(),
  };
}
