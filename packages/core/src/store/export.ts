import { and, asc, eq, gt, gte, isNull, lte } from 'drizzle-orm';
import type { Db } from '../db/db';
import { conversations, threads } from '../db/schema';
import { attachmentsByMessage, type MessageAttachment, type Role } from './messages';

export interface ExportedMessage {
  thread_id: string;
  id: number;
  role: Role;
  content: string;
  /** ISO 8601 UTC. */
  timestamp: string;
  finish_reason: string | null;
  /** Photos sent with the message, in order (fetch each by id); empty for most. */
  attachments: MessageAttachment[];
}

const PAGE = 500;

/**
 * A thread's messages, oldest first, read a page at a time by id: memory holds one page however long the
 * thread is, and a reader that stops early stops the reading.
 */
export async function* threadMessages(db: Db, userId: string, threadId: string): AsyncGenerator<ExportedMessage> {
  let after = 0;
  for (;;) {
    const rows = await db
      .select({
        id: conversations.id,
        role: conversations.role,
        content: conversations.content,
        createdAt: conversations.createdAt,
        finishReason: conversations.finishReason,
      })
      .from(conversations)
      .where(
        and(
          // The thread as a one-value range, ordered by (thread_id, id): only that index serves this order, so
          // every page is an index range, never a scan (see prepared.ts, which reads history the same way).
          gte(conversations.threadId, threadId),
          lte(conversations.threadId, threadId),
          eq(conversations.userId, userId),
          isNull(conversations.supersededAt),
          gt(conversations.id, after),
        ),
      )
      .orderBy(asc(conversations.threadId), asc(conversations.id))
      .limit(PAGE);
    const photos = await attachmentsByMessage(db, userId, rows.filter((row) => row.role === 'user').map((row) => row.id));
    for (const row of rows) {
      yield {
        thread_id: threadId,
        id: row.id,
        role: row.role,
        content: row.content,
        timestamp: (row.createdAt ?? new Date(0)).toISOString(),
        finish_reason: row.finishReason,
        attachments: photos.get(row.id) ?? [],
      };
    }
    if (rows.length < PAGE) return;
    after = rows.at(-1)!.id;
  }
}

/** Every thread of the user, by id: `{id, title, created_at}` each. */
export async function* userThreads(db: Db, userId: string): AsyncGenerator<{ id: string; title: string | null; created_at: string }> {
  let after = '';
  for (;;) {
    const rows = await db
      .select({ id: threads.id, title: threads.title, createdAt: threads.createdAt })
      .from(threads)
      .where(and(eq(threads.userId, userId), gt(threads.id, after)))
      .orderBy(asc(threads.id))
      .limit(PAGE);
    for (const row of rows) yield { id: row.id, title: row.title, created_at: row.createdAt.toISOString() };
    if (rows.length < PAGE) return;
    after = rows.at(-1)!.id;
  }
}
