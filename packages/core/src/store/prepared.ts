import { and, asc, count, desc, eq, gte, isNull, lt, lte, max, min, sql } from 'drizzle-orm';
import type { Db } from '../db/db';
import { conversations, toolCalls, userUsage } from '../db/schema';

/**
 * Hot-path statements, prepared once per database. Unprepared Drizzle re-builds SQL on every call, which
 * measured noticeably slower per turn over postgres.js.
 */
function prepare(db: Db) {
  const threadId = sql.placeholder('threadId');
  // Reading "the newest rows of a thread" as `thread_id = $1 order by id desc` lets the planner walk the primary
  // key backwards and filter whenever a thread is a large share of the table (it assumes the thread's rows are
  // spread evenly over ids): that reads every newer row of every other user first, so a long thread gets slower
  // the more everyone else chats. Bounding thread_id as a one-value range and ordering by (thread_id, id) selects
  // the same rows (the default collation is deterministic), but only the (thread_id, id) index can serve that order.
  const inThread = and(gte(conversations.threadId, threadId), lte(conversations.threadId, threadId));
  return {
    latestMessages: db
      .select({
        id: conversations.id,
        role: conversations.role,
        content: conversations.content,
        createdAt: conversations.createdAt,
        finishReason: conversations.finishReason,
      })
      .from(conversations)
      .where(and(inThread, isNull(conversations.supersededAt)))
      .orderBy(desc(conversations.threadId), desc(conversations.id))
      .limit(sql.placeholder('limit'))
      .prepare('fixthread_latest_messages'),

    // The page before a message: scrolling back through a long thread, on the same index.
    messagesBefore: db
      .select({
        id: conversations.id,
        role: conversations.role,
        content: conversations.content,
        createdAt: conversations.createdAt,
        finishReason: conversations.finishReason,
      })
      .from(conversations)
      .where(and(inThread, isNull(conversations.supersededAt), lt(conversations.id, sql.placeholder('before'))))
      .orderBy(desc(conversations.threadId), desc(conversations.id))
      .limit(sql.placeholder('limit'))
      .prepare('fixthread_messages_before'),

    // By the replies' ids, not an id range: a range spanning a quiet user's last 50 messages would read every
    // other user's tool calls made in between.
    sourcesOf: db
      .select({ messageId: toolCalls.messageId, sources: toolCalls.sources })
      .from(toolCalls)
      .where(
        and(
          sql`${toolCalls.messageId} = any(${sql.placeholder('messageIds')}::int[])`,
          eq(toolCalls.userId, sql.placeholder('userId')),
        ),
      )
      .orderBy(asc(toolCalls.id))
      .prepare('fixthread_sources_of'),

    threadStats: db
      .select({
        total: count(),
        first: min(conversations.createdAt),
        last: max(conversations.createdAt),
      })
      .from(conversations)
      .where(and(eq(conversations.threadId, threadId), isNull(conversations.supersededAt)))
      .prepare('fixthread_thread_stats'),

    usageOf: db
      .select({ total: userUsage.totalTokens })
      .from(userUsage)
      .where(eq(userUsage.userId, sql.placeholder('userId')))
      .prepare('fixthread_usage_of'),

    insertUserMessage: db
      .insert(conversations)
      .values({
        userId: sql.placeholder('userId'),
        threadId,
        role: 'user',
        content: sql.placeholder('content'),
        contentTokens: sql.placeholder('contentTokens'),
      })
      .returning({ id: conversations.id, createdAt: conversations.createdAt })
      .prepare('fixthread_insert_user_message'),

  };
}

export type PreparedStatements = ReturnType<typeof prepare>;

const byDb = new WeakMap<Db, PreparedStatements>();

export function prepared(db: Db): PreparedStatements {
  let statements = byDb.get(db);
  if (!statements) {
    statements = prepare(db);
    byDb.set(db, statements);
  }
  return statements;
}
