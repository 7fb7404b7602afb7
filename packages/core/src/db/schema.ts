import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  serial,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';

/**
 * `conversations` and `user_usage` match the design note's CREATE TABLE shapes exactly, so its SQL runs
 * unchanged. Everything added is nullable or lives in its own table.
 */
export const conversations = pgTable(
  'conversations',
  {
    id: serial('id').primaryKey(),
    userId: text('user_id').notNull(),
    threadId: text('thread_id').notNull(),
    role: text('role', { enum: ['user', 'assistant'] }).notNull(),
    content: text('content').notNull(),
    createdAt: timestamp('created_at').defaultNow(),
    /** Tokens of `content` alone, so context can be budgeted without re-tokenizing the thread each turn. */
    contentTokens: integer('content_tokens'),
    /** Assistant rows: every token the turn spent across its LLM calls (tool rounds included). */
    usageTokens: integer('usage_tokens'),
    /** Assistant rows: true when the provider reported no usage and the tokenizer counted instead. */
    usageEstimated: boolean('usage_estimated'),
    /** Assistant rows: `stop`, `length`, `stopped` (user pressed stop) or `tool_limit`. */
    finishReason: text('finish_reason'),
  },
  (t) => [
    check('conversations_role_check', sql`${t.role} IN ('user', 'assistant')`),
    index('conversations_thread_id_id_idx').on(t.threadId, t.id),
    index('conversations_created_at_idx').on(t.createdAt),
  ],
);
export type ConversationRow = typeof conversations.$inferSelect;
export type NewConversationRow = typeof conversations.$inferInsert;

export const userUsage = pgTable('user_usage', {
  userId: text('user_id').primaryKey(),
  totalTokens: integer('total_tokens').default(0),
  createdAt: timestamp('created_at').defaultNow(),
  updatedAt: timestamp('updated_at').defaultNow(),
});
export type UserUsageRow = typeof userUsage.$inferSelect;

/** A source a tool found, kept so clients can credit and link it. */
export interface Source {
  title: string;
  url: string;
  kind: 'ifixit' | 'web';
}

/** Tool calls made while producing an assistant message, with what they found. */
export const toolCalls = pgTable(
  'tool_calls',
  {
    id: serial('id').primaryKey(),
    messageId: integer('message_id')
      .notNull()
      .references(() => conversations.id, { onDelete: 'cascade' }),
    userId: text('user_id').notNull(),
    name: text('name').notNull(),
    arguments: jsonb('arguments').notNull(),
    ok: boolean('ok').notNull(),
    /** The compact text the model was given. */
    result: text('result').notNull(),
    sources: jsonb('sources').$type<Source[]>().notNull().default([]),
    createdAt: timestamp('created_at').defaultNow().notNull(),
  },
  (t) => [index('tool_calls_message_id_idx').on(t.messageId)],
);
export type ToolCallRow = typeof toolCalls.$inferSelect;
export type NewToolCallRow = typeof toolCalls.$inferInsert;
