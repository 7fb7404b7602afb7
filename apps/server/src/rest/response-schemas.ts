import { ATTACHMENT_CONTENT_TYPES } from '@fixthread/core';
import type {
  ChatEngine,
  ClearResult,
  Driver,
  ExportedMessage,
  ExportRecord,
  HistoryMessage,
  HistoryResult,
  LiveStatus,
  SearchResult,
  SendResult,
  Source,
  ThreadPage,
  SessionStats,
  ThreadSummary,
  TurnEvent,
} from '@fixthread/core';
import { z } from 'zod';
import type { AuthMode } from '../auth/auth-config';
import type { ErrorBody } from '../errors';
import type { PresentedUpload } from '../present-upload';

/**
 * What the REST routes answer, as the OpenAPI document shows it. Each schema with an `id` becomes a named
 * component. Objects are closed (`additionalProperties: false`), so a field the engine adds or drops fails
 * the OpenAPI test until it is described here; the checks at the bottom hold each schema to core's type.
 */

const timestamp = z.iso.datetime().meta({ description: 'ISO 8601, UTC.' });
const role = z.enum(['user', 'assistant']);

export const sourceSchema = z
  .object({
    title: z.string(),
    url: z.string(),
    kind: z.enum(['ifixit', 'web']),
    // iFixit guides only, and not on sources stored before they were recorded.
    device: z.string().optional().meta({ description: 'The device, e.g. `iPhone 12`.' }),
    subject: z.string().optional().meta({ description: 'The part the guide is about, e.g. `Screen`.' }),
    difficulty: z.string().optional().meta({ description: 'In iFixit’s words, e.g. `Moderate`.' }),
    time_required: z.string().optional().meta({ description: 'In iFixit’s words, e.g. `1 - 2 hours`.' }),
  })
  .meta({ id: 'Source', description: 'A guide or page a tool found for an answer.' });

export const errorBodySchema = z
  .object({
    error: z.object({
      code: z.string().meta({
        description:
          'VALIDATION, UNAUTHORIZED, NOT_FOUND, CONFLICT, QUOTA_EXCEEDED, RATE_LIMITED, UPSTREAM_UNAVAILABLE, DATABASE_UNAVAILABLE, ' +
          'INVALID_JSON, INVALID_UTF8, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, BAD_URL, BAD_REQUEST, SHUTTING_DOWN, INTERNAL, ' +
          'UNSUPPORTED_IMAGE, IMAGE_TOO_LARGE, IMAGE_TOO_MANY_PIXELS, ATTACHMENT_NOT_FOUND, MODEL_CANNOT_SEE_IMAGES…',
      }),
      message: z.string().meta({ description: 'Written for people; safe to show.' }),
      details: z.object({ field: z.string().meta({ description: 'The input the problem concerns.' }) }).optional(),
    }),
  })
  .meta({ id: 'ErrorBody', description: 'Every error answered as JSON, whatever its status.' });

export const sendResultSchema = z.object({ response: z.string(), thread_id: z.string() }).meta({ id: 'SendResult' });

const statusEvent = z.object({ type: z.literal('status'), content: z.string().meta({ description: 'What the assistant is doing, e.g. searching iFixit.' }) });
const tokenEvent = z.object({ type: z.literal('token'), content: z.string().meta({ description: 'The next piece of the answer.' }) });
const doneEvent = z.object({
  type: z.literal('done'),
  thread_id: z.string(),
  turn_id: z.uuid(),
  user_message_id: z.int().meta({ description: 'The stored question.' }),
  message_id: z.int().meta({ description: 'The stored answer.' }),
  sources: z.array(sourceSchema),
  usage: z.object({
    total_tokens: z.int().meta({ description: 'Tokens the turn spent, over all of its model calls.' }),
    estimated: z.boolean().meta({ description: 'The provider reported no usage for some call, so the tokenizer counted it.' }),
  }),
  stopped: z.boolean().meta({ description: 'The user stopped it: the partial answer was saved.' }),
  interrupted: z.boolean().meta({ description: 'The server running it died: the answer was saved as far as it had streamed.' }),
});

export const turnEventSchema = z.discriminatedUnion('type', [statusEvent, tokenEvent, doneEvent]).meta({
  id: 'TurnEvent',
  description: 'Any number of `status` and `token` events, then exactly one `done`.',
});

const streamErrorEvent = z
  .object({ type: z.literal('error'), content: z.string().meta({ description: 'Written for people.' }), code: z.string() })
  .meta({ description: 'The turn failed after the stream had started (the model or the database gave out); the stream ends.' });

export const streamEventSchema = z.union([turnEventSchema, streamErrorEvent]).meta({
  id: 'StreamEvent',
  description: 'The JSON of one SSE `data:` line.',
});

