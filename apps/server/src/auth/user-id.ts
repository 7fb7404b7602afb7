import { UnauthorizedError } from '@fixthread/core';
import { z } from 'zod';

/**
 * A token's `sub` becomes part of the thread id and of every stored row, so it must be printable and
 * bounded. Identity providers use UUIDs or similar; 128 leaves room without letting a token bloat rows.
 */
const MAX_SUBJECT_LENGTH = 128;
// eslint-disable-next-line no-control-regex -- rejecting control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * The subject is the user id exactly as the identity provider wrote it: nothing trims, folds case or
 * normalises it, so two different subjects are always two different users (Postgres compares text byte for
 * byte under the default deterministic collation). What could not survive that exactly is refused instead:
 * a lone surrogate, which UTF-8 cannot encode and the driver would turn into U+FFFD (so "\ud800x" and
 * "\udfffx" once became the same user as "\ufffdx"), control characters, and surrounding whitespace, which
 * logs, admin tools and the design note's SQL shown in a terminal would make indistinguishable.
 */
export function parseUserId(sub: unknown): string {
  if (typeof sub !== 'string' || sub.trim().length === 0) throw new UnauthorizedError('Token has no subject');
  if (
    sub.length > MAX_SUBJECT_LENGTH ||
    !sub.isWellFormed() ||
    CONTROL_CHARACTERS.test(sub) ||
    sub.trim() !== sub
  ) {
    throw new UnauthorizedError('Token subject is not a valid user id');
  }
  return sub;
}

/** Dev sign-in ids are typed by people, so they are held to a plain, URL-safe alphabet. */
export const devUserIdSchema = z
  .string({ error: 'userId must be a string' })
  .regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'userId must be 1-64 characters of letters, digits, _ . - @');
