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

export const historyInput = z.object({ limit: z.number({ error: 'limit must be a number' }).optional() }).optional();

/**
 * The limit as a query-string value. Only plain decimal notation is read as a number; anything else (`abc`,
 * `1e2`, an empty or repeated value) reaches the engine as NaN, so it is rejected with the same words as an
 * out-of-range number.
 */
export const historyQuery = z.object({ limit: z.unknown().transform(queryNumber).optional() });

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
