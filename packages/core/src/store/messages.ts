import { eq } from 'drizzle-orm';
import type { Db } from '../db/db';
import { conversations, toolCalls, type Source } from '../db/schema';
import { storableJson, storableText } from '../storable-text';
import { countTokens } from '../tokens';
import { prepared } from './prepared';
import { threadIdFor } from './thread-id';
import { uniqueSources } from './sources';
import { addUsage } from './usage';

export type Role = 'user' | 'assistant';

export interface HistoryMessage {
  id: number;
  role: Role;
  content: string;
  /** ISO 8601 UTC. */
  timestamp: string;
  /** Guides and pages the tools found for this answer (assistant messages only). */
  sources: Source[];
  /** True when the user stopped the answer before it finished. */
  stopped: boolean;
}

export interface StoredMessage {
  id: number;
  createdAt: Date;
}

export async function appendUserMessage(db: Db, userId: string, content: string): Promise<StoredMessage> {
  const [row] = await prepared(db).insertUserMessage.execute({
    userId,
    threadId: threadIdFor(userId),
    content,
    contentTokens: countTokens(content),
  });
  return toStored(row);
}

/**
 * The thread's newest message when it is this same question still waiting for a reply: the turn that stored
 * it failed or the process died. Re-sending it then answers it instead of storing it twice.
 */
export async function unansweredQuestion(db: Db, userId: string, content: string): Promise<StoredMessage | undefined> {
  const [last] = await prepared(db).latestMessages.execute({ threadId: threadIdFor(userId), limit: 1 });
  if (last?.role !== 'user' || last.content !== content) return undefined;
  return toStored(last);
}

export interface ToolCallRecord {
  name: string;
  arguments: unknown;
  ok: boolean;
  result: string;
  sources: Source[];
}

export interface AssistantMessageInput {
  content: string;
  /** Every token the turn spent, across all of its LLM calls. */
  usageTokens: number;
  usageEstimated: boolean;
  finishReason: string;
  toolCalls: ToolCallRecord[];
}

/** The reply, its tool calls and the user's spend are written together or not at all. */
export async function appendAssistantMessage(
  db: Db,
  userId: string,
  input: AssistantMessageInput,
): Promise<StoredMessage> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(conversations)
      .values({
        userId,
        threadId: threadIdFor(userId),
        role: 'assistant',
        content: input.content,
        contentTokens: countTokens(input.content),
        usageTokens: input.usageTokens,
        usageEstimated: input.usageEstimated,
        finishReason: input.finishReason,
      })
      .returning({ id: conversations.id, createdAt: conversations.createdAt });
    const stored = toStored(row);
    if (input.toolCalls.length > 0) {
      await tx.insert(toolCalls).values(
        // Tool output comes from third parties; NUL or a lone surrogate in it must not cost the reply.
        input.toolCalls.map((call) => ({
          messageId: stored.id,
          userId,
          name: storableText(call.name),
          arguments: storableJson(call.arguments ?? {}),
          ok: call.ok,
          result: storableText(call.result),
          sources: storableJson(call.sources) as Source[],
        })),
      );
    }
    await addUsage(tx, userId, input.usageTokens);
    return stored;
  });
}

/** The latest `limit` messages of the user's thread, oldest first. */
export async function history(db: Db, userId: string, options: { limit: number }): Promise<HistoryMessage[]> {
  const statements = prepared(db);
  const rows = await statements.latestMessages.execute({ threadId: threadIdFor(userId), limit: options.limit });
  rows.reverse();
  const replyIds = rows.filter((r) => r.role === 'assistant').map((r) => r.id);
  const sourcesByMessage = new Map<number, Source[]>();
  if (replyIds.length > 0) {
    const found = await statements.sourcesOf.execute({ messageIds: replyIds, userId });
    for (const { messageId, sources } of found) {
      sourcesByMessage.set(messageId, [...(sourcesByMessage.get(messageId) ?? []), ...sources]);
    }
  }
  return rows.map((row) => ({
    id: row.id,
    role: row.role,
    content: row.content,
    timestamp: toIso(row.createdAt),
    sources: uniqueSources(sourcesByMessage.get(row.id) ?? []),
    stopped: row.finishReason === 'stopped',
  }));
}

/** Deletes the thread's messages (and their tool calls). Spend in `user_usage` is kept: it is not content. */
export async function clearThread(db: Db, userId: string): Promise<number> {
  const deleted = await db
    .delete(conversations)
    .where(eq(conversations.threadId, threadIdFor(userId)))
    .returning({ id: conversations.id });
  return deleted.length;
}

export interface ThreadStats {
  user_id: string;
  thread_id: string;
  total_messages: number;
  total_tokens: number;
  session_start: string | null;
  last_activity: string | null;
}

export async function stats(db: Db, userId: string): Promise<ThreadStats> {
  const statements = prepared(db);
  const threadId = threadIdFor(userId);
  const [[thread], [usage]] = await Promise.all([
    statements.threadStats.execute({ threadId }),
    statements.usageOf.execute({ userId }),
  ]);
  return {
    user_id: userId,
    thread_id: threadId,
    total_messages: Number(thread?.total ?? 0),
    total_tokens: usage?.total ?? 0,
    session_start: thread?.first ? toIso(thread.first) : null,
    last_activity: thread?.last ? toIso(thread.last) : null,
  };
}

function toStored(row: { id: number; createdAt: Date | null } | undefined): StoredMessage {
  if (!row) throw new Error('insert returned no row');
  return { id: row.id, createdAt: row.createdAt ?? new Date() };
}

// `created_at` is nullable in the note's schema; only rows inserted by hand without it can lack one.
function toIso(value: Date | null): string {
  return (value ?? new Date(0)).toISOString();
}
