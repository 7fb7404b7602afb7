import { openDatabase, type Database } from '@fixthread/core';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresBinDir, startPrivatePostgres, type PrivatePostgres } from './support/private-postgres';

/**
 * Roles are cluster-wide, migrations per database: on a cluster that has never seen FixThread, several
 * databases migrating at the same moment (as test suites and first deployments do) must all succeed, and
 * each must grant its own tables. Only a private cluster starts without the roles.
 */

const binDir = postgresBinDir(process.env.PG_BIN_DIR);
const DATABASES = 6;

if (!binDir)
  console.warn('row-level-security-roles.test.ts skipped: no PostgreSQL binaries (set PG_BIN_DIR)');

describe.skipIf(!binDir)('row-level security roles on a fresh cluster', () => {
  let pg: PrivatePostgres | undefined;
  let admin: postgres.Sql | undefined;
  const opened: Database[] = [];

  beforeAll(async () => {
    pg = await startPrivatePostgres({ binDir });
    admin = postgres(pg.url, { max: 1, onnotice: () => {} });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(opened.map((database) => database.close()));
    await admin?.end();
    await pg?.[Symbol.asyncDispose]();
  });

  it('creates the roles once while several databases migrate at once, and grants each database its tables', async () => {
    const [before] = await admin!<
      { n: number }[]
    >`select count(*)::int as n from pg_roles where rolname like 'fixthread\\_%'`;
    expect(before?.n).toBe(0);
    const urls: string[] = [];
    for (let i = 0; i < DATABASES; i++) {
      await admin!.unsafe(`create database rls_race_${i}`);
      const url = new URL(pg!.url);
      url.pathname = `/rls_race_${i}`;
      urls.push(url.toString());
    }
    const results = await Promise.allSettled(
      urls.map((url) => openDatabase({ databaseUrl: url, maxConnections: 2 })),
    );
    for (const result of results) if (result.status === 'fulfilled') opened.push(result.value);
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);

    const roles = await admin!<{ rolname: string; rolbypassrls: boolean; rolcanlogin: boolean }[]>`
      select rolname, rolbypassrls, rolcanlogin from pg_roles where rolname like 'fixthread\\_%' order by rolname`;
    expect(roles.map((role) => ({ ...role }))).toEqual([
      { rolname: 'fixthread_app', rolbypassrls: false, rolcanlogin: false },
      { rolname: 'fixthread_maintenance', rolbypassrls: false, rolcanlogin: false },
      { rolname: 'fixthread_reporting', rolbypassrls: false, rolcanlogin: false },
    ]);
    for (const url of urls) {
      const client = postgres(url, { max: 1, onnotice: () => {} });
      try {
        const [grants] = await client<{ app: boolean; reporting: boolean; reporting_writes: boolean }[]>`
          select has_table_privilege('fixthread_app', 'conversations', 'insert') as app,
                 has_table_privilege('fixthread_reporting', 'user_usage', 'select') as reporting,
                 has_table_privilege('fixthread_reporting', 'user_usage', 'update') as reporting_writes`;
        expect({ ...grants }).toEqual({ app: true, reporting: true, reporting_writes: false });
      } finally {
        await client.end();
      }
    }
  }, 120_000);
});
