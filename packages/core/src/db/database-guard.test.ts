import { createServer } from 'node:net';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseUnavailable } from '../errors';
import { openDatabase, type Database } from './open-database';
import { createDatabaseGuard, isDatabaseUnreachable } from './database-guard';

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('createDatabaseGuard', () => {
  let pglite: Database;
  beforeAll(async () => {
    pglite = await openDatabase({});
  });
  afterAll(() => pglite.close());

  it('turns a refused connection from the real driver into DatabaseUnavailable', async () => {
    const client = postgres(`postgres://postgres@127.0.0.1:${await closedPort()}/postgres`, { connect_timeout: 2, max: 1 });
    try {
      const error = await createDatabaseGuard(null)(() => client`select 1`).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DatabaseUnavailable);
      expect(isDatabaseUnreachable((error as DatabaseUnavailable).cause)).toBe(true);
    } finally {
      await client.end({ timeout: 1 });
    }
  });

  it('answers DatabaseUnavailable at the deadline when the database does not answer', async () => {
    const started = performance.now();
    await expect(createDatabaseGuard(150)(() => new Promise(() => {}))).rejects.toBeInstanceOf(DatabaseUnavailable);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('lets slow work finish while the database keeps answering other work: busy is not down', async () => {
    const guard = createDatabaseGuard(150);
    const slow = guard(() => pglite.db.execute(sql`select pg_sleep(0.5), 7 as n`));
    // Other work keeps being answered while the slow statement runs past its deadline.
    const others = (async () => {
      for (let i = 0; i < 8; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        await guard(async () => i);
      }
    })();
    await expect(slow).resolves.toMatchObject({ rows: [{ n: 7 }] });
    await others;
  });

  it('gives up on work past its deadline once nothing else has been answered for a whole deadline', async () => {
    const guard = createDatabaseGuard(150);
    await guard(async () => 'answered');
    const started = performance.now();
    await expect(guard(() => new Promise(() => {}))).rejects.toBeInstanceOf(DatabaseUnavailable);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(140);
    expect(waited).toBeLessThan(150 * 1.25 + 200);
  });

  it('passes other errors through unchanged: a bad query is not an outage', async () => {
    const error = await createDatabaseGuard(1_000)(() => pglite.db.execute(sql`select * from no_such_table`)).catch((caught: unknown) => caught);
    expect(error).not.toBeInstanceOf(DatabaseUnavailable);
    expect(isDatabaseUnreachable(error)).toBe(false);
  });

  it('returns the result of work that answers in time', async () => {
    await expect(createDatabaseGuard(1_000)(async () => 42)).resolves.toBe(42);
  });
});
