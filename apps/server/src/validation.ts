import { HISTORY_LIMIT_DEFAULT, HISTORY_LIMIT_MAX, ValidationError } from '@fixthread/core';
import { z } from 'zod';

/**
 * Input shapes shared by REST and tRPC. The configurable length limit is the engine's (MAX_MESSAGE_CHARS):
 * it rejects longer messages with a ValidationError, so the limit lives in one place.
 */
export const messageSchema = z
  .string({ error: (issue) => (issue.input === undefined ? 'message is required' : 'message must be a string') })
  .refine((text) => text.trim().length > 0, 'message must not be empty or only whitespace')
  // Postgres text columns cannot hold NUL; rejecting it here gives a 400 instead of a driver error.
  .refine((text) => !text.includes('\u0000'), 'message must not contain NUL (\\u0000) characters');

export const messageInput = z.object({ message: messageSchema }, { error: 'body must be a JSON object' });
export type MessageInput = z.infer<typeof messageInput>;

export const HISTORY_LIMIT = { min: 1, max: HISTORY_LIMIT_MAX, default: HISTORY_LIMIT_DEFAULT } as const;
const LIMIT_PROBLEM = `limit must be a whole number from ${HISTORY_LIMIT.min} to ${HISTORY_LIMIT.max}`;

const limitSchema = z
  .number({ error: LIMIT_PROBLEM })
  .int(LIMIT_PROBLEM)
  .min(HISTORY_LIMIT.min, LIMIT_PROBLEM)
  .max(HISTORY_LIMIT.max, LIMIT_PROBLEM);

export const historyInput = z.object({ limit: limitSchema.optional() }).optional();

/** The same limit arriving as a query-string value. */
export const historyQuery = z.object({
  limit: z.string({ error: LIMIT_PROBLEM }).regex(/^\d{1,6}$/, LIMIT_PROBLEM).transform(Number).pipe(limitSchema).optional(),
});

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
