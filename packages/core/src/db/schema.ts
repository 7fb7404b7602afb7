import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  customType,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/*
 * Every table holds user data, so every one has row-level security enabled (and forced). The roles and
 * policies are in the custom migration drizzle/0005_row_level_security.sql: roles are cluster-wide and must be
 * created idempotently, which drizzle-kit's generated CREATE ROLE is not. See db/row-level-security.ts.
 */

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
    /**
     * Set when a regenerated answer or an edited question replaced this row: kept, but hidden from history,
     * search and the model's context.
     */
    supersededAt: timestamp('superseded_at'),
  },
  (t) => [
    check('conversations_role_check', sql`${t.role} IN ('user', 'assistant')`),
    index('conversations_thread_id_id_idx').on(t.threadId, t.id),
    index('conversations_created_at_idx').on(t.createdAt),
    // Full-text search over a user's messages; queries must repeat this exact expression to use it.
    index('conversations_content_search_idx').using('gin', sql`to_tsvector('english', ${t.content})`),
    index('conversations_user_id_id_idx').on(t.userId, t.id),
  ],
).enableRLS();
export type ConversationRow = typeof conversations.$inferSelect;
export type NewConversationRow = typeof conversations.$inferInsert;

export const userUsage = pgTable('user_usage', {
  userId: text('user_id').primaryKey(),
  totalTokens: integer('total_tokens').default(0),
  createdAt: timestamp('created_at').defaultNow(),
  updatedAt: timestamp('updated_at').defaultNow(),
}).enableRLS();
export type UserUsageRow = typeof userUsage.$inferSelect;

/** A source a tool found, kept so clients can credit and link it. */
export interface Source {
  title: string;
  url: string;
  kind: 'ifixit' | 'web';
  /*
   * iFixit guides only, and optional: rows stored before these were recorded lack them, and the jsonb needs no
   * migration to gain them.
   */
  /** The device, iFixit's `category`: `iPhone 12`. */
  device?: string;
  /** The part the guide is about: `Screen`. */
  subject?: string;
  /** iFixit's wording: `Moderate`. */
  difficulty?: string;
  /** iFixit's wording: `1 - 2 hours`. */
  time_required?: string;
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
  (t) => [index('tool_calls_message_id_idx').on(t.messageId), index('tool_calls_user_id_idx').on(t.userId)],
).enableRLS();
export type ToolCallRow = typeof toolCalls.$inferSelect;
export type NewToolCallRow = typeof toolCalls.$inferInsert;

/**
 * A user's conversations. The design note's thread, `user-{user_id}`, is the default one, created on first
 * use; others are `user-{user_id}/{random}`, so the note's per-user queries still group them. Ownership is
 * `user_id`, never the shape of the id.
 */
export const threads = pgTable(
  'threads',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    title: text('title'),
    /** `user` once renamed: an automatic title never replaces it. */
    titleSource: text('title_source', { enum: ['auto', 'user'] }),
    createdAt: timestamp('created_at', { withTimezone: true }).defaultNow().notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).defaultNow().notNull(),
    lastMessageAt: timestamp('last_message_at', { withTimezone: true }),
  },
  (t) => [
    check('threads_title_source_check', sql`${t.titleSource} IN ('auto', 'user')`),
    index('threads_user_id_activity_idx').on(
      t.userId,
      sql`coalesce(${t.lastMessageAt}, ${t.createdAt}) desc`,
      t.id,
    ),
  ],
).enableRLS();
export type ThreadRow = typeof threads.$inferSelect;

export const TURN_STATUSES = ['queued', 'running', 'completed', 'failed', 'stopped', 'interrupted'] as const;
export type TurnStatus = (typeof TURN_STATUSES)[number];

/**
 * One chat turn from the moment it is asked for: the record that makes sends idempotent, lets any process
 * resume or recover it, and serializes a thread's turns across processes. `owner` is the instance running
 * it, which renews `lease_expires_at` while it does; a turn whose lease lapsed belongs to a dead instance.
 */
export const turns = pgTable(
  'turns',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    threadId: text('thread_id').notNull(),
    /** The client's idempotency key (`Idempotency-Key` / `clientMessageId`), unique per user. */
    clientMessageId: text('client_message_id'),
    /** SHA-256 of the message: a reused key with another message is refused without keeping the text twice. */
    messageHash: text('message_hash').notNull(),
    userMessageId: integer('user_message_id').references(() => conversations.id, { onDelete: 'set null' }),
    assistantMessageId: integer('assistant_message_id').references(() => conversations.id, {
      onDelete: 'set null',
    }),
    status: text('status', { enum: TURN_STATUSES }).notNull(),
    owner: text('owner').notNull(),
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }).notNull(),
    /** Set by a stop asked on any instance; the owner sees it when it next renews its leases. */
    stopRequestedAt: timestamp('stop_requested_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).defaultNow().notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
    usageTokens: integer('usage_tokens'),
    usageEstimated: boolean('usage_estimated'),
    /** For failed turns: the typed error's code and message, so a retry with the same key gets the same error. */
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
  },
  (t) => [
    check(
      'turns_status_check',
      sql`${t.status} IN ('queued', 'running', 'completed', 'failed', 'stopped', 'interrupted')`,
    ),
    uniqueIndex('turns_user_client_message_id_key').on(t.userId, t.clientMessageId),
    // At most one running turn per thread, whichever process starts it: the database arbitrates, without a
    // lock or a read first, so starting a turn on a free thread is one statement.
    uniqueIndex('turns_one_running_per_thread')
      .on(t.threadId)
      .where(sql`${t.status} = 'running'`),
    index('turns_thread_id_status_idx').on(t.threadId, t.status),
    index('turns_status_lease_idx').on(t.status, t.leaseExpiresAt),
  ],
).enableRLS();
export type TurnRow = typeof turns.$inferSelect;

