import { asc, eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { conversations, toolCalls, userUsage, type Source } from '../db/schema';
import type { Db } from '../db/db';
import { testDrivers } from '../testing';
import { countTokens } from '../tokens';
import { ISO_UTC, newUserId, query, useFreshDatabase, utcMillis } from '../../test/helpers';
import {
  appendAssistantMessage,
  appendUserMessage,
  clearThread,
  history,
  stats,
  type AssistantMessageInput,
  type ToolCallRecord,
} from './messages';
import { threadIdFor } from './thread-id';
import { totalTokens } from './usage';

const source = (n: number, kind: Source['kind'] = 'ifixit'): Source => ({
  title: `Guide ${n}`,
  url: `https://www.ifixit.com/Guide/${n}`,
  kind,
});

const toolCall = (overrides: Partial<ToolCallRecord> = {}): ToolCallRecord => ({
  name: 'search_ifixit',
  arguments: { query: 'iphone 12 screen', limit: 3 },
  ok: true,
  result: '1. iPhone 12 Screen Replacement',
  sources: [source(1)],
  ...overrides,
});

const reply = (overrides: Partial<AssistantMessageInput> = {}): AssistantMessageInput => ({
  content: 'Here is how to replace it.',
  usageTokens: 120,
  usageEstimated: false,
  finishReason: 'stop',
  toolCalls: [],
  ...overrides,
});

async function threadRows(db: Db, userId: string) {
  return db.select().from(conversations).where(eq(conversations.threadId, threadIdFor(userId))).orderBy(asc(conversations.id));
}

async function toolCallRows(db: Db, userId: string) {
  return db.select().from(toolCalls).where(eq(toolCalls.userId, userId)).orderBy(asc(toolCalls.id));
}

async function usageRow(db: Db, userId: string) {
  const [row] = await db.select().from(userUsage).where(eq(userUsage.userId, userId));
  return row;
}

describe('threadIdFor', () => {
  it("names the thread as the design note does: user-{user_id}", () => {
    expect(threadIdFor('abc123')).toBe('user-abc123');
    expect(threadIdFor('42')).toBe('user-42');
  });

  it('is deterministic and distinct per user', () => {
    const ids = ['a', 'b', 'A', 'a b', 'ünï', ''].map(threadIdFor);
    expect(new Set(ids).size).toBe(ids.length);
    expect(threadIdFor('a')).toBe(threadIdFor('a'));
  });
});

describe.each(testDrivers())('message store on $name', (driver) => {
  const database = useFreshDatabase(driver);

  describe('appendUserMessage', () => {
    it('stores a user row in the user thread, with its token count', async () => {
      const { db } = database();
      const userId = newUserId();
      const content = 'My PS5 broke — it won\'t turn on. "Blue light" then 💥 off';
      const stored = await appendUserMessage(db, userId, content);

      const rows = await threadRows(db, userId);
      expect(rows).toHaveLength(1);
      const [row] = rows;
      expect(row).toMatchObject({
        id: stored.id,
        userId,
        threadId: threadIdFor(userId),
        role: 'user',
        content,
        contentTokens: countTokens(content),
        usageTokens: null,
        usageEstimated: null,
        finishReason: null,
      });
      expect(row?.contentTokens).toBeGreaterThan(5);
      expect(stored.createdAt).toBeInstanceOf(Date);
      expect(stored.createdAt.getTime()).toBe(row?.createdAt?.getTime());
    });

    it('gives increasing ids and does not touch user_usage', async () => {
      const { db } = database();
      const userId = newUserId();
      const first = await appendUserMessage(db, userId, 'one');
      const second = await appendUserMessage(db, userId, 'two');
      expect(second.id).toBeGreaterThan(first.id);
      expect((await threadRows(db, userId)).map((r) => r.content)).toEqual(['one', 'two']);
      expect(await usageRow(db, userId)).toBeUndefined();
    });

    it('counts zero tokens for empty content', async () => {
      const { db } = database();
      const userId = newUserId();
      await appendUserMessage(db, userId, '');
      const [row] = await threadRows(db, userId);
      expect(row?.contentTokens).toBe(0);
    });
  });

  describe('appendAssistantMessage', () => {
    it('writes the message, its tool calls and the spend together', async () => {
      const { db } = database();
      const userId = newUserId();
      await appendUserMessage(db, userId, 'How do I fix my iPhone screen?');
      const calls = [
        toolCall({ sources: [source(1), source(2)] }),
        toolCall({ name: 'web_search', arguments: { q: 'iphone "12" glass' }, ok: false, result: 'timeout', sources: [] }),
      ];
      const input = reply({ content: 'Replace the display assembly.', usageTokens: 345, usageEstimated: true, finishReason: 'length', toolCalls: calls });
      const stored = await appendAssistantMessage(db, userId, input);

      const rows = await threadRows(db, userId);
      expect(rows.map((r) => r.role)).toEqual(['user', 'assistant']);
      expect(rows[1]).toMatchObject({
        id: stored.id,
        userId,
        threadId: threadIdFor(userId),
        content: input.content,
        contentTokens: countTokens(input.content),
        usageTokens: 345,
        usageEstimated: true,
        finishReason: 'length',
      });

      const tools = await toolCallRows(db, userId);
      expect(tools).toHaveLength(2);
      tools.forEach((t, i) => {
        expect(t).toMatchObject({
          messageId: stored.id,
          userId,
          name: calls[i]?.name,
          arguments: calls[i]?.arguments,
          ok: calls[i]?.ok,
          result: calls[i]?.result,
          sources: calls[i]?.sources,
        });
      });

      expect((await usageRow(db, userId))?.totalTokens).toBe(345);
      await appendAssistantMessage(db, userId, reply({ usageTokens: 55 }));
      expect(await totalTokens(db, userId)).toBe(400);
    });

    it('stores {} when a tool call has no arguments, and no tool rows when there were no calls', async () => {
      const { db } = database();
      const userId = newUserId();
      await appendAssistantMessage(db, userId, reply({ toolCalls: [toolCall({ arguments: undefined })] }));
      await appendAssistantMessage(db, userId, reply({ toolCalls: [] }));
      const tools = await toolCallRows(db, userId);
      expect(tools).toHaveLength(1);
      expect(tools[0]?.arguments).toEqual({});
      expect(await totalTokens(db, userId)).toBe(240);
    });

    it('stores third-party tool output Postgres would refuse (NUL, lone surrogates) with U+FFFD instead of losing the reply', async () => {
      const { db } = database();
      const userId = newUserId();
      await appendUserMessage(db, userId, 'question');
      await appendAssistantMessage(
        db,
        userId,
        reply({
          toolCalls: [toolCall({ result: 'bad \u0000 byte \ud800', arguments: { q: 'nul \u0000', ['k\udc00']: ['\u0000'] } })],
        }),
      );
      const [tool] = await toolCallRows(db, userId);
      expect(tool?.result).toBe('bad \ufffd byte \ufffd');
      expect(tool?.arguments).toEqual({ q: 'nul \ufffd', ['k\ufffd']: ['\ufffd'] });
    });

    // Each input makes a statement after the message insert fail: the transaction must leave no trace.
    const failures: [string, AssistantMessageInput][] = [
      ['a NOT NULL tool column left null', reply({ toolCalls: [toolCall({ name: null as unknown as string })] })],
      ['a negative spend (addUsage throws after both inserts)', reply({ usageTokens: -1, toolCalls: [toolCall()] })],
    ];

    it.each(failures)('persists nothing when it fails mid-way: %s', async (_label, input) => {
      const { db } = database();
      const userId = newUserId();
      await appendUserMessage(db, userId, 'question');
      const ok = await appendAssistantMessage(db, userId, reply({ usageTokens: 10, toolCalls: [toolCall()] }));
      const before = { rows: await threadRows(db, userId), tools: await toolCallRows(db, userId), usage: await usageRow(db, userId) };

      await expect(appendAssistantMessage(db, userId, input)).rejects.toThrow();

      expect(await threadRows(db, userId)).toEqual(before.rows);
      expect(await toolCallRows(db, userId)).toEqual(before.tools);
      expect(await usageRow(db, userId)).toEqual(before.usage);
      expect(before.usage?.totalTokens).toBe(10);
      const orphans = await query<{ n: number | string }>(
        db,
        sql`select count(*) as n from ${toolCalls} t left join ${conversations} c on c.id = t.message_id where c.id is null`,
      );
      expect(Number(orphans[0]?.n)).toBe(0);

      // The failed attempt did insert its message before failing: the id it drew from the sequence is gone.
      const next = await appendUserMessage(db, userId, 'after the failure');
      expect(next.id).toBeGreaterThan(ok.id + 1);
      expect((await threadRows(db, userId)).map((r) => r.content)).toEqual(['question', 'Here is how to replace it.', 'after the failure']);
    });
  });

  describe('history', () => {
    it('returns the latest N oldest first, with UTC ISO timestamps, sources and the stopped flag', async () => {
      const { db } = database();
      const userId = newUserId();
      const other = newUserId('other');
      await appendUserMessage(db, userId, 'q1');
      await appendAssistantMessage(db, userId, reply({ content: 'a1', toolCalls: [toolCall({ sources: [source(1)] })] }));
      await appendUserMessage(db, userId, 'q2');
      // Another user's answer lands between this user's ids: its sources must not leak into this history.
      await appendAssistantMessage(db, other, reply({ content: 'other', toolCalls: [toolCall({ sources: [source(99)] })] }));
      await appendAssistantMessage(db, userId, reply({ content: 'a2', finishReason: 'stopped' }));
      await appendUserMessage(db, userId, 'q3');
      await appendAssistantMessage(
        db,
        userId,
        reply({
          content: 'a3',
          toolCalls: [
            toolCall({ sources: [source(3), source(4, 'web')] }),
            toolCall({ name: 'web_search', sources: [source(4, 'web'), source(5, 'web')] }),
          ],
        }),
      );
      await appendUserMessage(db, userId, 'q4');

      const latest = await history(db, userId, { limit: 4 });
      expect(latest.map((m) => m.content)).toEqual(['a2', 'q3', 'a3', 'q4']);
      expect(latest.map((m) => m.role)).toEqual(['assistant', 'user', 'assistant', 'user']);
      expect(latest.map((m) => m.id)).toEqual([...latest.map((m) => m.id)].sort((a, b) => a - b));
      expect(latest.map((m) => m.stopped)).toEqual([true, false, false, false]);
      expect(latest.map((m) => m.sources)).toEqual([[], [], [source(3), source(4, 'web'), source(5, 'web')], []]);

      const all = await history(db, userId, { limit: 50 });
      expect(all.map((m) => m.content)).toEqual(['q1', 'a1', 'q2', 'a2', 'q3', 'a3', 'q4']);
      expect(all[1]?.sources).toEqual([source(1)]);
      expect(all.flatMap((m) => m.sources).map((s) => s.url)).not.toContain(source(99).url);

      const raw = await query<{ id: number; epoch: number | string }>(
        db,
        sql`select id, extract(epoch from created_at) as epoch from ${conversations}
            where thread_id = ${threadIdFor(userId)} order by id`,
      );
      for (const [i, message] of all.entries()) {
        expect(message.timestamp).toMatch(ISO_UTC);
        // The stored wall clock is UTC: the ISO string must denote the same instant, not a shifted one.
        expect(Math.abs(Date.parse(message.timestamp) - Number(raw[i]?.epoch) * 1000)).toBeLessThan(1);
        expect(Math.abs(Date.parse(message.timestamp) - Date.now())).toBeLessThan(60_000);
        if (i > 0) expect(Date.parse(message.timestamp)).toBeGreaterThanOrEqual(Date.parse(all[i - 1]?.timestamp ?? ''));
      }
    });

    it('renders stored wall-clock times as the same UTC instant', async () => {
      const { db } = database();
      const userId = newUserId();
      await appendUserMessage(db, userId, 'old');
      await db.execute(sql`update ${conversations} set created_at = '2025-12-15 10:00:00.250' where thread_id = ${threadIdFor(userId)}`);
      const [message] = await history(db, userId, { limit: 1 });
      expect(message?.timestamp).toBe('2025-12-15T10:00:00.250Z');
    });

    it('is empty for an unknown user and honours limit 1', async () => {
      const { db } = database();
      expect(await history(db, newUserId(), { limit: 50 })).toEqual([]);
      const userId = newUserId();
      await appendUserMessage(db, userId, 'first');
      await appendAssistantMessage(db, userId, reply({ content: 'last' }));
      expect((await history(db, userId, { limit: 1 })).map((m) => m.content)).toEqual(['last']);
    });
  });

  describe('clearThread', () => {
    it("deletes only that user's thread and tool calls, and keeps user_usage", async () => {
      const { db } = database();
      const alice = newUserId('alice');
      const bob = newUserId('bob');
      for (const userId of [alice, bob]) {
        await appendUserMessage(db, userId, `hi from ${userId}`);
        await appendAssistantMessage(db, userId, reply({ usageTokens: 70, toolCalls: [toolCall(), toolCall()] }));
        await appendUserMessage(db, userId, 'thanks');
      }
      const bobBefore = { rows: await threadRows(db, bob), tools: await toolCallRows(db, bob), usage: await usageRow(db, bob) };
      const aliceUsage = await usageRow(db, alice);

      expect(await clearThread(db, alice)).toBe(3);

      expect(await threadRows(db, alice)).toEqual([]);
      expect(await toolCallRows(db, alice)).toEqual([]);
      expect(await history(db, alice, { limit: 50 })).toEqual([]);
      expect(await usageRow(db, alice)).toEqual(aliceUsage);
      expect(aliceUsage?.totalTokens).toBe(70);

      expect(await threadRows(db, bob)).toEqual(bobBefore.rows);
      expect(await toolCallRows(db, bob)).toEqual(bobBefore.tools);
      expect(await usageRow(db, bob)).toEqual(bobBefore.usage);

      expect(await clearThread(db, alice)).toBe(0);
      await appendUserMessage(db, alice, 'fresh start');
      expect((await history(db, alice, { limit: 50 })).map((m) => m.content)).toEqual(['fresh start']);
    });
  });

  describe('stats', () => {
    it('reports zero and nulls for an empty thread', async () => {
      const { db } = database();
      const userId = newUserId();
      expect(await stats(db, userId)).toEqual({
        user_id: userId,
        thread_id: threadIdFor(userId),
        total_messages: 0,
        total_tokens: 0,
        estimated_tokens: 0,
        session_start: null,
        last_activity: null,
      });
    });

    it('counts messages, spend and first/last activity in UTC', async () => {
      const { db } = database();
      const userId = newUserId();
      await appendUserMessage(db, userId, 'q1');
      await appendAssistantMessage(db, userId, reply({ usageTokens: 300 }));
      await appendUserMessage(db, userId, 'q2');
      await appendAssistantMessage(db, userId, reply({ usageTokens: 200 }));
      await appendUserMessage(db, userId, 'q3');
      // Give the rows known wall-clock times, deliberately out of id order.
      const times = ['2025-12-03 09:00:00', '2025-12-01 08:00:00', '2025-12-15 14:30:00.5', '2025-12-10 00:00:00', '2025-12-02 23:59:59'];
      for (const [i, row] of (await threadRows(db, userId)).entries()) {
        await db.execute(sql`update ${conversations} set created_at = ${times[i]}::timestamp where id = ${row.id}`);
      }

      const s = await stats(db, userId);
      expect(s).toEqual({
        user_id: userId,
        thread_id: threadIdFor(userId),
        total_messages: 5,
        total_tokens: 500,
        estimated_tokens: 0,
        session_start: '2025-12-01T08:00:00.000Z',
        last_activity: '2025-12-15T14:30:00.500Z',
      });
    });

    it('keeps the spend but resets the counts after clearThread', async () => {
      const { db } = database();
      const userId = newUserId();
      await appendUserMessage(db, userId, 'q');
      await appendAssistantMessage(db, userId, reply({ usageTokens: 77 }));
      const live = await stats(db, userId);
      expect(live.total_messages).toBe(2);
      expect(live.session_start).toMatch(ISO_UTC);
      expect(live.last_activity).toMatch(ISO_UTC);
      expect(utcMillis(live.last_activity)).toBeGreaterThanOrEqual(utcMillis(live.session_start));
      await clearThread(db, userId);
      expect(await stats(db, userId)).toMatchObject({ total_messages: 0, total_tokens: 77, session_start: null, last_activity: null });
    });
  });

  it('keeps 10 users appending in parallel in their own threads and nowhere else', async () => {
    const { db } = database();
    const users = Array.from({ length: 10 }, (_, i) => newUserId(`par${i}`));
    const rounds = 5;
    await Promise.all(
      users.map(async (userId, u) => {
        for (let r = 0; r < rounds; r++) {
          await appendUserMessage(db, userId, `${userId} q${r}`);
          await appendAssistantMessage(
            db,
            userId,
            reply({ content: `${userId} a${r}`, usageTokens: u + 1, toolCalls: [toolCall({ result: `${userId} r${r}` })] }),
          );
        }
      }),
    );

    for (const [u, userId] of users.entries()) {
      const messages = await history(db, userId, { limit: 100 });
      expect(messages.map((m) => m.content)).toEqual(
        Array.from({ length: rounds }, (_, r) => [`${userId} q${r}`, `${userId} a${r}`]).flat(),
      );
      const rows = await threadRows(db, userId);
      expect(rows.every((row) => row.userId === userId)).toBe(true);
      const tools = await toolCallRows(db, userId);
      expect(tools.map((t) => t.result)).toEqual(Array.from({ length: rounds }, (_, r) => `${userId} r${r}`));
      expect(tools.every((t) => rows.some((row) => row.id === t.messageId && row.role === 'assistant'))).toBe(true);
      expect(await totalTokens(db, userId)).toBe(rounds * (u + 1));
    }

    const ids = sql.join(users.map((u) => sql`${u}`), sql`, `);
    const [strays] = await query<{ n: number | string }>(
      db,
      sql`select count(*) as n from ${conversations}
          where (user_id in (${ids}) or thread_id in (${sql.join(users.map((u) => sql`${threadIdFor(u)}`), sql`, `)}))
            and thread_id <> 'user-' || user_id`,
    );
    expect(Number(strays?.n)).toBe(0);
    const [mismatched] = await query<{ n: number | string }>(
      db,
      sql`select count(*) as n from ${toolCalls} t join ${conversations} c on c.id = t.message_id where t.user_id <> c.user_id`,
    );
    expect(Number(mismatched?.n)).toBe(0);
  });
});
