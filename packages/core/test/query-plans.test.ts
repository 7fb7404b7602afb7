import type { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/db';
import * as schema from '../src/db/schema';
import { loadContext } from '../src/store/context';
import { history } from '../src/store/messages';
import { testDrivers, type TestDatabase } from '../src/testing';
import { bulkInsertThread, query, useFreshDatabase } from './helpers';

interface Captured {
  query: string;
  params: unknown[];
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/**
 * The same database, through a client that records every statement the store sends: through Drizzle or
 * straight to the driver (`queryRows`), so both are recorded where they meet the driver.
 */
function recording(database: TestDatabase): { db: Db; captured: Captured[]; explain: (c: Captured) => Promise<PlanNode> } {
  const captured: Captured[] = [];
  const record = (q: string, params: unknown[] | undefined) => void captured.push({ query: q, params: params ?? [] });
  const client = (database.db as unknown as { $client: unknown }).$client;
  if (database.driver === 'pglite') {
    const pglite = client as PGlite;
    const recorded = new Proxy(pglite, {
      get: (target, property) => {
        if (property === 'query') {
          return (q: string, params?: unknown[], options?: object) => (record(q, params), target.query(q, params, options));
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    return {
      db: drizzlePglite(recorded, { schema }),
      captured,
      explain: async ({ query: q, params }) => {
        const result = await pglite.query<{ 'QUERY PLAN': unknown }>(`explain (analyze, format json) ${q}`, params);
        return topPlan(result.rows[0]?.['QUERY PLAN']);
      },
    };
  }
  const pg = client as postgres.Sql;
  const recorded = new Proxy(pg, {
    get: (target, property, receiver) =>
      property === 'unsafe'
        ? (q: string, params?: unknown[], options?: postgres.UnsafeQueryOptions) =>
            (record(q, params), target.unsafe(q, params as postgres.ParameterOrJSON<never>[], options))
        : (Reflect.get(target, property, receiver) as unknown),
  });
  return {
    db: drizzlePostgres(recorded, { schema }),
    captured,
    explain: async ({ query: q, params }) => {
      const rows = await pg.unsafe(`explain (analyze, format json) ${q}`, params as postgres.ParameterOrJSON<never>[]);
      return topPlan((rows[0] as { 'QUERY PLAN'?: unknown } | undefined)?.['QUERY PLAN']);
    },
  };
}

function topPlan(raw: unknown): PlanNode {
  const parsed = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
  const plan = parsed[0]?.Plan;
  if (!plan) throw new Error('no plan');
  return plan;
}

/** Table rows the plan's scans touched (index or heap), whether they kept them or filtered them out. */
function rowsTouched(node: PlanNode): number {
  const own = node['Relation Name'] !== undefined
    ? ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) *
      (node['Actual Loops'] ?? 1)
    : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsTouched(child), 0);
}

const HEAVY = 'heavy';
const LATEST_ROUNDS = 50;
const OTHERS_BETWEEN = 100; // other users' messages between each of the heavy user's latest messages

describe.each(testDrivers())('store reads stay bounded on a long thread amid other traffic, on $name', (driver) => {
  const database = useFreshDatabase(driver);

  beforeAll(async () => {
    const { db } = database();
    // A long, older thread that is most of the table (the planner sees it as a most-common value)...
    await bulkInsertThread(db, { userId: HEAVY, count: 20_000, tokensPerMessage: 76 });
    // ...then its latest messages, each followed by 100 messages of 20 other users.
    await db.execute(sql`
      insert into conversations (user_id, thread_id, role, content, content_tokens)
      select u, 'user-' || u, case when (case when g % ${OTHERS_BETWEEN + 1} = 0 then g / ${OTHERS_BETWEEN + 1} else g end) % 2 = 1
                                   then 'user' else 'assistant' end,
             case when g % ${OTHERS_BETWEEN + 1} = 0 then 'latest ' || (g / ${OTHERS_BETWEEN + 1}) else 'noise' end, 76
      from (select g, case when g % ${OTHERS_BETWEEN + 1} = 0 then ${HEAVY} else 'other' || (g % 20) end as u
            from generate_series(1, ${LATEST_ROUNDS * (OTHERS_BETWEEN + 1)}::int) g) s
      order by g`);
    // A tool call with a source on every reply, everyone's.
    await db.execute(sql`
      insert into tool_calls (message_id, user_id, name, arguments, ok, result, sources)
      select id, user_id, 'search_ifixit', '{}'::jsonb, true, 'r',
             jsonb_build_array(jsonb_build_object('title', 't', 'url', 'https://www.ifixit.com/Guide/' || id, 'kind', 'ifixit'))
      from conversations where role = 'assistant'`);
    await db.execute(sql`analyze`);
  });

  it('history(limit 50) returns the right rows and reads about 50 of them, not the traffic in between', async () => {
    const recorder = recording(database());
    const messages = await history(recorder.db, HEAVY, { limit: 50 });
    expect(messages.map((m) => m.content)).toEqual(Array.from({ length: 50 }, (_, i) => `latest ${i + 1}`));
    const replies = messages.filter((m) => m.role === 'assistant');
    expect(replies).toHaveLength(25);
    for (const reply of replies) expect(reply.sources.map((s) => s.url)).toEqual([`https://www.ifixit.com/Guide/${reply.id}`]);
    expect(messages.filter((m) => m.role === 'user').every((m) => m.sources.length === 0)).toBe(true);

    expect(recorder.captured.length).toBeGreaterThan(0);
    let touched = 0;
    for (const statement of recorder.captured) touched += rowsTouched(await recorder.explain(statement));
    expect(touched).toBeGreaterThanOrEqual(50);
    expect(touched).toBeLessThanOrEqual(200);
  });

  it('loadContext reads at most its row cap, not the traffic in between', async () => {
    const recorder = recording(database());
    const context = await loadContext(recorder.db, HEAVY, { maxTokens: 8_000 });
    expect(context).toHaveLength(100); // 8000 / (76 + 4)
    expect(context.at(-1)?.content).toBe(`latest ${LATEST_ROUNDS}`);
    expect(recorder.captured).toHaveLength(1);
    const [statement] = recorder.captured;
    if (!statement) throw new Error('nothing captured');
    const touched = rowsTouched(await recorder.explain(statement));
    expect(touched).toBeLessThanOrEqual(2 * 400);
    const [{ n } = { n: 0 }] = await query<{ n: number | string }>(database().db, sql`select count(*) as n from conversations`);
    expect(Number(n)).toBeGreaterThan(20 * touched); // the table is far bigger than what was read
  });
});