/**
 * What a turn streamed, written in coalesced chunks before readers see them (so a reader never sees text that
 * a crash could lose). Event ids are `<turn id>:<seq>`.
 */
export const turnEvents = pgTable(
  'turn_events',
  {
    turnId: text('turn_id')
      .notNull()
      .references(() => turns.id, { onDelete: 'cascade' }),
    seq: integer('seq').notNull(),
    /** The model call that produced it: what recovery charges for the rounds the owner never charged. */
    round: integer('round').notNull(),
    type: text('type', { enum: ['status', 'token'] }).notNull(),
    content: text('content').notNull(),
  },
  (t) => [primaryKey({ columns: [t.turnId, t.seq] })],
).enableRLS();
export type TurnEventRow = typeof turnEvents.$inferSelect;

/**
 * One row per model call, written in the same transaction as the change to `user_usage`, so a user's
 * `total_tokens` is always the sum of their rows. `(turn_id, round)` is unique: nothing is charged twice.
 */
export const usageLedger = pgTable(
  'usage_ledger',
  {
    id: serial('id').primaryKey(),
    userId: text('user_id').notNull(),
    /** Not a foreign key: the charge outlives a cleared thread and its turns. */
    turnId: text('turn_id').notNull(),
    round: integer('round').notNull(),
    promptTokens: integer('prompt_tokens').notNull(),
    completionTokens: integer('completion_tokens').notNull(),
    totalTokens: integer('total_tokens').notNull(),
    cachedTokens: integer('cached_tokens'),
    /** True when the tokenizer counted because the provider reported nothing (stopped, cut off, offline). */
    estimated: boolean('estimated').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).defaultNow().notNull(),
  },
  (t) => [
    index('usage_ledger_user_id_idx').on(t.userId),
    uniqueIndex('usage_ledger_turn_id_round_key').on(t.turnId, t.round),
  ],
).enableRLS();
export type UsageLedgerRow = typeof usageLedger.$inferSelect;

/**
 * A user's tokens per UTC day, for DAILY_TOKEN_QUOTA: `used_tokens` grows with every ledger row, in its
 * transaction; `reserved_tokens` is what turns still running set aside before calling the model (the sum of
 * their `turn_reservations`). The row lock of one conditional upsert serializes admissions.
 */
export const dailyUsage = pgTable(
  'daily_usage',
  {
    userId: text('user_id').notNull(),
    /** The UTC day, `YYYY-MM-DD`. */
    day: date('day', { mode: 'string' }).notNull(),
    usedTokens: integer('used_tokens').default(0).notNull(),
    reservedTokens: integer('reserved_tokens').default(0).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).defaultNow().notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.day] }), check('daily_usage_reserved_non_negative', sql`${t.reservedTokens} >= 0`)],
).enableRLS();
export type DailyUsageRow = typeof dailyUsage.$inferSelect;

/**
 * What one turn set aside of its user's day. Not a foreign key to `turns`: it is written before the turn row
 * exists, and released when the turn closes (or by the sweep, when its process died before the turn began).
 */
export const turnReservations = pgTable(
  'turn_reservations',
  {
    turnId: text('turn_id').primaryKey(),
    userId: text('user_id').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    tokens: integer('tokens').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).defaultNow().notNull(),
  },
  (t) => [index('turn_reservations_user_id_idx').on(t.userId)],
).enableRLS();

/**
 * `bytea` as a Buffer on both drivers: postgres.js hands back a Buffer, PGlite a plain Uint8Array. Both
 * drivers send a Buffer parameter as bytea.
 */
const bytea = customType<{ data: Buffer; driverData: Buffer | Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) =>
    Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
});

export const ATTACHMENT_CONTENT_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;
export type AttachmentContentType = (typeof ATTACHMENT_CONTENT_TYPES)[number];

/**
 * An image a user attached, already normalised (upright, metadata stripped, long side at most 2048 px).
 * Uploaded first with no message; sending the message links it (`message_id`, `position`), and it goes with
 * the message. Unsent ones are swept after a while. Ownership is `user_id`, checked in every query.
 */
export const attachments = pgTable(
  'attachments',
  {
    /** `att_` and 22 random base64url characters: unguessable, so an id in a URL reveals nothing. */
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    messageId: integer('message_id').references(() => conversations.id, { onDelete: 'cascade' }),
    /** Order within the message, from 0; set with `message_id`. */
    position: smallint('position'),
    contentType: text('content_type', { enum: ATTACHMENT_CONTENT_TYPES }).notNull(),
    bytes: bytea('bytes').notNull(),
    byteSize: integer('byte_size').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    thumbnail: bytea('thumbnail').notNull(),
    thumbnailContentType: text('thumbnail_content_type').notNull(),
    /** Of `bytes`, hex. */
    sha256: text('sha256').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).defaultNow().notNull(),
  },
  (t) => [
    check(
      'attachments_content_type_check',
      sql`${t.contentType} IN ('image/jpeg', 'image/png', 'image/webp')`,
    ),
    check(
      'attachments_position_check',
      sql`(${t.messageId} IS NULL) = (${t.position} IS NULL) AND ${t.position} >= 0`,
    ),
    // Also the index for "this message's attachments": message_id leads.
    uniqueIndex('attachments_message_id_position_key').on(t.messageId, t.position),
    index('attachments_user_id_created_at_idx').on(t.userId, t.createdAt),
    // The sweep reads only the few unsent rows.
    index('attachments_unsent_created_at_idx')
      .on(t.createdAt)
      .where(sql`${t.messageId} IS NULL`),
  ],
).enableRLS();
export type AttachmentRow = typeof attachments.$inferSelect;