export const messageAttachmentSchema = z
  .object({ id: z.string(), content_type: z.enum(ATTACHMENT_CONTENT_TYPES), width: z.int(), height: z.int() })
  .meta({ id: 'MessageAttachment', description: 'A photo sent with a message.' });

export const uploadedAttachmentSchema = z
  .object({
    id: z.string().meta({ description: 'Name it in `attachments` when sending a message, within 24 hours.' }),
    content_type: z.enum(ATTACHMENT_CONTENT_TYPES).meta({ description: 'As stored: the type found in the bytes, re-encoded.' }),
    width: z.int().meta({ description: 'As stored: upright, at most 2048 px on the long side.' }),
    height: z.int(),
    byte_size: z.int().meta({ description: 'Of the stored image, after re-encoding.' }),
    url: z.string().meta({ description: 'Where the owner can fetch it: GET /chat/attachments/{id}.' }),
    thumbnail_url: z.string().meta({ description: 'Its 256 px WebP thumbnail.' }),
  })
  .meta({ id: 'UploadedAttachment', description: 'A photo checked, re-encoded without its metadata, and stored unsent.' });

/** An image response's body: the stored bytes. */
export const imageBytesSchema = z.string().meta({ format: 'binary', description: 'The image, as stored.' });

export const historyMessageSchema = z
  .object({
    id: z.int(),
    role,
    content: z.string(),
    timestamp,
    sources: z.array(sourceSchema).meta({ description: 'Assistant messages only; empty otherwise.' }),
    stopped: z.boolean(),
    interrupted: z.boolean(),
    attachments: z.array(messageAttachmentSchema).meta({ description: 'User messages only, in order; empty otherwise.' }),
  })
  .meta({ id: 'HistoryMessage' });

export const historyResultSchema = z
  .object({
    thread_id: z.string(),
    message_count: z.int().meta({ description: 'Messages on this page.' }),
    messages: z.array(historyMessageSchema).meta({ description: 'Oldest first.' }),
    has_more: z.boolean().meta({ description: 'Older messages exist: ask again with `before=next_before`.' }),
    next_before: z.int().nullable(),
  })
  .meta({ id: 'HistoryPage' });

export const clearResultSchema = z.object({ success: z.literal(true), message: z.string(), thread_id: z.string() }).meta({ id: 'ClearResult' });

const limitUsage = {
  limit: z.int().meta({ description: 'The configured value.' }),
  used: z.int().meta({ description: 'Spent so far in the current period.' }),
};

export const sessionLimitsSchema = z
  .object({
    token_quota: z
      .object({ ...limitUsage, resets_at: z.null().meta({ description: 'Never: a lifetime allowance.' }) })
      .nullable()
      .meta({ description: 'TOKEN_QUOTA: lifetime tokens (`used` is total_tokens); null when not set.' }),
    daily_tokens: z
      .object({
        ...limitUsage,
        reserved: z.int().meta({ description: 'Set aside by the user’s turns still running; a turn is refused when used + reserved + its estimate would pass `limit`.' }),
        resets_at: timestamp.meta({ description: 'The next UTC midnight.' }),
      })
      .nullable()
      .meta({ description: 'DAILY_TOKEN_QUOTA: tokens this UTC day; null when not set.' }),
    requests_per_minute: z
      .object({ ...limitUsage, resets_at: timestamp.nullable().meta({ description: 'When the current window ends; null when none is open.' }) })
      .nullable()
      .meta({ description: 'RATE_LIMIT_PER_MINUTE: requests in the current one-minute window (this one included); null when not set.' }),
  })
  .meta({ id: 'SessionLimits', description: 'Every limit, and how much of it is used; a limit that is off is null. Refusals are 429 with `Retry-After`.' });

export const sessionStatsSchema = z
  .object({
    user_id: z.string(),
    thread_id: z.string(),
    total_messages: z.int(),
    total_tokens: z.int().meta({ description: 'Every token the user has spent, all threads.' }),
    total_tokens_used: z.int().meta({ description: 'The same as total_tokens, under the design note’s name.' }),
    estimated_tokens: z.int().meta({ description: 'Of total_tokens, those the tokenizer estimated.' }),
    session_start: timestamp.nullable(),
    last_activity: timestamp.nullable(),
    limits: sessionLimitsSchema,
  })
  .meta({ id: 'SessionStats' });

export const stopResultSchema = z.object({ stopped: z.boolean().meta({ description: 'There was a reply in flight to stop.' }) }).meta({ id: 'StopResult' });

export const threadSummarySchema = z
  .object({
    id: z.string(),
    title: z.string().nullable(),
    is_default: z.boolean(),
    created_at: timestamp,
    updated_at: timestamp,
    last_activity: timestamp.nullable(),
    message_count: z.int(),
  })
  .meta({ id: 'Thread' });

