import { type PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ACTIVE_SESSIONS_LAST_24H,
  COUNT_MESSAGES_PER_USER,
  TOKEN_USAGE_LEADERBOARD,
  VIEW_ALL_USER_CONVERSATIONS,
} from '../../test/design-note-queries';
import { newUserId, pgErrorCode, query, useFreshDatabase } from '../../test/helpers';
import { getAttachment } from '../store/attachments';
import { chargeModelCall } from '../store/ledger';
import { clearThread, history, stats } from '../store/messages';
import { searchMessages } from '../store/search';
import { findThread, listThreads } from '../store/threads';
import {
  findTurn,
  liveTurnCount,
  pruneFinishedTurns,
  recoverExpiredTurns,
  turnEventsAfter,
} from '../store/turns';
import { totalTokens } from '../store/usage';
import { testDrivers, type TestDatabase } from '../testing';
import type { Db } from './db';
import { APP_ROLE, REPORTING_ROLE, rowLevelSecurity } from './row-level-security';

/** Every table that holds user data, with how a row names its user (turn_events through its turn). */
const TABLES = [
  'conversations',
  'user_usage',
  'tool_calls',
  'threads',
  'turns',
  'turn_events',
  'usage_ledger',
  'attachments',
  'daily_usage',
  'turn_reservations',
] as const;
type Table = (typeof TABLES)[number];

interface Seeded {
  userId: string;
  threadId: string;
  messageId: number;
  turnId: string;
  attachmentId: string;
}

/** One row of every table for the user, written as the superuser (policies do not apply to it). */
async function seedUser(db: Db, userId: string): Promise<Seeded> {
  const threadId = `user-${userId}`;
  const turnId = `turn-${userId}`;
  const attachmentId = `att_${userId}`;
  await db.execute(sql`insert into threads (id, user_id, title) values (${threadId}, ${userId}, 'fridge')`);
  const [message] = await query<{ id: number }>(
    db,
    sql`insert into conversations (user_id, thread_id, role, content) values (${userId}, ${threadId}, 'user', 'my fridge hums') returning id`,
  );
  const messageId = message!.id;
  await db.execute(
    sql`insert into tool_calls (message_id, user_id, name, arguments, ok, result) values (${messageId}, ${userId}, 'search_ifixit', '{}', true, 'guide')`,
  );
  await db.execute(sql`insert into turns (id, user_id, thread_id, message_hash, status, owner, lease_expires_at, user_message_id)
    values (${turnId}, ${userId}, ${threadId}, 'hash', 'running', 'elsewhere', now() - interval '1 minute', ${messageId})`);
  await db.execute(
    sql`insert into turn_events (turn_id, seq, round, type, content) values (${turnId}, 1, 0, 'token', 'Unplug it')`,
  );
  await db.execute(sql`insert into usage_ledger (user_id, turn_id, round, prompt_tokens, completion_tokens, total_tokens, estimated)
    values (${userId}, ${turnId}, 0, 10, 5, 15, false)`);
  await db.execute(sql`insert into user_usage (user_id, total_tokens) values (${userId}, 15)`);
  await db.execute(sql`insert into attachments (id, user_id, message_id, position, content_type, bytes, byte_size, width, height, thumbnail, thumbnail_content_type, sha256)
    values (${attachmentId}, ${userId}, ${messageId}, 0, 'image/png', '\\x00'::bytea, 1, 1, 1, '\\x00'::bytea, 'image/webp', '00')`);
  await db.execute(sql`insert into daily_usage (user_id, day, used_tokens, reserved_tokens) values (${userId}, '2026-12-01', 15, 0)`);
  await db.execute(sql`insert into turn_reservations (turn_id, user_id, day, tokens) values (${turnId}, ${userId}, '2026-12-01', 100)`);
  return { userId, threadId, messageId, turnId, attachmentId };
}

/** Which of a table's rows are this user's. */
function rowsOf(table: Table, user: Seeded): SQL {
  return table === 'turn_events' ? sql`turn_id = ${user.turnId}` : sql`user_id = ${user.userId}`;
}

/** A statement that changes nothing but names every row it reaches. */
function touch(table: Table, user: Seeded): SQL {
  const column = table === 'turn_events' ? sql`content = content` : sql`user_id = user_id`;
  return sql`update ${sql.identifier(table)} set ${column} where ${rowsOf(table, user)} returning 1 as touched`;
}

