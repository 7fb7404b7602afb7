/**
 * Session-store benchmark: is reading a turn's history and context independent of how long the thread is?
 *
 * Seeds, per driver, threads of 100, 1,000 and 100,000 messages (bulk `generate_series` inserts, with
 * `content_tokens` filled and a tool call carrying sources on every reply), then 10,000 messages of other users
 * written after them, and times `history({ limit: 50 })` and `loadContext({ maxTokens: 8000 })` on each thread,
 * interleaved. Reports median/p95, each op's median as a multiple of a raw `select 1` round trip through the
 * same driver (measured in the same run), and the ratio of the 100,000-message thread to the 100-message one
 * (and to the 1,000-message one), which should be about 1.
 *
 * Then the cost of row-level security: the same reads through the user-scoped handle (`… rls` rows), and a turn's
 * store statements scoped ÷ raw (see `turn-statements.ts`).
 *
 * Run: pnpm --filter @fixthread/core bench   (PGlite; plus Postgres in a fresh database when
 * TEST_DATABASE_URL or DATABASE_URL is set).
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../src/db/db';
import { rowLevelSecurity } from '../src/db/row-level-security';
import { loadContext } from '../src/store/context';
import { history } from '../src/store/messages';
import { threadIdFor } from '../src/store/thread-id';
import { openPgliteTestDatabase, openPostgresTestDatabase, type TestDatabase } from '../src/testing';
import { MESSAGE_OVERHEAD_TOKENS } from '../src/tokens';
import {
  benchTurnByThreadLength,
  benchTurnStatements,
  printTurnByThreadLength,
  printTurnStatements,
  type TurnByLengthResult,
  type TurnStatementsResult,
} from './turn-statements';

const SHORT = 100;
/** Past loadContext's 400-row read cap: from here on, nothing should grow with the thread. */
const MID = 1_000;
const LONG = 100_000;
const LONG_USER = 'bench-long';
const HISTORY_LIMIT = 50;
const MAX_TOKENS = 8_000;
/** 76 + 4 framing = 80 tokens a message: 8000 fits exactly 100, so both threads return the same amount of context. */
const TOKENS_PER_MESSAGE = MAX_TOKENS / SHORT - MESSAGE_OVERHEAD_TOKENS;
const WARMUP = 30;
const MAX_ITERATIONS = 500;
const TIME_BOX_MS = 5_000; // per driver, for the measured loop

interface Row {
  driver: string;
  op: string;
  thread: string;
  rows: number;
  samples: number[];
}

