import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { appendUserMessage, history } from '../src/store/messages';
import { testDrivers } from '../src/testing';

// The fixtures under test read the same variable.
const adminUrl = process.env.TEST_DATABASE_URL;

describe('testDrivers', () => {
  it('always offers PGlite, and Postgres exactly when TEST_DATABASE_URL is set', () => {
    expect(testDrivers().map((d) => d.name)).toEqual(adminUrl ? ['pglite', 'postgres'] : ['pglite']);
  });
});

describe.each(testDrivers())('test databases on $name', (driver) => {
  it('are fresh, migrated and isolated from each other', async () => {
    await using first = await driver.open();
    await using second = await driver.open();
    expect(first.driver).toBe(driver.name);
    await first.ping();
    await appendUserMessage(first.db, 'same-user', 'only in the first');
    expect((await history(first.db, 'same-user', { limit: 5 })).map((m) => m.content)).toEqual(['only in the first']);
    expect(await history(second.db, 'same-user', { limit: 5 })).toEqual([]);
    if (driver.name === 'postgres') expect(first.url).not.toBe(second.url);
  });

  it('are really closed (and on Postgres dropped) on dispose', async () => {
    let url: string | undefined;
    let closed: Awaited<ReturnType<typeof driver.open>> | undefined;
    {
      await using database = await driver.open();
      await database.db.execute(sql`select 1`);
      url = database.url;
      closed = database;
    }
    await expect(closed.ping()).rejects.toThrow();
    if (driver.name === 'postgres') {
      if (!url || !adminUrl) throw new Error('postgres test database without url');
      const name = decodeURIComponent(new URL(url).pathname.slice(1));
      expect(name).toMatch(/^fixthread_test_/);
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        const rows = await admin`select 1 from pg_database where datname = ${name}`;
        expect(rows).toHaveLength(0);
      } finally {
        await admin.end({ timeout: 5 });
      }
    } else {
      expect(url).toBeUndefined();
    }
  });
});