/** A new row for the user in the table. */
function insertFor(table: Table, user: Seeded): SQL {
  const { userId, threadId, messageId, turnId } = user;
  switch (table) {
    case 'conversations':
      return sql`insert into conversations (user_id, thread_id, role, content) values (${userId}, ${threadId}, 'user', 'planted')`;
    case 'user_usage':
      return sql`insert into user_usage (user_id, total_tokens) values (${userId}, 1) on conflict (user_id) do update set total_tokens = 0`;
    case 'tool_calls':
      return sql`insert into tool_calls (message_id, user_id, name, arguments, ok, result) values (${messageId}, ${userId}, 'x', '{}', true, 'planted')`;
    case 'threads':
      return sql`insert into threads (id, user_id) values (${`${threadId}/planted`}, ${userId})`;
    case 'turns':
      return sql`insert into turns (id, user_id, thread_id, message_hash, status, owner, lease_expires_at)
        values (${`${turnId}-planted`}, ${userId}, ${threadId}, 'h', 'queued', 'me', now())`;
    case 'turn_events':
      return sql`insert into turn_events (turn_id, seq, round, type, content) values (${turnId}, 99, 0, 'token', 'planted')`;
    case 'usage_ledger':
      return sql`insert into usage_ledger (user_id, turn_id, round, prompt_tokens, completion_tokens, total_tokens, estimated)
        values (${userId}, ${turnId}, 99, 1, 1, 2, false)`;
    case 'attachments':
      return sql`insert into attachments (id, user_id, content_type, bytes, byte_size, width, height, thumbnail, thumbnail_content_type, sha256)
        values (${`att_${userId}_planted`}, ${userId}, 'image/png', '\\x00'::bytea, 1, 1, 1, '\\x00'::bytea, 'image/webp', '00')`;
    case 'daily_usage':
      return sql`insert into daily_usage (user_id, day, used_tokens, reserved_tokens) values (${userId}, '2026-12-02', 1, 0)`;
    case 'turn_reservations':
      return sql`insert into turn_reservations (turn_id, user_id, day, tokens) values (${`${turnId}-planted`}, ${userId}, '2026-12-02', 1)`;
  }
}

/** Moves one of `from`'s rows over to `to`. */
function handOver(table: Table, from: Seeded, to: Seeded): SQL {
  const column = table === 'turn_events' ? sql`turn_id = ${to.turnId}` : sql`user_id = ${to.userId}`;
  return sql`update ${sql.identifier(table)} set ${column} where ${rowsOf(table, from)}`;
}

async function count(db: Db, table: Table, user?: Seeded): Promise<number> {
  const where = user ? sql` where ${rowsOf(table, user)}` : sql``;
  const [row] = await query<{ n: number }>(
    db,
    sql`select count(*)::int as n from ${sql.identifier(table)}${where}`,
  );
  return row!.n;
}

async function rejectedCode(work: Promise<unknown>): Promise<string | undefined> {
  try {
    await work;
  } catch (error) {
    return pgErrorCode(error) ?? 'unknown';
  }
  return undefined;
}

/** 42501: insufficient_privilege, what a row-level security check raises. */
const REFUSED = '42501';

/**
 * The operator's session of the README: connected as the owner or a superuser, then `SET ROLE
 * fixthread_reporting`. Its own connection, so the role never reaches the pool the app uses.
 */
async function asReportingOperator<T>(
  database: TestDatabase,
  work: (run: (statement: string) => Promise<Record<string, unknown>[]>) => Promise<T>,
): Promise<T> {
  if (database.url) {
    const client = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      await client.unsafe(`SET ROLE ${REPORTING_ROLE}`);
      return await work(async (statement) => [...(await client.unsafe(statement))]);
    } finally {
      await client.end();
    }
  }
  const pglite = (database.db as unknown as { $client: PGlite }).$client;
  await pglite.exec(`SET ROLE ${REPORTING_ROLE}`);
  try {
    return await work(async (statement) => (await pglite.query<Record<string, unknown>>(statement)).rows);
  } finally {
    await pglite.exec('RESET ROLE');
  }
}

