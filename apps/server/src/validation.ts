import { ValidationError } from '@fixthread/core';
import { z } from 'zod';

/**
 * Request shapes shared by REST and tRPC, and nothing more: what makes a message or a history limit
 * acceptable (empty, too long, NUL, broken Unicode, the limit's range) is decided by the engine, which throws
 * a ValidationError naming the field, so REST, tRPC and any other transport apply the same rules and wording.
 */
export const messageInput = z.object(
  { message: z.string({ error: (issue) => (issue.input === undefined ? 'message is required' : 'message must be a string') }) },
  { error: 'body must be a JSON object' },
);

const threadIdField = z.string({ error: 'thread_id must be a string' });

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
 * The limit as a query-string value. Only plain decimal notation is read as a number; anything else (`abc`,
 * `1e2`, an empty or repeated value) reaches the engine as NaN, so it is rejected with the same words as an
 * out-of-range number.
 */
export const historyQuery = z.object({
  limit: z.unknown().transform(queryNumber).optional(),
  before: z.unknown().transform(queryNumber).optional(),
  thread_id: z.string({ error: 'thread_id must be given once' }).optional(),
});

export const threadQuery = z.object({ thread_id: z.string({ error: 'thread_id must be given once' }).optional() });

export const threadsQuery = z.object({
  limit: z.unknown().transform(queryNumber).optional(),
  cursor: z.string({ error: 'cursor must be given once' }).optional(),
});

export const searchQuery = z.object({
  q: z.string({ error: (issue) => (issue.input === undefined ? 'q is required' : 'q must be given once') }),
  limit: z.unknown().transform(queryNumber).optional(),
});

export const exportQuery = z.object({
  thread_id: z.string({ error: 'thread_id must be given once' }).optional(),
  format: z.enum(['markdown', 'json', 'ndjson'], { error: 'format must be markdown, json or ndjson' }).optional(),
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
