import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/db';
import { usageLedger } from '../db/schema';
import { addDailyUsageIn } from './daily-usage';
import { addUsage } from './usage';

type Executor = Pick<Db, 'insert' | 'select'>;

/** What one model call cost. */
export interface ModelCallUsage {
  round: number;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  cachedTokens: number | null;
  /** True when the tokenizer counted because the provider reported nothing. */
  estimated: boolean;
}

/**
 * Records one model call and adds it to the user's total and to their UTC day, in one transaction (or inside the caller's).
 * A call already recorded for this turn and round is not charged again, so retries of the bookkeeping (and a
 * recovery racing the owner) can never double-charge. Returns whether this call did the charging.
 */
export async function chargeModelCall(db: Db, userId: string, turnId: string, usage: ModelCallUsage): Promise<boolean> {
  return db.transaction((tx) => chargeModelCallIn(tx as unknown as Executor, userId, turnId, usage));
}

export async function chargeModelCallIn(
  tx: Executor,
  userId: string,
  turnId: string,
  usage: ModelCallUsage,
): Promise<boolean> {
  const inserted = await tx
    .insert(usageLedger)
    .values({ userId, turnId, ...usage })
    .onConflictDoNothing({ target: [usageLedger.turnId, usageLedger.round] })
    .returning({ id: usageLedger.id });
  if (inserted.length === 0) return false;
  await addUsage(tx, userId, usage.totalTokens);
  await addDailyUsageIn(tx, userId, usage.totalTokens);
  return true;
}

/** The rounds of a turn already charged, and their sum. */
export async function chargedRounds(db: Pick<Db, 'select'>, turnId: string): Promise<{ rounds: number[]; tokens: number; estimated: boolean }> {
  const rows = await db
    .select({ round: usageLedger.round, total: usageLedger.totalTokens, estimated: usageLedger.estimated })
    .from(usageLedger)
    .where(eq(usageLedger.turnId, turnId));
  return {
    rounds: rows.map((row) => row.round),
    tokens: rows.reduce((sum, row) => sum + row.total, 0),
    estimated: rows.some((row) => row.estimated),
  };
}

/** Of the user's total, how much the tokenizer estimated rather than the provider reported. */
export async function estimatedTokens(db: Db, userId: string): Promise<number> {
  const [row] = await db
    .select({ total: sql<string | number | null>`sum(${usageLedger.totalTokens})` })
    .from(usageLedger)
    .where(and(eq(usageLedger.userId, userId), eq(usageLedger.estimated, true)));
  return Number(row?.total ?? 0);
}
