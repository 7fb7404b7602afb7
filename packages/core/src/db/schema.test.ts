import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { testDrivers } from '../testing';
import { expectPgError, query, useFreshDatabase } from '../../test/helpers';
import type { Db } from './db';

interface Column {
  column_name: string;
  data_type: string;
  is_nullable: 'YES' | 'NO';
  column_default: string | null;
}

/** The design note's CREATE TABLE shapes, as information_schema reports them. */
const NOTE_COLUMNS: Record<'conversations' | 'user_usage', Column[]> = {
  conversations: [
    { column_name: 'id', data_type: 'integer', is_nullable: 'NO', column_default: "nextval('conversations_id_seq'::regclass)" },
    { column_name: 'user_id', data_type: 'text', is_nullable: 'NO', column_default: null },
    { column_name: 'thread_id', data_type: 'text', is_nullable: 'NO', column_default: null },
    { column_name: 'role', data_type: 'text', is_nullable: 'NO', column_default: null },
    { column_name: 'content', data_type: 'text', is_nullable: 'NO', column_default: null },
    { column_name: 'created_at', data_type: 'timestamp without time zone', is_nullable: 'YES', column_default: 'now()' },
  ],
  user_usage: [
    { column_name: 'user_id', data_type: 'text', is_nullable: 'NO', column_default: null },
    { column_name: 'total_tokens', data_type: 'integer', is_nullable: 'YES', column_default: '0' },
    { column_name: 'created_at', data_type: 'timestamp without time zone', is_nullable: 'YES', column_default: 'now()' },
    { column_name: 'updated_at', data_type: 'timestamp without time zone', is_nullable: 'YES', column_default: 'now()' },
  ],
};

async function columnsOf(db: Db, table: string): Promise<Column[]> {
  return query<Column>(
    db,
    sql`select column_name, data_type, is_nullable, column_default
        from information_schema.columns
        where table_schema = current_schema() and table_name = ${table}
        order by ordinal_position`,
  );
}

interface Constraint {
  conname: string;
  contype: string;
  def: string;
  cols: string;
}

async function constraintsOf(db: Db, table: string): Promise<Constraint[]> {
  // contype 'n' (catalogued NOT NULLs, Postgres 18+) is covered by is_nullable above.
  return query<Constraint>(
    db,
    sql`select c.conname, c.contype::text as contype, pg_get_constraintdef(c.oid) as def,
               (select string_agg(a.attname, ',' order by a.attnum) from pg_attribute a
                 where a.attrelid = c.conrelid and a.attnum = any(c.conkey)) as cols
        from pg_constraint c
        where c.conrelid = to_regclass(${table}) and c.contype <> 'n'
        order by c.contype, c.conname`,
  );
}

describe.each(testDrivers())('schema shape on $name', (driver) => {
  const database = useFreshDatabase(driver);

  describe.each(Object.keys(NOTE_COLUMNS) as (keyof typeof NOTE_COLUMNS)[])('%s', (table) => {
    it("has the note's columns with their types, nullability and defaults; anything extra is nullable", async () => {
      const columns = await columnsOf(database().db, table);
      const byName = new Map(columns.map((c) => [c.column_name, c]));
      for (const expected of NOTE_COLUMNS[table]) {
        expect(byName.get(expected.column_name)).toEqual(expected);
      }
      const noteNames = new Set(NOTE_COLUMNS[table].map((c) => c.column_name));
      const extras = columns.filter((c) => !noteNames.has(c.column_name));
      for (const extra of extras) expect(extra, `extra column ${extra.column_name}`).toMatchObject({ is_nullable: 'YES' });
      // The note's columns come first and in its order, so SELECT * reads like the note's table.
      expect(columns.slice(0, noteNames.size).map((c) => c.column_name)).toEqual([...noteNames]);
    });
  });

  it('conversations: PK on id, the role CHECK, and no other constraint', async () => {
    const constraints = await constraintsOf(database().db, 'conversations');
    expect(constraints.map((c) => [c.contype, c.cols])).toEqual([
      ['c', 'role'],
      ['p', 'id'],
    ]);
    const check = constraints.find((c) => c.contype === 'c')?.def ?? '';
    expect(check).toMatch(/^CHECK \(/);
    expect(check).toMatch(/\brole\b/);
    expect([...check.matchAll(/'([^']*)'/g)].map((m) => m[1]).sort()).toEqual(['assistant', 'user']);
  });

  it('user_usage: PK on user_id and nothing else', async () => {
    const constraints = await constraintsOf(database().db, 'user_usage');
    expect(constraints.map((c) => [c.contype, c.cols])).toEqual([['p', 'user_id']]);
  });

  it("accepts the note's inserts and fills the defaults", async () => {
    const { db } = database();
    const [message] = await query<{ id: number; created_at: string | null }>(
      db,
      sql.raw(`INSERT INTO conversations (user_id, thread_id, role, content) VALUES ('abc123', 'user-abc123', 'user', 'hi') RETURNING id, created_at`),
    );
    expect(message?.id).toBeGreaterThan(0);
    expect(message?.created_at).not.toBeNull();
    const [next] = await query<{ id: number }>(
      db,
      sql.raw(`INSERT INTO conversations (user_id, thread_id, role, content) VALUES ('abc123', 'user-abc123', 'assistant', 'hello') RETURNING id`),
    );
    expect(next?.id).toBe((message?.id ?? 0) + 1);
    const [usage] = await query<{ total_tokens: number; created_at: string | null; updated_at: string | null }>(
      db,
      sql.raw(`INSERT INTO user_usage (user_id) VALUES ('abc123') RETURNING total_tokens, created_at, updated_at`),
    );
    expect(usage).toMatchObject({ total_tokens: 0 });
    expect(usage?.created_at).not.toBeNull();
    expect(usage?.updated_at).toBe(usage?.created_at);
  });

  it('enforces the role CHECK, NOT NULLs and the user_usage PK', async () => {
    const { db } = database();
    await expectPgError(
      () => db.execute(sql.raw(`INSERT INTO conversations (user_id, thread_id, role, content) VALUES ('x', 'user-x', 'system', 'no')`)),
      '23514',
    );
    for (const column of ['user_id', 'thread_id', 'role', 'content']) {
      const values = { user_id: "'x'", thread_id: "'user-x'", role: "'user'", content: "'c'", [column]: 'NULL' };
      await expectPgError(
        () => db.execute(sql.raw(`INSERT INTO conversations (user_id, thread_id, role, content) VALUES (${Object.values(values).join(', ')})`)),
        '23502',
      );
    }
    await db.execute(sql.raw(`INSERT INTO user_usage (user_id, total_tokens) VALUES ('pk-user', 1)`));
    await expectPgError(() => db.execute(sql.raw(`INSERT INTO user_usage (user_id, total_tokens) VALUES ('pk-user', 2)`)), '23505');
  });
});
