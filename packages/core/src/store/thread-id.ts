import { randomBytes } from 'node:crypto';

/** The user's default thread, named as the design note names it. */
export function threadIdFor(userId: string): string {
  return `user-${userId}`;
}

/** Further threads keep the user's prefix, so the design note's per-user queries still group them. */
export function newThreadId(userId: string): string {
  return `${threadIdFor(userId)}/${randomBytes(9).toString('base64url')}`;
}
