import { connect, createServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newUserId, pgErrorCode, query } from '../../test/helpers';
import { openPostgresTestDatabase, type TestDatabase } from '../testing';
import { isDatabaseUnreachable } from './database-guard';
import { APP_ROLE, rowLevelSecurity } from './row-level-security';
import * as schema from './schema';

/**
 * What `patches/postgres@3.4.9.patch` changes in `begin`, seen on the wire: a plain BEGIN is not waited for,
 * and an array transaction's COMMIT goes right behind its statements. Round trips are only visible between the
 * driver and Postgres, hence the proxy; a result alone would look the same with the patch reverted.
 */
const adminUrl = process.env.TEST_DATABASE_URL;

interface Proxy {
  url: string;
  /**
   * In arrival order: the SQL of a Parse or simple Query (trimmed), `;` where a statement ends (a Sync, or a
   * simple Query), `Z` for the server's ReadyForQuery.
   */
  trace: string[];
  /** Drops the client's write holding a statement it matches and cuts the connection (both ways). */
  killOn: ((statement: string) => boolean) | undefined;
  close(): Promise<void>;
}

/** Splits a byte stream into protocol messages; the client's start-up packet alone has no type byte. */
function messages(startup: boolean): (chunk: Buffer) => [type: string, body: Buffer][] {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    const out: [string, Buffer][] = [];
    for (let head = startup ? 0 : 1; pending.length >= head + 4; head = 1) {
      const end = head + pending.readInt32BE(head);
      if (pending.length < end) break;
      out.push([startup ? '' : String.fromCharCode(pending[0]!), pending.subarray(head + 4, end)]);
      pending = pending.subarray(end);
      startup = false;
    }
    return out;
  };
}

