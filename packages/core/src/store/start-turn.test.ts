import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { rowLevelSecurity } from '../db/row-level-security';
import { conversations } from '../db/schema';
import { testDrivers } from '../testing';
import { newUserId, useFreshDatabase } from '../../test/helpers';
import { loadContextRows } from './context';
import { startTurnNow, type Question } from './turns';

const OWNER = 'instance-a';
const WINDOW = { maxTokens: 8_000 };

describe.each(testDrivers())('startTurnNow with the context window read in its transaction, on $name', (driver) => {
  const database = useFreshDatabase(driver);

  const start = (userId: string, content: string, mode: Question['mode'] = 'ask') =>
    startTurnNow(
      rowLevelSecurity(database().db).forUser(userId),
      { id: randomUUID(), clientMessageId: null, messageHash: 'h', owner: OWNER, leaseMs: 60_000 },
      { userId, threadId: `user-${userId}`, content, contentTokens: 8, mode },
      WINDOW,
    );

  it('returns the window as a later read sees it, the question just stored last', async () => {
    const userId = newUserId();
    const db = rowLevelSecurity(database().db).forUser(userId);
    await db.insert(conversations).values([
      { userId, threadId: `user-${userId}`, role: 'user', content: 'The dryer squeaks', contentTokens: 4 },
      { userId, threadId: `user-${userId}`, role: 'assistant', content: 'Check the drum rollers', contentTokens: 5 },
    ]);
    const started = await start(userId, 'Rollers replaced, still squeaks');
    expect(started?.context?.map((row) => row.content)).toEqual(['The dryer squeaks', 'Check the drum rollers', 'Rollers replaced, still squeaks']);
    expect(started?.context?.at(-1)?.id).toBe(started?.userMessageId);
    expect(started?.context).toEqual(await loadContextRows(db, userId, { ...WINDOW, threadId: `user-${userId}` }));
  });

  it('on a busy thread stores nothing and returns undefined', async () => {
    const userId = newUserId();
    expect(await start(userId, 'first')).toBeDefined();
    expect(await start(userId, 'second, while the first runs')).toBeUndefined();
    const rows = await rowLevelSecurity(database().db).forUser(userId).select().from(conversations).where(eq(conversations.userId, userId));
    expect(rows.map((row) => row.content)).toEqual(['first']);
  });

  it("reads only the asking user's thread, with another user's beside it", async () => {
    const victim = newUserId('victim');
    expect(await start(victim, 'A private question')).toBeDefined();
    const intruder = newUserId('intruder');
    const started = await startTurnNow(
      rowLevelSecurity(database().db).forUser(intruder),
      { id: randomUUID(), clientMessageId: null, messageHash: 'h', owner: OWNER, leaseMs: 60_000 },
      { userId: intruder, threadId: `user-${intruder}`, content: 'Mine', contentTokens: 1 },
      WINDOW,
    );
    expect(started?.context?.map((row) => row.content)).toEqual(['Mine']);
  });
});
