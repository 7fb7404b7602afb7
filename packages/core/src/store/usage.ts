import { sql } from 'drizzle-orm';
import type { Db } from '../db/db';
import { userUsage } from '../db/schema';
import { prepared } from './prepared';

type Executor = Pick<Db, 'insert'>;

/** Atomic: concurrent calls never lose an increment, whichever driver runs them. */
export async function addUsage(db: Executor, userId: string, tokens: number): Promise<void> {
  if (!Number.isInteger(tokens) || tokens < 0) throw new RangeError(`tokens must be a non-negative integer, got ${tokens}`);
  await db
    .insert(userUsage)
    .values({ userId, totalTokens: tokens })
    .onConflictDoUpdate({
      target: userUsage.userId,
      set: { totalTokens: sql`${userUsage.totalTokens} + excluded.total_tokens`, updatedAt: sql`now()` },
    });
}

export async function totalTokens(db: Db, userId: string): Promise<number> {
  const [row] = await prepared(db).usageOf.execute({ userId });
  return row?.total ?? 0;
}

