import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { conversations } from '../db/schema';
import type { Db } from '../db/db';
import { testDrivers } from '../testing';
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from '../tokens';
import { bulkInsertThread, newUserId, query, useFreshDatabase } from '../../test/helpers';
import { loadContext, type ContextMessage } from './context';
import { appendAssistantMessage, appendUserMessage, type Role } from './messages';
import { threadIdFor } from './thread-id';

interface Seeded extends ContextMessage {
  tokens: number;
}

/** Independent oracle for loadContext: newest-first greedy fill, newest always kept, leading replies dropped. */
function expectedContext(thread: Seeded[], maxTokens: number, maxMessages = 400): ContextMessage[] {
  const window = thread.slice(-maxMessages);
  const kept: Seeded[] = [];
  let used = 0;
  for (let i = window.length - 1; i >= 0; i--) {
    const message = window[i];
    if (!message) break;
    if (kept.length > 0 && used + message.tokens > maxTokens) break;
    kept.unshift(message);
    used += message.tokens;
  }
  while (kept.length > 1 && kept[0]?.role === 'assistant') kept.shift();
  return kept.map(({ role, content }) => ({ role, content }));
}

const cost = (content: string) => countTokens(content) + MESSAGE_OVERHEAD_TOKENS;
const costOf = (messages: ContextMessage[]) => messages.reduce((sum, m) => sum + cost(m.content), 0);

async function append(db: Db, userId: string, role: Role, content: string): Promise<Seeded> {
  if (role === 'user') await appendUserMessage(db, userId, content);
  else await appendAssistantMessage(db, userId, { content, usageTokens: 1, usageEstimated: false, finishReason: 'stop', toolCalls: [] });
  return { role, content, tokens: cost(content) };
}

/** Deterministic pseudo-random sizes, so the thread is irregular but reproducible. */
function sizes(count: number, seed: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return 1 + (state % 120);
  });
}

