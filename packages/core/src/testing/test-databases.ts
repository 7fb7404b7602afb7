import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { openDatabase, type Database, type Driver } from '../db/open-database';

export interface TestDatabase extends Database, AsyncDisposable {
  /** Connection string of the fresh Postgres database, for tests that boot a whole server on it. */
  url: string | undefined;
}

export interface TestDriver {
  name: Driver;
  open(): Promise<TestDatabase>;
}

/**
 * Every store test runs on PGlite, and on real Postgres too when TEST_DATABASE_URL is set. Each `open()`
 * yields a brand-new, migrated database that is dropped on dispose.
 */
export function testDrivers(): TestDriver[] {
  // eslint-disable-next-line no-restricted-properties -- test fixtures pick their databases from the test env
  const url = process.env.TEST_DATABASE_URL;
  const drivers: TestDriver[] = [{ name: 'pglite', open: openPgliteTestDatabase }];
  if (url) drivers.push({ name: 'postgres', open: () => openPostgresTestDatabase(url) });
  return drivers;
}

export async function openPgliteTestDatabase(): Promise<TestDatabase> {
  const database = await openDatabase({});
  return { ...database, url: undefined, [Symbol.asyncDispose]: () => database.close() };
}

export async function openPostgresTestDatabase(adminUrl: string): Promise<TestDatabase> {
  const name = `fixthread_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const drop = async () => {
    await admin.unsafe(`drop database if exists "${name}" with (force)`);
    await admin.end();
  };
  let database: Database;
  try {
    await admin.unsafe(`create database "${name}"`);
    database = await openDatabase({ databaseUrl: url.toString(), maxConnections: 10 });
  } catch (error) {
    // Don't leak the database (nor the admin connection) when creating or migrating it fails.
    await drop().catch(() => {});
    throw error;
  }
  return {
    ...database,
    url: url.toString(),
    [Symbol.asyncDispose]: async () => {
      await database.close();
      await drop();
    },
  };
}
