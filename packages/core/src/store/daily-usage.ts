import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/db';
import { dailyUsage, turnReservations, turns } from '../db/schema';

type Executor = Pick<Db, 'insert' | 'select' | 'update' | 'delete'>;

/** `YYYY-MM-DD` of the UTC day `at` falls in. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/** The next UTC midnight after `at`: when its day's budget resets. */
export function nextUtcMidnight(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1));
}

export interface DailyTokens {
  used: number;
  reserved: number;
}

/**
 * Sets `tokens` aside for a turn, unless the day's used + reserved + tokens would pass `quota`. One
 * conditional upsert: its row lock serializes concurrent admissions, so however many turns ask at once,
 * used + reserved never passes the quota at admission. Returns the day's figures when refused, undefined when
 * reserved.
 */
export async function reserveDailyTokens(
  db: Db,
  reservation: { turnId: string; userId: string; day: string; tokens: number; quota: number },
): Promise<DailyTokens | undefined> {
  const { turnId, userId, day, tokens, quota } = reservation;
  return db.transaction(async (tx) => {
    const reserved = await tx
      .insert(dailyUsage)
      .values({ userId, day, usedTokens: 0, reservedTokens: tokens })
      .onConflictDoUpdate({
        target: [dailyUsage.userId, dailyUsage.day],
        set: { reservedTokens: sql`${dailyUsage.reservedTokens} + excluded.reserved_tokens`, updatedAt: sql`now()` },
        setWhere: sql`${dailyUsage.usedTokens} + ${dailyUsage.reservedTokens} + excluded.reserved_tokens <= ${quota}`,
      })
      .returning({ used: dailyUsage.usedTokens });
    if (reserved.length === 0) return (await dailyTokens(tx, userId, day)) ?? { used: 0, reserved: 0 };
    await tx.insert(turnReservations).values({ turnId, userId, day, tokens });
    return undefined;
  });
}

/** Gives back what a turn set aside; nothing when it has no reservation (quota off, or already released). */
export async function releaseReservationIn(tx: Executor, turnId: string): Promise<void> {
  const [released] = await tx.delete(turnReservations).where(eq(turnReservations.turnId, turnId)).returning();
  if (!released) return;
  await tx
    .update(dailyUsage)
    .set({ reservedTokens: sql`greatest(${dailyUsage.reservedTokens} - ${released.tokens}, 0)`, updatedAt: sql`now()` })
    .where(and(eq(dailyUsage.userId, released.userId), eq(dailyUsage.day, released.day)));
}

export async function releaseReservation(db: Db, turnId: string): Promise<void> {
  await db.transaction((tx) => releaseReservationIn(tx, turnId));
}

/** Adds a model call's tokens to the user's day; called in the transaction that writes its ledger row. */
export async function addDailyUsageIn(tx: Pick<Db, 'insert'>, userId: string, tokens: number, day = utcDay(new Date())): Promise<void> {
  if (tokens === 0) return;
  await tx
    .insert(dailyUsage)
    .values({ userId, day, usedTokens: tokens })
    .onConflictDoUpdate({
      target: [dailyUsage.userId, dailyUsage.day],
      set: { usedTokens: sql`${dailyUsage.usedTokens} + excluded.used_tokens`, updatedAt: sql`now()` },
    });
}

export async function dailyTokens(db: Pick<Db, 'select'>, userId: string, day: string): Promise<DailyTokens | undefined> {
  const [row] = await db
    .select({ used: dailyUsage.usedTokens, reserved: dailyUsage.reservedTokens })
    .from(dailyUsage)
    .where(and(eq(dailyUsage.userId, userId), eq(dailyUsage.day, day)));
  return row;
}

/**
 * Reservations whose turn is not live: their process died between reserving and starting the turn, or after
 * the turn's record went. Older than `olderThanMs` only, so a turn being admitted right now keeps its own.
 */
export async function releaseStaleReservations(db: Db, olderThanMs: number): Promise<number> {
  const stale = await db
    .select({ turnId: turnReservations.turnId })
    .from(turnReservations)
    .where(
      and(
        lt(turnReservations.createdAt, sql`now() - make_interval(secs => ${olderThanMs / 1000}::float8)`),
        sql`not exists (select 1 from ${turns} where ${turns.id} = ${turnReservations.turnId} and ${turns.status} in ('queued', 'running'))`,
      ),
    )
    .limit(100);
  for (const { turnId } of stale) await releaseReservation(db, turnId);
  return stale.length;
}