async function countingProxy(databaseUrl: string): Promise<Proxy> {
  const target = new URL(databaseUrl);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      // Nagle's delay on these small writes would stall every round trip (what is measured is their order).
      socket.setNoDelay(true);
      sockets.add(socket);
      socket
        .on('error', () => {})
        .on('close', () => (client.destroy(), upstream.destroy(), sockets.delete(socket)));
    }
    const fromClient = messages(true);
    const fromServer = messages(false);
    client.on('data', (chunk: Buffer) => {
      const sent = fromClient(chunk).flatMap(([type, body]) => {
        if (type === 'S') return [';'];
        // A simple query (postgres.js sends `unsafe` without parameters so) is its own Sync.
        if (type === 'Q') return [body.toString('utf8', 0, body.indexOf(0)).trim(), ';'];
        if (type !== 'P') return [];
        const nameEnd = body.indexOf(0);
        return [body.toString('utf8', nameEnd + 1, body.indexOf(0, nameEnd + 1)).trim()];
      });
      if (sent.some((statement) => proxy.killOn?.(statement))) return void upstream.destroy();
      proxy.trace.push(...sent);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      for (const [type] of fromServer(chunk)) if (type === 'Z') proxy.trace.push('Z');
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(databaseUrl);
  url.host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  const proxy: Proxy = {
    url: url.toString(),
    trace: [],
    killOn: undefined,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return proxy;
}

/** What the client wrote between replies: one list per burst, each ended by the server's next ReadyForQuery. */
function bursts(trace: string[]): string[][] {
  const out: string[][] = [];
  trace.forEach((entry, i) => {
    if (entry === 'Z') return;
    if (i === 0 || trace[i - 1] === 'Z') out.push([]);
    out.at(-1)!.push(entry);
  });
  return out;
}

/** How many statements each burst held. */
const perBurst = (trace: string[]) => bursts(trace).map((burst) => burst.filter((e) => e === ';').length);

/** Each burst's SQL: a prepare:false client parses every statement each time, so it is all on the wire. */
const statements = (trace: string[]) => bursts(trace).map((burst) => burst.filter((entry) => entry !== ';'));

describe.skipIf(!adminUrl)('pipelined transactions on the wire (needs TEST_DATABASE_URL)', () => {
  let database: TestDatabase;
  let direct: postgres.Sql;
  const clients: postgres.Sql[] = [];
  const proxies: Proxy[] = [];

  /** A one-connection pool through its own proxy, connected already, so a trace holds only what a test sends. */
  async function proxied(options: { prepare?: boolean } = {}) {
    const proxy = await countingProxy(database.url!);
    proxies.push(proxy);
    const client = postgres(proxy.url, { max: 1, prepare: false, onnotice: () => {}, ...options });
    clients.push(client);
    await client`select 1`;
    return { proxy, client };
  }

  beforeAll(async () => {
    if (!adminUrl) throw new Error('unreachable: skipIf');
    database = await openPostgresTestDatabase(adminUrl);
    direct = postgres(database.url!, { max: 1, onnotice: () => {} });
    await direct`create table pipelined (txn text not null, caller text not null, n int not null, primary key (txn, n))`;
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.end({ timeout: 1 })));
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await direct?.end({ timeout: 1 });
    await database?.[Symbol.asyncDispose]();
  });

  it('a scoped single statement is one write: BEGIN, the scope, the statement and COMMIT before any reply', async () => {
    // Prepared statements, as the app runs them: a parameterised one is only pipelined once it is prepared.
    const { proxy, client } = await proxied({ prepare: true });
    const userId = newUserId('wire');
    const scoped = rowLevelSecurity(drizzle(client, { schema })).forUser(userId);
    const whoAmI = () =>
      query<{ who: string; user_id: string }>(
        scoped,
        sql`select current_user as who, current_setting('app.user_id') as user_id`,
      );
    const insert = (id: string) =>
      scoped.execute(sql`insert into threads (id, user_id, title) values (${id}, ${userId}, 'kettle')`);
    await whoAmI();
    await insert(`${userId}/warm-up`);

    for (let i = 0; i < 5; i += 1) {
      let from = proxy.trace.length;
      expect(await whoAmI()).toEqual([{ who: APP_ROLE, user_id: userId }]);
      // Unpatched: [1, 2, 1] (BEGIN; then the scope and the statement; then COMMIT, each after a reply).
      expect(perBurst(proxy.trace.slice(from))).toEqual([4]);
      from = proxy.trace.length;
      await insert(`${userId}/${i}`);
      expect(perBurst(proxy.trace.slice(from))).toEqual([4]);
    }
    const rows = await direct<{ id: string }[]>`select id from threads where user_id = ${userId} order by id`;
    expect(rows.map((row) => row.id)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `${userId}/${i}`).concat(`${userId}/warm-up`),
    );
  });

  it('a failing array transaction throws its own error, commits nothing, and sends no ROLLBACK at all', async () => {
    const { proxy, client } = await proxied();
    const insert = (tx: postgres.TransactionSql, txn: string, caller: string, n: number) =>
      tx.unsafe(`insert into pipelined values ('${txn}', '${caller}', ${n})`);
    /** F fails on 1/0 and D on a duplicate key, each second of three; o and O commit, as an array or awaited. */
    const begin = (kind: 'F' | 'D' | 'o' | 'O', txn: string) =>
      kind === 'F' || kind === 'D'
        ? client.begin((tx) => [
            insert(tx, txn, 'failing', 1),
            kind === 'D' ? insert(tx, txn, 'failing', 1) : tx.unsafe('select 1/0'),
            insert(tx, txn, 'failing', 2),
          ])
        : kind === 'o'
          ? client.begin((tx) => [insert(tx, txn, 'other', 1), insert(tx, txn, 'other', 2)])
          : client.begin(async (tx) => {
              await insert(tx, txn, 'other', 1);
              await insert(tx, txn, 'other', 2);
            });
    const run = (kind: 'F' | 'D' | 'o' | 'O', txn: string) =>
      begin(kind, txn).then(
        () => 'committed',
        (error: unknown) => pgErrorCode(error) ?? String(error),
      );
    const expected = { F: '22012', D: '23505', o: 'committed', O: 'committed' } as const;

    const from = proxy.trace.length;
    expect(await run('F', 'alone')).toBe('22012');
    // Unpatched: ['begin'], [the three], ['rollback'].
    expect(statements(proxy.trace.slice(from))).toEqual([
      [
        'begin',
        "insert into pipelined values ('alone', 'failing', 1)",
        'select 1/0',
        "insert into pipelined values ('alone', 'failing', 2)",
        'commit',
      ],
    ]);

    // One connection: a caller queued behind a failing transaction gets it the moment COMMIT's reply frees it,
    // which is when a late ROLLBACK would land in the caller's transaction. Its rows carry their transaction's
    // id: such a ROLLBACK would lose them, or, landing before them, leave them autocommitted under two ids.
    const plans = ['Fo', 'oDOF', 'FDOo', 'DO'];
    let others = 0;
    for (let i = 0; i < 200; i += 1) {
      const plan = [...plans[i % plans.length]!] as (keyof typeof expected)[];
      const outcomes = await Promise.all(plan.map((kind, k) => run(kind, `${i}-${k}`)));
      expect(outcomes, `iteration ${i}`).toEqual(plan.map((kind) => expected[kind]));
      others += plan.filter((kind) => kind === 'o' || kind === 'O').length;
    }

    expect(proxy.trace.filter((entry) => /^rollback/i.test(entry))).toEqual([]);
    expect(await direct`select 1 from pipelined where caller = 'failing'`).toHaveLength(0);
    const committed = await direct<{ rows: number; xacts: number }[]>`
      select count(*)::int as rows, count(distinct xmin::text)::int as xacts from pipelined where caller = 'other' group by txn`;
    expect(committed).toHaveLength(others);
    expect(committed.filter((txn) => txn.rows !== 2 || txn.xacts !== 1)).toEqual([]);
  });

  it('a callback transaction still runs its awaited statements in order, and a throw rolls it back', async () => {
    const { proxy, client } = await proxied();
    let from = proxy.trace.length;
    const seen = await client.begin(async (tx) => {
      await tx.unsafe(`insert into pipelined values ('callback', 'callback', 1)`);
      const [row] = await tx.unsafe<{ n: number }[]>(
        `select count(*)::int as n from pipelined where txn = 'callback'`,
      );
      return row?.n;
    });
    expect(seen).toBe(1);
    // BEGIN travels with the first statement (unpatched, alone); the rest wait for what they follow.
    expect(statements(proxy.trace.slice(from))).toEqual([
      ['begin', "insert into pipelined values ('callback', 'callback', 1)"],
      ["select count(*)::int as n from pipelined where txn = 'callback'"],
      ['commit'],
    ]);

    from = proxy.trace.length;
    const thrown = new Error('changed my mind');
    await expect(
      client.begin(async (tx) => {
        await tx.unsafe(`insert into pipelined values ('callback', 'callback', 2)`);
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    expect(statements(proxy.trace.slice(from))).toEqual([
      ['begin', "insert into pipelined values ('callback', 'callback', 2)"],
      ['rollback'],
    ]);
    expect(await direct`select n from pipelined where txn = 'callback'`).toEqual([{ n: 1 }]);
  });

  it.each([
    ['as BEGIN goes out with the first statement', 'begin'],
    // The queued statement is on no connection yet: only the connection's close can settle the transaction.
    ['while a statement waits behind one being described', 'select $1::int as first'],
    ['after BEGIN was answered', 'select 2 as second'],
  ])('a connection lost %s rejects begin() at once, and the pool works again', async (_, trigger) => {
    const { proxy, client } = await proxied();
    proxy.killOn = (statement) => statement === trigger;
    const started = performance.now();
    const work = client.begin(async (tx) => {
      await tx.unsafe('select 1 as warm');
      // A parameter on an unprepared statement: described first, so what follows queues behind it.
      const first = tx`select ${1}::int as first`;
      first.catch(() => {});
      await tx.unsafe('select 2 as second');
      await first;
    });
    // A hang fails here, not at the test's timeout.
    const error = await Promise.race([
      work.then(
        () => 'resolved',
        (caught: unknown) => caught,
      ),
      sleep(2_000, 'still pending'),
    ]);
    expect(isDatabaseUnreachable(error), String(error)).toBe(true);
    expect(performance.now() - started).toBeLessThan(2_000);

    proxy.killOn = undefined;
    // At once: no ROLLBACK of the dead transaction is queued on the connection, where it would fail the next
    // caller's BEGIN (or land in its transaction once the connection is back).
    const [[row]] = await client.begin((tx) => [tx.unsafe<{ n: number }[]>('select 4 as n')]);
    expect(row).toEqual({ n: 4 });
    await expect(client`select 5 as n`).resolves.toMatchObject([{ n: 5 }]);
  });

  it('begin with options still waits for its BEGIN, and runs at that isolation level', async () => {
    const { proxy, client } = await proxied();
    const mode = 'isolation level serializable';
    const level = `select current_setting('transaction_isolation') as level`;
    let from = proxy.trace.length;
    const [row] = await client.begin(mode, (tx) => tx.unsafe<{ level: string }[]>(level));
    expect(row).toEqual({ level: 'serializable' });
    expect(statements(proxy.trace.slice(from))).toEqual([[`begin ${mode}`], [level], ['commit']]);

    from = proxy.trace.length;
    const [[arrayRow]] = await client.begin(mode, (tx) => [tx.unsafe<{ level: string }[]>(level)]);
    expect(arrayRow).toEqual({ level: 'serializable' });
    // An array's COMMIT is still pipelined behind it; only BEGIN is waited for, as it can fail on its own.
    expect(statements(proxy.trace.slice(from))).toEqual([[`begin ${mode}`], [level, 'commit']]);
  });
});