export const threadPageSchema = z
  .object({
    threads: z.array(threadSummarySchema).meta({ description: 'Most recent activity first.' }),
    next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last.' }),
  })
  .meta({ id: 'ThreadPage' });

export const deletedThreadSchema = z.object({ success: z.literal(true), thread_id: z.string() }).meta({ id: 'DeletedThread' });

export const searchResultsSchema = z
  .object({
    results: z
      .array(
        z.object({
          thread_id: z.string(),
          thread_title: z.string().nullable(),
          message_id: z.int(),
          role,
          snippet: z
            .array(z.object({ text: z.string(), match: z.boolean() }))
            .meta({ description: 'The matching passage in pieces; `match` marks the words that matched.' }),
          timestamp,
        }),
      )
      .meta({ description: 'Newest first.' }),
  })
  .meta({ id: 'SearchResults' });

const exportedMessage = z.object({
  thread_id: z.string(),
  id: z.int(),
  role,
  content: z.string(),
  timestamp,
  finish_reason: z.string().nullable(),
  attachments: z.array(messageAttachmentSchema),
});

export const threadExportSchema = z
  .object({
    thread: z.union([threadSummarySchema, z.object({ id: z.string().nullable() }).meta({ description: 'A default thread never used yet.' })]),
    messages: z.array(exportedMessage).meta({ description: 'Oldest first.' }),
  })
  .meta({ id: 'ThreadExport' });

export const markdownExportSchema = z.string().meta({
  description: 'The title as a heading, then each message under `### You · <time>` or `### FixThread · <time>`.',
});

export const exportRecordSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('thread'), id: z.string(), title: z.string().nullable(), created_at: timestamp }),
    exportedMessage.extend({ type: z.literal('message') }),
  ])
  .meta({ id: 'ExportRecord', description: 'One NDJSON line: a thread, then its messages oldest first.' });

export const healthSchema = z
  .object({
    status: z.enum(['ok', 'degraded', 'unavailable']).meta({ description: '`degraded`: Redis is down; turns still run and are saved.' }),
    database: z.enum(['postgres', 'pglite']),
    redis: z.enum(['up', 'down', 'disabled']),
  })
  .meta({ id: 'Health' });

export const authModeSchema = z.object({ mode: z.enum(['dev', 'jwt']) }).meta({ id: 'AuthMode' });

export const devTokenSchema = z.object({ token: z.string().meta({ description: 'A bearer token for the user id.' }) }).meta({ id: 'DevToken' });

/** Exactly the same type both ways, with the same keys: an extra optional field on either side fails too. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? ([keyof A] extends [keyof B] ? ([keyof B] extends [keyof A] ? true : false) : false) : false) : false;
type Expect<T extends true> = T;
type Out<S extends z.ZodType> = z.output<S>;

type _SchemasMatchCore = [
  Expect<Same<Out<typeof sourceSchema>, Source>>,
  Expect<Same<Out<typeof errorBodySchema>, ErrorBody>>,
  Expect<Same<Out<typeof sendResultSchema>, Pick<SendResult, 'response' | 'thread_id'>>>,
  Expect<Same<Out<typeof turnEventSchema>, TurnEvent>>,
  Expect<Same<Out<typeof doneEvent>, Extract<TurnEvent, { type: 'done' }>>>,
  Expect<Same<Out<typeof messageAttachmentSchema>, HistoryMessage['attachments'][number]>>,
  Expect<Same<Out<typeof uploadedAttachmentSchema>, PresentedUpload>>,
  Expect<Same<Out<typeof historyMessageSchema>, HistoryMessage>>,
  Expect<Same<Out<typeof historyResultSchema>, HistoryResult>>,
  Expect<Same<Out<typeof clearResultSchema>, ClearResult>>,
  Expect<Same<Out<typeof sessionStatsSchema>, SessionStats & { total_tokens_used: number }>>,
  Expect<Same<Out<typeof threadSummarySchema>, ThreadSummary>>,
  Expect<Same<Out<typeof threadPageSchema>, ThreadPage>>,
  Expect<Same<Out<typeof deletedThreadSchema>, Awaited<ReturnType<ChatEngine['deleteThread']>>>>,
  Expect<Same<Out<typeof searchResultsSchema>['results'][number], SearchResult>>,
  Expect<Same<Out<typeof exportedMessage>, ExportedMessage>>,
  Expect<Same<Out<typeof exportRecordSchema>, ExportRecord>>,
  Expect<Same<Out<typeof healthSchema>['database'], Driver>>,
  Expect<Same<Out<typeof healthSchema>['redis'], LiveStatus>>,
  Expect<Same<Out<typeof authModeSchema>['mode'], AuthMode>>,
];
