import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { appendUserMessage, history } from '../store/messages';
import { testDrivers } from '../testing';
import { query } from '../../test/helpers';
import { migrationsDir } from './migrations-dir';
import { openDatabase } from './open-database';
import type { Db } from './db';

const journal = JSON.parse(readFileSync(join(migrationsDir(), 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };

async function appliedMigrations(db: Db): Promise<number> {
  const [row] = await query<{ n: number | string }>(db, sql`select count(*) as n from drizzle.__drizzle_migrations`);
  return Number(row?.n);
}

describe('openDatabase on PGlite', () => {
  it('persists to a data directory and re-opens it (migrations applied once, session in UTC)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fixthread-pglite-'));
    try {
      const first = await openDatabase({ pgliteDir: join(dir, 'data') });
      expect(first.driver).toBe('pglite');
      await first.ping();
      await appendUserMessage(first.db, 'persist', 'kept across restarts');
      const before = await history(first.db, 'persist', { limit: 5 });
      await first.close();
      await expect(first.ping()).rejects.toThrow();

      const second = await openDatabase({ pgliteDir: join(dir, 'data') });
      try {
        expect(await history(second.db, 'persist', { limit: 5 })).toEqual(before);
        expect(await appliedMigrations(second.db)).toBe(journal.entries.length);
        const [tz] = await query<{ tz: string }>(second.db, sql`select current_setting('TimeZone') as tz`);
        expect(tz?.tz).toBe('UTC');
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const postgresDriver = testDrivers().find((d) => d.name === 'postgres');

describe('openDatabase on Postgres (needs TEST_DATABASE_URL)', () => {
  it.runIf(postgresDriver)('migrates a fresh database exactly once when several instances start together', async () => {
    // Borrow the admin URL through a disposable test database's URL: same server, other database name.
    await using scratch = await postgresDriver?.open();
    if (!scratch?.url) throw new Error('unreachable: runIf');
    const name = `fixthread_test_open_${randomBytes(4).toString('hex')}`;
    const admin = postgres(scratch.url, { max: 1, onnotice: () => {} });
    const url = new URL(scratch.url);
    url.pathname = `/${name}`;
    await admin.unsafe(`create database "${name}"`);
    try {
      const unmigrated = await openDatabase({ databaseUrl: url.toString(), migrate: false, maxConnections: 1 });
      try {
        const [row] = await query<{ t: string | null }>(unmigrated.db, sql`select to_regclass('conversations')::text as t`);
        expect(row?.t).toBeNull();
      } finally {
        await unmigrated.close();
      }

      const instances = await Promise.all(
        Array.from({ length: 4 }, () => openDatabase({ databaseUrl: url.toString(), maxConnections: 2 })),
      );
      try {
        for (const instance of instances) {
          expect(instance.driver).toBe('postgres');
          await instance.ping();
          expect(await appliedMigrations(instance.db)).toBe(journal.entries.length);
        }
        const [writer, , , reader] = instances;
        if (!writer || !reader) throw new Error('expected 4 instances');
        await appendUserMessage(writer.db, 'boot', 'hello');
        expect((await history(reader.db, 'boot', { limit: 1 })).map((m) => m.content)).toEqual(['hello']);
      } finally {
        await Promise.all(instances.map((i) => i.close()));
      }
    } finally {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end({ timeout: 5 });
    }
  });
});

describe('openDatabase reports what it did to the schema', () => {
  const tags = (journal.entries as { tag: string }[]).map((entry) => entry.tag);

  it('on PGlite: every migration applied on first open, none on the next, and where the data lives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fixthread-pglite-report-'));
    try {
      const first = await openDatabase({ pgliteDir: join(dir, 'data') });
      await first.close();
      expect(first.migrations).toEqual({ appliedNow: tags, alreadyApplied: [] });
      expect(first.location).toBe(join(dir, 'data'));

      const second = await openDatabase({ pgliteDir: join(dir, 'data') });
      await second.close();
      expect(second.migrations).toEqual({ appliedNow: [], alreadyApplied: tags });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on PGlite in memory', async () => {
    const memory = await openDatabase({});
    await memory.close();
    expect(memory.location).toBe('memory');
    expect(memory.migrations?.appliedNow).toEqual(tags);
  });

  it.runIf(postgresDriver)('on Postgres: all on a fresh database, none again, and host:port/database without credentials', async () => {
    await using fresh = await postgresDriver?.open();
    if (!fresh?.url) throw new Error('unreachable: runIf');
    expect(fresh.migrations).toEqual({ appliedNow: tags, alreadyApplied: [] });
    const url = new URL(fresh.url);
    url.username = 'postgres';
    url.password = 'not-logged';
    const again = await openDatabase({ databaseUrl: url.toString(), maxConnections: 1 });
    await again.close();
    expect(again.migrations).toEqual({ appliedNow: [], alreadyApplied: tags });
    expect(again.location).toBe(`${url.host}${url.pathname}`);
    expect(again.location).not.toContain('not-logged');
  });

  it.runIf(postgresDriver)('is null on Postgres opened without migrating', async () => {
    await using fresh = await postgresDriver?.open();
    if (!fresh?.url) throw new Error('unreachable: runIf');
    const unmigrated = await openDatabase({ databaseUrl: fresh.url, migrate: false, maxConnections: 1 });
    await unmigrated.close();
    expect(unmigrated.migrations).toBeNull();
  });
});
