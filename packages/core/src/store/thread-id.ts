/** One thread per user, named as the design note names it. */
export function threadIdFor(userId: string): string {
  return `user-${userId}`;
}
