import { and, eq, notInArray } from 'drizzle-orm';
import type { Db } from '../db/db';
import { conversations, toolCalls, turns, type AttachmentContentType, type Source } from '../db/schema';
import { attachmentsOfMessages } from './attachments';
import { storableJson, storableText } from '../storable-text';
import { countTokens } from '../tokens';
import { prepared } from './prepared';
import { threadIdFor } from './thread-id';
import { uniqueSources } from './sources';
import { estimatedTokens } from './ledger';
import { LIVE_STATUSES, lockThread } from './turns';
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
  /** True when the server died while answering: the reply as far as it had streamed. */
  interrupted: boolean;
  /** Photos sent with the message, in order (user messages only; empty otherwise). */
  attachments: MessageAttachment[];
}

export interface MessageAttachment {
  id: string;
  content_type: AttachmentContentType;
  width: number;
  height: number;
}

export interface StoredMessage {
  id: number;
  createdAt: Date;
}

export async function appendUserMessage(db: Db, userId: string, content: string, threadId = threadIdFor(userId)): Promise<StoredMessage> {
  const [row] = await prepared(db).insertUserMessage.execute({
    userId,
    threadId,
    content,
    contentTokens: countTokens(content),
  });
  return toStored(row);
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
  /** The user's default thread when absent. */
  threadId?: string | undefined;
  /** Counted by the caller outside any transaction, when the reply is long enough for that to take a while. */
  contentTokens?: number | undefined;
}

/** The reply, its tool calls and the user's spend are written together or not at all. */
export async function appendAssistantMessage(
  db: Db,
  userId: string,
  input: AssistantMessageInput,
): Promise<StoredMessage> {
  return db.transaction(async (tx) => {
    const stored = await insertAssistantMessageIn(tx, userId, input);
    await addUsage(tx, userId, input.usageTokens);
    return stored;
  });
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * The reply and its tool calls, inside the caller's transaction; its spend is charged separately, per model
 * call, in the usage ledger.
 */
export async function insertAssistantMessageIn(tx: Tx, userId: string, input: AssistantMessageInput): Promise<StoredMessage> {
  const [row] = await tx
    .insert(conversations)
    .values({
      userId,
      threadId: input.threadId ?? threadIdFor(userId),
      role: 'assistant',
      content: input.content,
      contentTokens: input.contentTokens ?? countTokens(input.content),
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
  return stored;
}

/** The latest `limit` messages of the user's thread, oldest first. */
export interface HistoryOptions {
  limit: number;
  /** Only messages older than this id: the next page back. */
  before?: number | undefined;
  /** The user's default thread when absent; the caller has checked it is theirs. */
  threadId?: string | undefined;
}

export async function history(db: Db, userId: string, options: HistoryOptions): Promise<HistoryMessage[]> {
  const statements = prepared(db);
  const threadId = options.threadId ?? threadIdFor(userId);
  const rows =
    options.before === undefined
      ? await statements.latestMessages.execute({ threadId, limit: options.limit })
      : await statements.messagesBefore.execute({ threadId, limit: options.limit, before: options.before });
  rows.reverse();
  const replyIds = rows.filter((r) => r.role === 'assistant').map((r) => r.id);
  const questionIds = rows.filter((r) => r.role === 'user').map((r) => r.id);
  const sourcesByMessage = new Map<number, Source[]>();
  // Both keyed by the page's own ids, at most one query each, side by side.
  const [found, photos] = await Promise.all([
    replyIds.length > 0 ? statements.sourcesOf.execute({ messageIds: replyIds, userId }) : [],
    attachmentsByMessage(db, userId, questionIds),
  ]);
  for (const { messageId, sources } of found) {
    sourcesByMessage.set(messageId, [...(sourcesByMessage.get(messageId) ?? []), ...sources]);
  }
  return rows.map((row) => ({
    id: row.id,
    role: row.role,
    content: row.content,
    timestamp: toIso(row.createdAt),
    sources: uniqueSources(sourcesByMessage.get(row.id) ?? []),
    stopped: row.finishReason === 'stopped',
    interrupted: row.finishReason === 'interrupted',
    attachments: photos.get(row.id) ?? [],
  }));
}

/** The messages' photos as history and exports list them, by message id, in order. */
export async function attachmentsByMessage(db: Db, userId: string, messageIds: number[]): Promise<Map<number, MessageAttachment[]>> {
  const byMessage = new Map<number, MessageAttachment[]>();
  for (const photo of await attachmentsOfMessages(db, userId, messageIds)) {
    const listed = { id: photo.id, content_type: photo.contentType, width: photo.width, height: photo.height };
    byMessage.set(photo.messageId, [...(byMessage.get(photo.messageId) ?? []), listed]);
  }
  return byMessage;
}

/**
 * Deletes the thread's messages, their tool calls, and its turns with what they streamed. Spend in
 * `user_usage` and the usage ledger is kept: it is not content.
 */
export async function clearThread(db: Db, userId: string, threadId = threadIdFor(userId)): Promise<number> {
  return db.transaction(async (tx) => {
    await lockThread(tx, threadId);
    // Live turns belong to whoever runs them; they end on their own and their replies land after the clear.
    await tx.delete(turns).where(and(eq(turns.threadId, threadId), notInArray(turns.status, LIVE_STATUSES)));
    const deleted = await tx.delete(conversations).where(eq(conversations.threadId, threadId)).returning({ id: conversations.id });
    return deleted.length;
  });
}

export interface ThreadStats {
  user_id: string;
  thread_id: string;
  total_messages: number;
  total_tokens: number;
  /** Of `total_tokens`, how many the tokenizer estimated (the provider reported none for those calls). */
  estimated_tokens: number;
  session_start: string | null;
  last_activity: string | null;
}

export async function stats(db: Db, userId: string, threadId = threadIdFor(userId)): Promise<ThreadStats> {
  const statements = prepared(db);
  const [[thread], [usage], estimated] = await Promise.all([
    statements.threadStats.execute({ threadId }),
    statements.usageOf.execute({ userId }),
    estimatedTokens(db, userId),
  ]);
  return {
    user_id: userId,
    thread_id: threadId,
    total_messages: Number(thread?.total ?? 0),
    total_tokens: usage?.total ?? 0,
    estimated_tokens: estimated,
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