async function seedThread(db: Db, userId: string, count: number): Promise<void> {
  await db.execute(sql`
    insert into conversations (user_id, thread_id, role, content, content_tokens, usage_tokens, finish_reason, created_at)
    select ${userId}, ${threadIdFor(userId)},
           case when g % 2 = 1 then 'user' else 'assistant' end,
           'message ' || g || ': ' || repeat('replace the ribbon cable ', 15),
           ${TOKENS_PER_MESSAGE}::int,
           case when g % 2 = 0 then 900 end,
           case when g % 2 = 0 then 'stop' end,
           (now() at time zone 'utc') - make_interval(secs => ${count}::int - g)
    from generate_series(1, ${count}::int) as g
    order by g`);
  await db.execute(sql`
    insert into tool_calls (message_id, user_id, name, arguments, ok, result, sources)
    select id, user_id, 'search_ifixit', jsonb_build_object('query', 'ribbon cable'), true, 'Guide: ribbon cable',
           jsonb_build_array(jsonb_build_object('title', 'Ribbon cable', 'url', 'https://www.ifixit.com/Guide/' || id, 'kind', 'ifixit'))
    from conversations where thread_id = ${threadIdFor(userId)} and role = 'assistant'`);
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

const median = (samples: number[]) =>
  percentile(
    [...samples].sort((a, b) => a - b),
    50,
  );

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function benchDriver(name: string, database: TestDatabase): Promise<Row[]> {
  const { db } = database;
  const seedStart = performance.now();
  const short = 'bench-short';
  const mid = 'bench-mid';
  const long = LONG_USER;
  await seedThread(db, short, SHORT);
  await seedThread(db, mid, MID);
  await seedThread(db, long, LONG);
  // Other users' traffic in the same tables, so the long thread is not the whole table.
  for (let u = 0; u < 20; u++) await seedThread(db, `bench-noise-${u}`, 500);
  await db.execute(sql`analyze`);
  const seedMs = performance.now() - seedStart;

  const ops: { op: string; thread: string; rows: number; run: () => Promise<unknown> }[] = [];
  const add = (op: string, thread: string, run: () => Promise<{ length: number }>) =>
    ops.push({ op, thread, rows: 0, run });
  add('select 1 (baseline)', '-', async () => [await db.execute(sql`select 1`)]);
  for (const [thread, userId] of [
    [String(SHORT), short],
    [String(MID), mid],
    [String(LONG), long],
  ] as const) {
    add(`history(limit ${HISTORY_LIMIT})`, thread, () => history(db, userId, { limit: HISTORY_LIMIT }));
    add(`loadContext(${MAX_TOKENS})`, thread, () => loadContext(db, userId, { maxTokens: MAX_TOKENS }));
    // The same reads as the engine makes them: through the user's row-level-security handle.
    const scoped = rowLevelSecurity(db).forUser(userId);
    add(`history(limit ${HISTORY_LIMIT}) rls`, thread, () =>
      history(scoped, userId, { limit: HISTORY_LIMIT }),
    );
    add(`loadContext(${MAX_TOKENS}) rls`, thread, () =>
      loadContext(scoped, userId, { maxTokens: MAX_TOKENS }),
    );
  }

  // Sanity: both threads return the same amount of work, so any difference is the thread length's.
  for (const op of ops) op.rows = ((await op.run()) as { length: number }).length;

  for (let i = 0; i < WARMUP; i++) for (const op of ops) await op.run();
  const samples = ops.map(() => [] as number[]);
  const deadline = performance.now() + TIME_BOX_MS;
  // Interleaved, so drift (GC, JIT, caches) hits short and long alike.
  for (let i = 0; i < MAX_ITERATIONS && performance.now() < deadline; i++) {
    for (const [k, op] of ops.entries()) samples[k]?.push(await time(op.run));
  }
  console.log(
    `${name}: seeded ${SHORT} + ${MID.toLocaleString('en-US')} + ${LONG.toLocaleString('en-US')} + 20×500 messages (and a tool call per reply) in ${(seedMs / 1000).toFixed(1)}s`,
  );
  return ops.map((op, k) => ({
    driver: name,
    op: op.op,
    thread: op.thread,
    rows: op.rows,
    samples: samples[k] ?? [],
  }));
}

function printTable(rows: Row[]): void {
  const header = [
    'driver',
    'op',
    'thread',
    'rows',
    'n',
    'median ms',
    'p95 ms',
    '× select 1',
    'long/short',
    'long/1k',
  ];
  const lines: string[][] = [];
  for (const row of rows) {
    const sorted = [...row.samples].sort((a, b) => a - b);
    const baseline = rows.find((r) => r.driver === row.driver && r.thread === '-');
    const base = baseline ? median(baseline.samples) : Number.NaN;
    const ratioTo = (thread: number) => {
      const other = rows.find(
        (r) => r.driver === row.driver && r.op === row.op && r.thread === String(thread),
      );
      return row.thread === String(LONG) && other
        ? (median(row.samples) / median(other.samples)).toFixed(2)
        : '';
    };
    lines.push([
      row.driver,
      row.op,
      row.thread === '-' ? '-' : Number(row.thread).toLocaleString('en-US'),
      String(row.rows),
      String(sorted.length),
      percentile(sorted, 50).toFixed(3),
      percentile(sorted, 95).toFixed(3),
      row.thread === '-' ? '1.0' : (percentile(sorted, 50) / base).toFixed(1),
      ratioTo(SHORT),
      ratioTo(MID),
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of lines) console.log(fmt(line));
}

async function main(): Promise<void> {
  const started = performance.now();
  const results: Row[] = [];
  const turns: TurnStatementsResult[] = [];
  const byLength: TurnByLengthResult[] = [];
  {
    await using pglite = await openPgliteTestDatabase();
    results.push(...(await benchDriver('pglite', pglite)));
    turns.push(await benchTurnStatements('pglite', pglite.db));
    byLength.push(await benchTurnByThreadLength('pglite', pglite.db, LONG_USER, (userId, count) => seedThread(pglite.db, userId, count)));
  }
  const url = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
  if (url) {
    await using pg = await openPostgresTestDatabase(url); // a fresh database, dropped afterwards
    results.push(...(await benchDriver('postgres', pg)));
    turns.push(await benchTurnStatements('postgres', pg.db));
    byLength.push(await benchTurnByThreadLength('postgres', pg.db, LONG_USER, (userId, count) => seedThread(pg.db, userId, count)));
  } else {
    console.log('postgres: skipped (set TEST_DATABASE_URL or DATABASE_URL to include it)');
  }
  console.log('');
  printTable(results);
  console.log(
    `\nlong/short, long/1k = median on the ${LONG.toLocaleString('en-US')}-message thread ÷ median on the ${SHORT}- and ${MID.toLocaleString('en-US')}-message ones (≈ 1: cost independent of thread length).`,
  );
  printTurnStatements(turns);
  printTurnByThreadLength(byLength);
  console.log(`total ${((performance.now() - started) / 1000).toFixed(1)}s`);
}

await main();
