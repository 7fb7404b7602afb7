import type { PGlite, Transaction as PgliteTransaction } from '@electric-sql/pglite';
import { drizzle as drizzlePglite, PgliteDatabase } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import { isDatabaseUnreachable } from './database-guard';
import type { RawStatement } from './raw-rows';
import type { Db } from './db';
import * as schema from './schema';

/** Roles created by `drizzle/0005_row_level_security.sql`. */
export const APP_ROLE = 'fixthread_app';
export const MAINTENANCE_ROLE = 'fixthread_maintenance';
export const REPORTING_ROLE = 'fixthread_reporting';

/**
 * The database as the app may use it. Every statement and transaction through these handles first sets, local
 * to its own transaction, the role (so a superuser connection does not bypass the policies) and the user the
 * policies compare `user_id` with. Nothing is set on the session, so nothing leaks to the pool's next user.
 */
export interface ScopedDatabase {
  /** Queries as `fixthread_app`: only this user's rows exist, and no other user's can be written. */
  forUser(userId: string): Db;
  /**
   * Queries as `fixthread_maintenance`, which sees every user's rows: only for work that spans users (lease
   * renewal, crash recovery of dead instances' turns, pruning finished turns, sweeping unsent photos).
   */
  readonly maintenance: Db;
}

/**
 * One statement sets both, so scoping a transaction costs no extra round trip of its own (it is pipelined
 * with the transaction's first statement on Postgres).
 */
const SET_SCOPE = `select set_config('role', $1, true), set_config('app.user_id', $2, true)`;

/** Handles are kept per user, so their prepared statements (`store/prepared.ts`) are built once, not per call. */
const CACHED_USERS = 1_000;

const byDb = new WeakMap<Db, ScopedDatabase>();

/** The scoped handles over `db` (either driver), made once per database. */
export function rowLevelSecurity(db: Db): ScopedDatabase {
  let scoped = byDb.get(db);
  if (!scoped) {
    scoped =
      (db as unknown) instanceof PgliteDatabase
        ? scopes((scope) => pgliteScoped(clientOf<PGlite>(db), scope))
        : scopes((scope) => postgresScoped(clientOf<postgres.Sql>(db), scope));
    byDb.set(db, scoped);
  }
  return scoped;
}

function scopes(open: (scope: [role: string, userId: string]) => Db): ScopedDatabase {
  const users = new Map<string, Db>();
  return {
    forUser(userId) {
      let db = users.get(userId);
      if (db) {
        // Re-inserted, so the map's order is least recently used first.
        users.delete(userId);
      } else {
        db = open([APP_ROLE, userId]);
        if (users.size >= CACHED_USERS) users.delete(users.keys().next().value!);
      }
      users.set(userId, db);
      return db;
    },
    maintenance: open([MAINTENANCE_ROLE, '']),
  };
}

function clientOf<T>(db: Db): T {
  return (db as unknown as { $client: T }).$client;
}

/**
 * PGlite is one connection in process: a scoped statement is a transaction of its own (PGlite serialises
 * them), and a scoped transaction starts with the scope.
 */
function pgliteScoped(client: PGlite, scope: [string, string]): Db {
  const scoped = {
    query: (query: string, params?: unknown[], options?: object) =>
      client.transaction(async (tx) => {
        await tx.query(SET_SCOPE, scope);
        return tx.query(query, params, options);
      }),
    transaction: <T>(work: (tx: PgliteTransaction) => Promise<T>) =>
      client.transaction(async (tx) => {
        await tx.query(SET_SCOPE, scope);
        return work(tx);
      }),
  };
  return drizzlePglite(scoped as unknown as PGlite, { schema });
}

/**
 * postgres.js (patched, `patches/postgres@3.4.9.patch`): a plain BEGIN is pipelined with what follows it, and a
 * transaction given as an array of statements has its COMMIT pipelined behind them. So a scoped statement is
 * one round trip (BEGIN, the scope, the statement, COMMIT written at once), and a scoped transaction costs no
 * round trip more than its own statements. Going through `begin` rather than a reserved connection matters:
 * postgres.js settles a transaction when its connection is lost, while statements queued on a reserved
 * connection can stay pending for good, and a request waiting on them outlives the outage (the
 * database-restart suite caught that).
 *
 * Every statement is prepared (named, parsed once per connection): Drizzle prepares only what is built with
 * `.prepare()`, and the rest were parsed again on every call. The app's statements are a fixed set of shapes,
 * so the per-connection cache stays small.
 */
function postgresScoped(client: postgres.Sql, scope: [string, string]): Db {
  const prepared = (sql: postgres.Sql | postgres.TransactionSql) =>
    new Proxy(sql, {
      get: (target, property, receiver) =>
        property === 'unsafe'
          ? (query: string, params?: unknown[], options?: postgres.UnsafeQueryOptions) =>
              target.unsafe(query, params as postgres.ParameterOrJSON<never>[], { ...options, prepare: true })
          : (Reflect.get(target, property, receiver) as unknown),
    });
  const begin = <T>(work: (sql: postgres.TransactionSql) => Promise<T>) =>
    client.begin(async (sql) => {
      const scoping = sql.unsafe(SET_SCOPE, scope, { prepare: true }).execute();
      scoping.catch(() => {});
      // Not awaited first: it travels with the work's first statement. Should it fail, that statement fails
      // too (the transaction is aborted), and the scope's own error is the one worth reporting; but a lost
      // connection can leave it pending for good, and then the work's error is the one to report.
      const result = await work(prepared(sql) as postgres.TransactionSql).catch(async (error: unknown) => {
        if (!isDatabaseUnreachable(error)) await scoping;
        throw error;
      });
      await scoping;
      return result;
    }) as Promise<T>;
  /** One statement in a transaction of its own, all of it in one round trip. */
  const statement = async (query: string, params: unknown[] | undefined, options: postgres.UnsafeQueryOptions | undefined, values: boolean) => {
    const [, rows] = (await client.begin((sql) => {
      const scoping = sql.unsafe(SET_SCOPE, scope, { prepare: true });
      const work = sql.unsafe(query, params as postgres.ParameterOrJSON<never>[], { ...options, prepare: true });
      return [scoping, values ? work.values() : work];
    })) as unknown as [unknown, unknown];
    return rows;
  };
  /** Statements in one transaction of their own (`queryBatch`), all of it in one round trip. */
  const batch = async (statements: RawStatement[]) => {
    const [, ...results] = (await client.begin((sql) => [
      sql.unsafe(SET_SCOPE, scope, { prepare: true }),
      ...statements.map(({ text, params }) => sql.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true })),
    ])) as unknown as unknown[][];
    return results;
  };
  const scoped = {
    options: client.options,
    batch,
    unsafe: (query: string, params?: unknown[], options?: postgres.UnsafeQueryOptions) => ({
      then: (onFulfilled?: (rows: unknown) => unknown, onRejected?: (error: unknown) => unknown) =>
        statement(query, params, options, false).then(onFulfilled, onRejected),
      values: () => statement(query, params, options, true),
    }),
    begin,
  };
  return drizzlePostgres(scoped as unknown as postgres.Sql, { schema });
}