describe.each(testDrivers())('loadContext on $name', (driver) => {
  const database = useFreshDatabase(driver);

  describe('on an irregular thread of 40 messages', () => {
    const userId = newUserId();
    const thread: Seeded[] = [];

    // Interleaved with another user's messages, which must never show up.
    beforeAll(async () => {
      const { db } = database();
      const other = newUserId('other');
      for (const [i, size] of sizes(40, 7).entries()) {
        const role: Role = i % 2 === 0 ? 'user' : 'assistant';
        thread.push(await append(db, userId, role, `${role} #${i}: ${'fix the hinge '.repeat(size)}`));
        await appendUserMessage(db, other, `other #${i}`);
      }
    });

    it.each([1, 30, 137, 500, 1_000, 2_500, 100_000])('with maxTokens %i: newest messages within budget, oldest first', async (maxTokens) => {
      const { db } = database();
      const context = await loadContext(db, userId, { maxTokens });
      expect(context).toEqual(expectedContext(thread, maxTokens));

      expect(context.length).toBeGreaterThan(0);
      expect(context.at(-1)?.content).toBe(thread.at(-1)?.content);
      const indexes = context.map((m) => thread.findIndex((t) => t.content === m.content));
      expect(indexes).toEqual(indexes.map((_, k) => (indexes[0] ?? 0) + k)); // contiguous, ascending
      expect(context.some((m) => m.content.startsWith('other'))).toBe(false);
      if (context.length > 1) expect(costOf(context)).toBeLessThanOrEqual(maxTokens);
      if (context.length > 1) expect(context[0]?.role).toBe('user');
    });

    it('fits everything when the budget allows', async () => {
      const { db } = database();
      const context = await loadContext(db, userId, { maxTokens: 1_000_000 });
      expect(context.map((m) => m.content)).toEqual(thread.map((m) => m.content));
    });

    it.each([1, 2, 3, 10])('reads at most maxMessages=%i rows', async (maxMessages) => {
      const { db } = database();
      const context = await loadContext(db, userId, { maxTokens: 1_000_000, maxMessages });
      expect(context).toEqual(expectedContext(thread, 1_000_000, maxMessages));
      expect(context.length).toBeLessThanOrEqual(maxMessages);
      expect(context.at(-1)?.content).toBe(thread.at(-1)?.content);
    });
  });

  it('always includes the newest message, even far over budget', async () => {
    const { db } = database();
    const userId = newUserId();
    await append(db, userId, 'user', 'short question');
    await append(db, userId, 'assistant', 'short answer');
    const huge = await append(db, userId, 'user', `paste of a log: ${'error 0x1f at sector 4096; '.repeat(4_000)}`);
    expect(huge.tokens).toBeGreaterThan(20_000);
    expect(await loadContext(db, userId, { maxTokens: 100 })).toEqual([{ role: 'user', content: huge.content }]);
    expect(await loadContext(db, userId, { maxTokens: 0 })).toEqual([{ role: 'user', content: huge.content }]);
  });

  it('keeps a lone newest assistant message', async () => {
    const { db } = database();
    const userId = newUserId();
    await append(db, userId, 'user', 'q '.repeat(500));
    const answer = await append(db, userId, 'assistant', 'the answer');
    expect(await loadContext(db, userId, { maxTokens: answer.tokens })).toEqual([{ role: 'assistant', content: 'the answer' }]);
  });

  it('drops a leading assistant message whose question fell out of the budget', async () => {
    const { db } = database();
    const userId = newUserId();
    const q1 = await append(db, userId, 'user', `q1 ${'long question about a cracked screen '.repeat(40)}`);
    const a1 = await append(db, userId, 'assistant', 'a1 use a heat gun');
    const q2 = await append(db, userId, 'user', 'q2 which temperature?');
    const a2 = await append(db, userId, 'assistant', 'a2 about 80 degrees');
    const q3 = await append(db, userId, 'user', 'q3 thanks, and the adhesive?');
    // a1 fits the budget exactly, its question q1 does not.
    const budget = a1.tokens + q2.tokens + a2.tokens + q3.tokens;
    const context = await loadContext(db, userId, { maxTokens: budget });
    expect(context.map((m) => m.content)).toEqual([q2.content, a2.content, q3.content]);
    // With q1 back in budget the whole thread comes back, a1 included.
    const all = await loadContext(db, userId, { maxTokens: budget + q1.tokens });
    expect(all.map((m) => m.content)).toEqual([q1, a1, q2, a2, q3].map((m) => m.content));
  });

  it('is empty for an unknown user', async () => {
    const { db } = database();
    expect(await loadContext(db, newUserId(), { maxTokens: 8_000 })).toEqual([]);
  });

  it('estimates rows without content_tokens from their length', async () => {
    const { db } = database();
    const userId = newUserId();
    const content = (n: number) => `legacy ${n} `.padEnd(300, 'x');
    for (const n of [1, 2, 3, 4]) {
      await db.insert(conversations).values({ userId, threadId: threadIdFor(userId), role: n % 2 ? 'user' : 'assistant', content: content(n) });
    }
    // ceil(300 / 3) + 4 = 104 per row: 250 fits two rows (n=3 user, n=4 assistant).
    const context = await loadContext(db, userId, { maxTokens: 250 });
    expect(context.map((m) => m.content)).toEqual([content(3), content(4)]);
  });

  it('stays within budget on a long thread (20,000 messages)', async () => {
    const { db } = database();
    const userId = newUserId('long');
    const count = 20_000;
    const tokensPerMessage = 37;
    await bulkInsertThread(db, { userId, count, tokensPerMessage });
    const [seeded] = await query<{ n: number | string }>(db, sql`select count(*) as n from ${conversations} where thread_id = ${threadIdFor(userId)}`);
    expect(Number(seeded?.n)).toBe(count);

    const perMessage = tokensPerMessage + MESSAGE_OVERHEAD_TOKENS;
    const context = await loadContext(db, userId, { maxTokens: 8_000 });
    expect(context.length * perMessage).toBeLessThanOrEqual(8_000);
    // 8000 / 41 = 195 newest rows, the oldest of them (#19806) is a reply whose question fell out.
    const fitting = Math.floor(8_000 / perMessage);
    const oldest = count - fitting + 1;
    const expectedFirst = oldest % 2 === 0 ? oldest + 1 : oldest;
    expect(context).toHaveLength(count - expectedFirst + 1);
    expect(context[0]?.role).toBe('user');
    expect(context[0]?.content.startsWith(`m${expectedFirst} `)).toBe(true);
    expect(context.at(-1)?.content.startsWith(`m${count} `)).toBe(true);
    expect(context.map((m) => Number(m.content.split(' ')[0]?.slice(1)))).toEqual(context.map((_, k) => expectedFirst + k));

    // Without a token limit, the default row cap still bounds it.
    const capped = await loadContext(db, userId, { maxTokens: Number.MAX_SAFE_INTEGER });
    expect(capped.length).toBeLessThanOrEqual(400);
    expect(capped.length).toBeGreaterThanOrEqual(399);
    expect(capped.at(-1)?.content.startsWith(`m${count} `)).toBe(true);
  });
});