describe.each(testDrivers())('row-level security on $name', (driver) => {
  const database = useFreshDatabase(driver);
  let a: Seeded;
  let b: Seeded;

  beforeAll(async () => {
    const { db } = database();
    a = await seedUser(db, newUserId('a'));
    b = await seedUser(db, newUserId('b'));
  });

  it('connects as a superuser, as the tests do, and the app still runs as fixthread_app', async () => {
    const { db } = database();
    const [raw] = await query<{ who: string; superuser: boolean }>(
      db,
      sql`select current_user as who, (select rolsuper from pg_roles where rolname = current_user) as superuser`,
    );
    expect(raw).toEqual({ who: 'postgres', superuser: true });
    const [scoped] = await query<{ who: string; user_id: string }>(
      rowLevelSecurity(db).forUser(a.userId),
      sql`select current_user as who, current_setting('app.user_id') as user_id`,
    );
    expect(scoped).toEqual({ who: APP_ROLE, user_id: a.userId });
  });

  it.each([
    "o'brien",
    'back\\slash',
    'dollar$fixthread_user$; select 1; --',
    '$$',
    'ünïcödé 🔧',
    'x'.repeat(300),
  ])('passes the user id %s through unchanged, as data', async (userId) => {
    const { db } = database();
    const [row] = await query<{ user_id: string }>(
      rowLevelSecurity(db).forUser(userId),
      sql`select current_setting('app.user_id') as user_id`,
    );
    expect(row?.user_id).toBe(userId);
  });

  it('sets role and user for the transaction only: no connection of the pool keeps them', async () => {
    const { db } = database();
    const scoped = rowLevelSecurity(db).forUser(a.userId);
    await Promise.all(Array.from({ length: 20 }, () => history(scoped, a.userId, { limit: 5 })));
    await scoped.transaction(async (tx) => {
      await tx.execute(sql`select 1`);
    });
    const after = await Promise.all(
      Array.from({ length: 20 }, () =>
        query<{ who: string; user_id: string | null }>(
          db,
          sql`select current_user as who, current_setting('app.user_id', true) as user_id, pg_sleep(0.005)`,
        ),
      ),
    );
    for (const [row] of after) {
      expect(row?.who).toBe('postgres');
      expect(row?.user_id ?? '').toBe('');
    }
  });

  it('every table holding user data has row-level security enabled and forced, with policies for the three roles', async () => {
    const { db } = database();
    const tables = await query<{ name: string; enabled: boolean; forced: boolean; roles: string[] }>(
      db,
      sql`select c.relname as name, c.relrowsecurity as enabled, c.relforcerowsecurity as forced,
                 coalesce((select array_agg(distinct r.rolname order by r.rolname) from pg_policy p
                           join pg_roles r on r.oid = any(p.polroles) where p.polrelid = c.oid), '{}') as roles
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = 'public' and c.relkind = 'r' order by c.relname`,
    );
    // Every table of the schema: a new one without policies fails here, not silently in production.
    expect(tables.map((t) => t.name).sort()).toEqual([...TABLES].sort());
    for (const table of tables) {
      expect(table, table.name).toMatchObject({ enabled: true, forced: true });
      expect(table.roles, table.name).toEqual([
        'fixthread_app',
        'fixthread_maintenance',
        'fixthread_reporting',
      ]);
    }
  });

  describe('a transaction with no user set', () => {
    /** As the app's role, as the app would be if it forgot to say whose request this is. */
    function withoutUser<T>(work: (tx: Db) => Promise<T>): Promise<T> {
      return database().db.transaction(async (tx) => {
        await tx.execute(sql`select set_config('role', ${APP_ROLE}, true)`);
        return work(tx);
      });
    }

    it.each(TABLES)('sees no rows of %s and can change none', async (table) => {
      const { db } = database();
      const before = await count(db, table);
      expect(before).toBeGreaterThanOrEqual(2);
      await withoutUser(async (tx) => {
        expect(await count(tx, table)).toBe(0);
        expect(await query(tx, touch(table, a))).toEqual([]);
        expect(await query(tx, sql`delete from ${sql.identifier(table)} returning 1`)).toEqual([]);
        expect(await rejectedCode(tx.transaction((inner) => inner.execute(insertFor(table, a))))).toBe(
          REFUSED,
        );
      });
      // The empty user is no user either.
      const empty = rowLevelSecurity(db).forUser('');
      expect(await count(empty, table)).toBe(0);
      expect(await query(empty, sql`delete from ${sql.identifier(table)} returning 1`)).toEqual([]);
      expect(await count(db, table)).toBe(before);
    });
  });

  describe("user A's handle and user B's rows", () => {
    it.each(TABLES)('%s: A reads only their own rows, never B', async (table) => {
      const asA = rowLevelSecurity(database().db).forUser(a.userId);
      expect(await count(asA, table, b)).toBe(0);
      expect(await count(asA, table)).toBe(await count(asA, table, a));
      expect(await count(asA, table, a)).toBeGreaterThanOrEqual(1);
    });

    it.each(TABLES)(
      '%s: A can neither update, delete, insert for, nor hand rows over to B',
      async (table) => {
        const { db } = database();
        const asA = rowLevelSecurity(db).forUser(a.userId);
        const bRows = await count(db, table, b);
        const aRows = await count(db, table, a);
        expect(await query(asA, touch(table, b))).toEqual([]);
        expect(
          await query(asA, sql`delete from ${sql.identifier(table)} where ${rowsOf(table, b)} returning 1`),
        ).toEqual([]);
        expect(await rejectedCode(asA.execute(insertFor(table, b)))).toBe(REFUSED);
        expect(await rejectedCode(asA.execute(handOver(table, a, b)))).toBe(REFUSED);
        expect(await count(db, table, b)).toBe(bRows);
        expect(await count(db, table, a)).toBe(aRows);
      },
    );

    it("A's own rows stay A's to read and write, in a transaction too", async () => {
      const asA = rowLevelSecurity(database().db).forUser(a.userId);
      await asA.transaction(async (tx) => {
        expect(await query(tx, touch('conversations', a))).toHaveLength(1);
        await tx.execute(sql`update threads set title = 'fridge, humming' where id = ${a.threadId}`);
      });
      const [thread] = await query<{ title: string }>(
        database().db,
        sql`select title from threads where id = ${a.threadId}`,
      );
      expect(thread?.title).toBe('fridge, humming');
    });
  });

  describe("the app's own query path, connected as a superuser", () => {
    // The store's functions as the engine calls them, handed another user's id: confined by the database
    // even where a function forgot its WHERE user_id.
    it("finds none of B's data through A's handle", async () => {
      const asA = rowLevelSecurity(database().db).forUser(a.userId);
      expect(await history(asA, b.userId, { threadId: b.threadId, limit: 50 })).toEqual([]);
      expect((await stats(asA, b.userId, b.threadId)).total_messages).toBe(0);
      expect(await findTurn(asA, b.userId, b.turnId)).toBeUndefined();
      expect(await turnEventsAfter(asA, b.turnId, 0)).toEqual([]);
      expect(await liveTurnCount(asA, b.userId)).toBe(0);
      expect(await totalTokens(asA, b.userId)).toBe(0);
      expect(await findThread(asA, b.userId, b.threadId)).toBeUndefined();
      expect((await listThreads(asA, b.userId, { limit: 10 })).threads).toEqual([]);
      expect(await searchMessages(asA, b.userId, 'fridge', 10)).toEqual([]);
      expect(await getAttachment(asA, b.userId, b.attachmentId, 'full')).toBeUndefined();
    });

    it("cannot clear B's thread nor charge B through A's handle", async () => {
      const { db } = database();
      const asA = rowLevelSecurity(db).forUser(a.userId);
      const before = await count(db, 'conversations', b);
      await clearThread(asA, b.userId, b.threadId);
      expect(await count(db, 'conversations', b)).toBe(before);
      const charge = {
        round: 7,
        promptTokens: 1,
        completionTokens: 1,
        totalTokens: 2,
        cachedTokens: null,
        estimated: false,
      };
      expect(await rejectedCode(chargeModelCall(asA, b.userId, b.turnId, charge))).toBe(REFUSED);
      expect(await totalTokens(db, b.userId)).toBe(15);
    });

    it('maintenance alone spans users: recovery through a user handle leaves other users alone', async () => {
      const { db } = database();
      const scoped = rowLevelSecurity(db);
      // Both seeded turns run with a lapsed lease: each user's handle finds only its own.
      expect(await recoverExpiredTurns(scoped.forUser(newUserId('c')))).toBe(0);
      expect(await pruneFinishedTurns(scoped.forUser(newUserId('c')), 0)).toBe(0);
      expect(await recoverExpiredTurns(scoped.maintenance)).toBe(2);
      const statuses = await query<{ status: string }>(
        db,
        sql`select status from turns where id in (${a.turnId}, ${b.turnId})`,
      );
      expect(statuses.map((row) => row.status)).toEqual(['interrupted', 'interrupted']);
    });
  });

  describe('operators', () => {
    it("run the design note's four queries verbatim as fixthread_reporting and see every user", async () => {
      const { db } = database();
      const noteUser = await seedUser(db, 'abc123');
      await asReportingOperator(database(), async (run) => {
        const thread = await run(VIEW_ALL_USER_CONVERSATIONS);
        expect(thread.map((row) => row.user_id)).toEqual(['abc123']);
        expect(thread[0]?.thread_id).toBe(noteUser.threadId);
        const perUser = await run(COUNT_MESSAGES_PER_USER);
        expect(perUser.map((row) => row.user_id)).toEqual(
          expect.arrayContaining([a.userId, b.userId, 'abc123']),
        );
        const active = await run(ACTIVE_SESSIONS_LAST_24H);
        expect(active.map((row) => row.user_id)).toEqual(
          expect.arrayContaining([a.userId, b.userId, 'abc123']),
        );
        const leaders = await run(TOKEN_USAGE_LEADERBOARD);
        expect(leaders.map((row) => row.user_id)).toEqual(
          expect.arrayContaining([a.userId, b.userId, 'abc123']),
        );
      });
    });

    it('read only: the reporting role changes nothing', async () => {
      await asReportingOperator(database(), async (run) => {
        expect(await rejectedCode(run(`UPDATE user_usage SET total_tokens = 0`))).toBe(REFUSED);
        expect(await rejectedCode(run(`DELETE FROM conversations`))).toBe(REFUSED);
      });
      expect(await totalTokens(database().db, a.userId)).toBeGreaterThan(0);
    });
  });
});
