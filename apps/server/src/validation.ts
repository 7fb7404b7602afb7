import { HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX, MAX_ATTACHMENTS_PER_MESSAGE, ValidationError } from '@fixthread/core';
import { z } from 'zod';

/**
 * Request shapes shared by REST and tRPC, and nothing more: what makes a message or a history limit
 * acceptable (empty, too long, NUL, broken Unicode, the limit's range) is decided by the engine, which throws
 * a ValidationError naming the field, so REST, tRPC and any other transport apply the same rules and wording.
 */
export const messageInput = z.object(
  {
    message: z
      .string({ error: (issue) => (issue.input === undefined ? 'message is required' : 'message must be a string') })
      .meta({
        description:
          "The user's words: at most the server's MAX_MESSAGE_CHARS characters, and not blank unless `attachments` names a photo.",
      }),
    attachments: z
      .array(z.string({ error: 'attachments must hold attachment ids' }), { error: 'attachments must be a list of attachment ids' })
      .optional()
      .meta({
        maxItems: MAX_ATTACHMENTS_PER_MESSAGE,
        description:
          'Photos to send with the message: ids from POST /chat/attachments, in the order shown, each the user’s own and not sent before. ' +
          'For an edit, absent keeps the edited question’s photos and a list replaces them.',
      }),
  },
  { error: 'body must be a JSON object' },
);

const threadDescription = { description: "The thread; the user's default thread (`user-<user id>`) when absent." };
const threadIdField = z.string({ error: 'thread_id must be a string' }).meta(threadDescription);

/** Every thread-scoped tRPC input takes `threadId`; absent, it is the user's default thread. */
export const threadInput = z.object({ threadId: threadIdField.optional() }).optional();

export const historyInput = z
  .object({
    limit: z.number({ error: 'limit must be a number' }).optional(),
    before: z.number({ error: 'before must be a message id' }).optional(),
    threadId: threadIdField.optional(),
  })
  .optional();

/** REST bodies name the thread `thread_id`, as the design note's responses do. */
export const restMessageInput = messageInput.extend({ thread_id: threadIdField.optional() });
export const restThreadBody = z.object({ thread_id: threadIdField.optional() }, { error: 'body must be a JSON object' }).optional();

export const titleBody = z.object(
  { title: z.string({ error: (issue) => (issue.input === undefined ? 'title is required' : 'title must be a string') }) },
  { error: 'body must be a JSON object' },
);
export const newThreadBody = z.object({ title: z.string({ error: 'title must be a string' }).optional() }, { error: 'body must be a JSON object' }).optional();

/**
 * What the documentation says a query-string number is. Only the document reads it: parsing stays
 * `queryNumber`'s, and the range the engine's. The upper limits of threads and search are the engine's too,
 * which the OpenAPI test holds them to.
 */
const queryInteger = { type: 'integer', minimum: 1 } as const;

/**
 * The limit as a query-string value. Only plain decimal notation is read as a number; anything else (`abc`,
 * `1e2`, an empty or repeated value) reaches the engine as NaN, so it is rejected with the same words as an
 * out-of-range number.
 */
export const historyQuery = z.object({
  limit: z
    .unknown()
    .transform(queryNumber)
    .optional()
    .meta({ ...queryInteger, maximum: HISTORY_LIMIT_MAX, description: `How many of the newest messages; ${HISTORY_LIMIT_DEFAULT} when absent.` }),
  before: z
    .unknown()
    .transform(queryNumber)
    .optional()
    .meta({ ...queryInteger, description: 'Only messages older than this message id: the `next_before` of the page shown.' }),
  thread_id: z.string({ error: 'thread_id must be given once' }).optional().meta(threadDescription),
});

export const threadQuery = z.object({ thread_id: z.string({ error: 'thread_id must be given once' }).optional().meta(threadDescription) });

export const threadsQuery = z.object({
  limit: z.unknown().transform(queryNumber).optional().meta({ ...queryInteger, maximum: 100, description: 'Threads per page; 30 when absent.' }),
  cursor: z
    .string({ error: 'cursor must be given once' })
    .optional()
    .meta({ description: 'The `next_cursor` of the previous page.' }),
});

export const searchQuery = z.object({
  q: z
    .string({ error: (issue) => (issue.input === undefined ? 'q is required' : 'q must be given once') })
    .meta({ minLength: 1, maxLength: 200, description: 'Words to find, as typed into a search box: quotes, `or` and `-word` work.' }),
  limit: z.unknown().transform(queryNumber).optional().meta({ ...queryInteger, maximum: 50, description: 'Most results to return; 20 when absent.' }),
});

export const exportQuery = z.object({
  thread_id: z.string({ error: 'thread_id must be given once' }).optional().meta(threadDescription),
  format: z
    .enum(['markdown', 'json', 'ndjson'], { error: 'format must be markdown, json or ndjson' })
    .optional()
    .meta({ default: 'markdown', description: 'ndjson without thread_id exports every thread.' }),
});

/**
 * Headers and path parameters as the document shows them. The routes read these themselves and the engine
 * checks them, so nothing validates with these schemas.
 */
export const turnHeaders = z.object({
  'Idempotency-Key': z.string().min(1).max(255).optional().meta({
    description:
      'Printable text chosen by the client. The same key again returns the original turn instead of asking twice; with another message it is 409.',
  }),
});
export const resumeHeaders = z.object({
  'Last-Event-ID': z.string().optional().meta({
    description: 'The `id:` of the last event received (`<turn id>:<seq>`): the stream resumes after it. Absent, the turn is replayed from its start.',
  }),
});
export const turnParams = z.object({ turnId: z.uuid().meta({ description: 'The `turn_id` of a `done` event or of `id:` lines.' }) });
export const threadParams = z.object({ threadId: z.string().meta({ description: 'A thread id; it holds a `/`, which must be percent-encoded.' }) });
export const attachmentParams = z.object({ id: z.string().meta({ description: 'The `id` POST /chat/attachments answered (`att_` and 22 characters).' }) });
/** The upload as documented; the route reads the multipart stream itself. */
export const uploadBody = z.object({
  file: z.file().meta({
    description:
      'The photo: JPEG, PNG or WebP, at most MAX_IMAGE_BYTES. Its type is read from its bytes; the file name and the part’s Content-Type are ignored.',
  }),
});

function queryNumber(value: unknown): number {
  return typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
}

export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw toValidationError(result.error);
}

/** The first problem, named by the field it concerns: that is what a client can act on. */
export function toValidationError(error: z.ZodError): ValidationError {
  const issue = error.issues[0];
  const field = issue?.path.map(String).join('.') || undefined;
  return new ValidationError(issue?.message ?? 'invalid input', field);
}
