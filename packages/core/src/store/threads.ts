import { and, desc, eq, inArray, isNull, lt, notInArray, or, sql } from 'drizzle-orm';
import type { Db } from '../db/db';
import { conversations, threads, turns, type ThreadRow } from '../db/schema';
import { ValidationError } from '../errors';
import { LIVE_STATUSES } from './turns';
import { newThreadId, threadIdFor } from './thread-id';

export interface ThreadSummary {
  id: string;
  title: string | null;
  is_default: boolean;
  /** ISO 8601 UTC. */
  created_at: string;
  updated_at: string;
  last_activity: string | null;
  message_count: number;
}

export const THREAD_TITLE_MAX = 120;

/** The user's thread, or undefined for anyone else's and for an unknown id (both are 404 to the caller). */
export async function findThread(db: Db, userId: string, threadId: string): Promise<ThreadRow | undefined> {
  const [row] = await db
    .select()
    .from(threads)
    .where(and(eq(threads.id, threadId), eq(threads.userId, userId)));
  return row;
}

const activity = sql`coalesce(${threads.lastMessageAt}, ${threads.createdAt})`;

/** Newest activity first, a page at a time; the cursor is the last row's (activity, id). */
export async function listThreads(
  db: Db,
  userId: string,
  { cursor, limit }: { cursor?: string | undefined; limit: number },
): Promise<{ threads: ThreadSummary[]; next_cursor: string | null }> {
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  if (cursor !== undefined && !after) throw new ValidationError('cursor is not one this server gave', 'cursor');
  const rows = await db
    .select({
      thread: threads,
      activity: sql<string>`to_char(${activity} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
      // Spelled with the table's name: drizzle leaves columns bare, which inside this subquery would mean c's own.
      messageCount: sql<number>`(select count(*)::int from ${conversations} c
        where c.thread_id = "threads"."id" and c.user_id = "threads"."user_id" and c.superseded_at is null)`,
    })
    .from(threads)
    .where(
      and(
        eq(threads.userId, userId),
        after
          ? or(lt(activity, sql`${after.activity}::timestamptz`), and(eq(activity, sql`${after.activity}::timestamptz`), lt(threads.id, after.id)))
          : undefined,
      ),
    )
    .orderBy(desc(activity), desc(threads.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    threads: page.map(({ thread, messageCount }) => summaryOf(thread, messageCount)),
    next_cursor: rows.length > limit && last ? encodeCursor(last.activity, last.thread.id) : null,
  };
}

export async function createThread(db: Db, userId: string, title: string | null): Promise<ThreadSummary> {
  const [row] = await db
    .insert(threads)
    .values({ id: newThreadId(userId), userId, title, titleSource: title === null ? null : 'user' })
    .returning();
  return summaryOf(row!, 0);
}

export async function renameThread(db: Db, userId: string, threadId: string, title: string): Promise<ThreadSummary | undefined> {
  if (threadId === threadIdFor(userId)) await ensureDefaultThread(db, userId);
  const [row] = await db
    .update(threads)
    .set({ title, titleSource: 'user', updatedAt: sql`now()` })
    .where(and(eq(threads.id, threadId), eq(threads.userId, userId)))
    .returning();
  return row ? summaryOf(row, await messageCount(db, userId, threadId)) : undefined;
}

/** An automatic title, only where there is none yet: a user's rename always wins. */
export async function setAutoTitle(db: Db, userId: string, threadId: string, title: string): Promise<boolean> {
  const updated = await db
    .update(threads)
    .set({ title, titleSource: 'auto', updatedAt: sql`now()` })
    .where(and(eq(threads.id, threadId), eq(threads.userId, userId), isNull(threads.title)))
    .returning({ id: threads.id });
  return updated.length > 0;
}

/**
 * The thread, its messages (tool calls cascade) and its finished turns. Live turns belong to whoever runs
 * them: the caller stops them and waits first.
 */
export async function deleteThread(db: Db, userId: string, threadId: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    await tx.delete(turns).where(and(eq(turns.threadId, threadId), eq(turns.userId, userId), notInArray(turns.status, LIVE_STATUSES)));
    await tx.delete(conversations).where(and(eq(conversations.threadId, threadId), eq(conversations.userId, userId)));
    const deleted = await tx
      .delete(threads)
      .where(and(eq(threads.id, threadId), eq(threads.userId, userId)))
      .returning({ id: threads.id });
    return deleted.length > 0;
  });
}

export async function ensureDefaultThread(db: Db, userId: string): Promise<void> {
  await db.insert(threads).values({ id: threadIdFor(userId), userId }).onConflictDoNothing();
}

export async function threadTitles(db: Db, userId: string, threadIds: string[]): Promise<Map<string, string | null>> {
  if (threadIds.length === 0) return new Map();
  const rows = await db
    .select({ id: threads.id, title: threads.title })
    .from(threads)
    .where(and(eq(threads.userId, userId), inArray(threads.id, threadIds)));
  return new Map(rows.map((row) => [row.id, row.title]));
}

async function messageCount(db: Db, userId: string, threadId: string): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(conversations)
    .where(and(eq(conversations.threadId, threadId), eq(conversations.userId, userId), isNull(conversations.supersededAt)));
  return row?.count ?? 0;
}

function summaryOf(row: ThreadRow, count: number): ThreadSummary {
  return {
    id: row.id,
    title: row.title,
    is_default: row.id === threadIdFor(row.userId),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
    last_activity: row.lastMessageAt?.toISOString() ?? null,
    message_count: count,
  };
}

function encodeCursor(activity: string, id: string): string {
  return Buffer.from(JSON.stringify([activity, id])).toString('base64url');
}

function decodeCursor(cursor: string): { activity: string; id: string } | undefined {
  try {
    const [activity, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (typeof activity === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(activity))) return { activity, id };
  } catch {
    // Not one of ours.
  }
  return undefined;
}
