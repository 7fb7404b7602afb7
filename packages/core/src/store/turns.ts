import { and, asc, eq, gt, inArray, lt, ne, or, sql } from 'drizzle-orm';
import type { Db } from '../db/db';
import { conversations, turnEvents, turns, type TurnRow, type TurnStatus } from '../db/schema';
import { countTokens } from '../tokens';
import { chargedRounds, chargeModelCallIn } from './ledger';

export type TurnRecord = TurnRow;
export type FinalStatus = Exclude<TurnStatus, 'queued' | 'running'>;
export const LIVE_STATUSES: TurnStatus[] = ['queued', 'running'];

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface NewTurn {
  id: string;
  userId: string;
  threadId: string;
  clientMessageId: string | null;
  messageHash: string;
  owner: string;
  leaseMs: number;
}

/**
 * Inserts the turn, or finds the one the user already asked for with this client message id. The unique
 * (user_id, client_message_id) index decides between concurrent senders of one key: exactly one inserts.
 */
export async function createTurn(db: Db, turn: NewTurn): Promise<{ created: boolean; turn: TurnRecord }> {
  const { leaseMs, ...values } = turn;
  const [created] = await db
    .insert(turns)
    .values({ ...values, status: 'queued', leaseExpiresAt: sql`now() + ${leaseInterval(leaseMs)}` })
    .onConflictDoNothing({ target: [turns.userId, turns.clientMessageId] })
    .returning();
  if (created) return { created: true, turn: created };
  const [existing] = await db
    .select()
    .from(turns)
    .where(and(eq(turns.userId, turn.userId), eq(turns.clientMessageId, turn.clientMessageId ?? '')));
  if (!existing) throw new Error('turn insert conflicted but no turn holds the key');
  return { created: false, turn: existing };
}

/** The user's turn with that id; other users' turns are as unknown as missing ones. */
export async function findTurn(db: Db, userId: string, turnId: string): Promise<TurnRecord | undefined> {
  const [row] = await db.select().from(turns).where(and(eq(turns.id, turnId), eq(turns.userId, userId)));
  return row;
}

export async function deleteQueuedTurn(db: Db, turnId: string): Promise<void> {
  await db.delete(turns).where(and(eq(turns.id, turnId), eq(turns.status, 'queued')));
}

export interface ClaimRequest {
  turn: TurnRecord;
  owner: string;
  /**
   * This owner's turns that ended without their record being closed (the database failed under them): they
   * are recovered at once instead of holding the thread until their lease runs out.
   */
  abandoned: string[];
  leaseMs: number;
  /** Stores the user message once the turn may run; its id becomes the turn's `user_message_id`. */
  storeQuestion: (tx: Tx) => Promise<number>;
  /** Checked under the thread lock, before anything is stored; throws to refuse the turn. */
  admit: (tx: Tx) => Promise<void>;
}

/**
 * Starts the turn if it is the thread's next: no other turn of the thread running on a live lease and no
 * older one queued on a live lease. Runs under a transaction-scoped advisory lock on the thread, so two
 * processes can never both start a turn of one thread; turns of dead instances found on the way are
 * recovered first, so their partial reply lands before the next question.
 */
export async function claimTurn(db: Db, request: ClaimRequest): Promise<number | undefined> {
  const { turn } = request;
  return db.transaction(async (tx) => {
    await lockThread(tx, turn.threadId);
    await recoverExpiredTurnsIn(tx, { threadId: turn.threadId, abandoned: request.abandoned });
    const [ahead] = await tx
      .select({ id: turns.id })
      .from(turns)
      .where(
        and(
          eq(turns.threadId, turn.threadId),
          ne(turns.id, turn.id),
          gt(turns.leaseExpiresAt, sql`now()`),
          or(
            eq(turns.status, 'running'),
            // Another process's older turn goes first. This process's own turns are already in line, in the
            // order they were asked for, in its ThreadQueue: only the first of them gets here.
            and(
              eq(turns.status, 'queued'),
              ne(turns.owner, request.owner),
              // Compared in the database: a JavaScript Date would drop the microseconds.
              sql`(${turns.createdAt}, ${turns.id}) < (select t.created_at, t.id from ${turns} t where t.id = ${turn.id})`,
            ),
          ),
        ),
      )
      .limit(1);
    if (ahead) return undefined;
    await request.admit(tx);
    const userMessageId = await request.storeQuestion(tx);
    const started = await tx
      .update(turns)
      .set({
        status: 'running',
        userMessageId,
        owner: request.owner,
        startedAt: sql`now()`,
        leaseExpiresAt: sql`now() + ${leaseInterval(request.leaseMs)}`,
      })
      .where(and(eq(turns.id, turn.id), eq(turns.status, 'queued')))
      .returning({ id: turns.id });
    if (started.length === 0) throw new Error('turn left the queue while it was being started');
    return userMessageId;
  });
}

/** Keeps this instance's live turns owned; returns the ids it still owns. */
export async function renewLeases(db: Db, owner: string, turnIds: string[], leaseMs: number): Promise<string[]> {
  if (turnIds.length === 0) return [];
  const renewed = await db
    .update(turns)
    .set({ leaseExpiresAt: sql`now() + ${leaseInterval(leaseMs)}` })
    .where(and(inArray(turns.id, turnIds), eq(turns.owner, owner), inArray(turns.status, LIVE_STATUSES)))
    .returning({ id: turns.id });
  return renewed.map((row) => row.id);
}

export interface StreamedChunk {
  seq: number;
  round: number;
  type: 'status' | 'token';
  content: string;
}

export async function appendTurnEvents(db: Db, turnId: string, chunks: StreamedChunk[]): Promise<void> {
  if (chunks.length === 0) return;
  await db.insert(turnEvents).values(chunks.map((chunk) => ({ turnId, ...chunk })));
}

export async function turnEventsAfter(db: Db, turnId: string, afterSeq: number): Promise<StreamedChunk[]> {
  return db
    .select({ seq: turnEvents.seq, round: turnEvents.round, type: turnEvents.type, content: turnEvents.content })
    .from(turnEvents)
    .where(and(eq(turnEvents.turnId, turnId), gt(turnEvents.seq, afterSeq)))
    .orderBy(asc(turnEvents.seq));
}

export interface TurnOutcome {
  status: FinalStatus;
  assistantMessageId?: number | null;
  errorCode?: string | null;
  errorMessage?: string | null;
}

/**
 * Ends a turn this instance still owns, with whatever else must change with it (the reply, its charge) in
 * the same transaction. Returns false, changing nothing, when the turn was no longer ours: recovery took it
 * after our lease lapsed, and its outcome stands.
 */
export async function finishTurn(
  db: Db,
  turnId: string,
  owner: string,
  write: (tx: Tx) => Promise<TurnOutcome>,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [owned] = await tx
      .select({ id: turns.id })
      .from(turns)
      .where(and(eq(turns.id, turnId), eq(turns.owner, owner), eq(turns.status, 'running')))
      .for('update');
    if (!owned) return false;
    const outcome = await write(tx);
    const charged = await chargedRounds(tx, turnId);
    await tx
      .update(turns)
      .set({ ...outcome, finishedAt: sql`now()`, usageTokens: charged.tokens, usageEstimated: charged.estimated })
      .where(eq(turns.id, turnId));
    return true;
  });
}

/**
 * Turns whose owner stopped renewing their lease: their instance died. A running one is closed as
 * `interrupted`, its reply saved as far as it had streamed and its uncharged rounds charged as estimated; a
 * queued one never stored anything and is removed. Safe to run from any number of instances at once.
 */
export async function recoverExpiredTurns(db: Db, limit = 50): Promise<number> {
  const expired = await db
    .select({ threadId: turns.threadId })
    .from(turns)
    .where(and(inArray(turns.status, LIVE_STATUSES), lt(turns.leaseExpiresAt, sql`now()`)))
    .limit(limit);
  const threads = [...new Set(expired.map((row) => row.threadId))];
  let recovered = 0;
  for (const threadId of threads) {
    recovered += await db.transaction(async (tx) => {
      await lockThread(tx, threadId);
      return recoverExpiredTurnsIn(tx, { threadId });
    });
  }
  return recovered;
}

/** Recovers these turns now, whatever their lease says: their owner knows they are dead. */
export async function recoverAbandonedTurns(db: Db, turnIds: string[]): Promise<string[]> {
  if (turnIds.length === 0) return [];
  const rows = await db.select({ threadId: turns.threadId }).from(turns).where(inArray(turns.id, turnIds));
  for (const threadId of new Set(rows.map((row) => row.threadId))) {
    await db.transaction(async (tx) => {
      await lockThread(tx, threadId);
      await recoverExpiredTurnsIn(tx, { threadId, abandoned: turnIds });
    });
  }
  return turnIds;
}

async function recoverExpiredTurnsIn(
  tx: Tx,
  { threadId, abandoned = [] }: { threadId: string; abandoned?: string[] },
): Promise<number> {
  const lapsed = lt(turns.leaseExpiresAt, sql`now()`);
  const expired = await tx
    .select()
    .from(turns)
    .where(
      and(
        eq(turns.threadId, threadId),
        inArray(turns.status, LIVE_STATUSES),
        abandoned.length > 0 ? or(lapsed, inArray(turns.id, abandoned)) : lapsed,
      ),
    )
    .orderBy(asc(turns.createdAt))
    .for('update', { skipLocked: true });
  for (const turn of expired) {
    if (turn.status === 'queued') {
      await tx.delete(turns).where(eq(turns.id, turn.id));
      continue;
    }
    await interrupt(tx, turn);
  }
  return expired.length;
}

async function interrupt(tx: Tx, turn: TurnRecord): Promise<void> {
  const chunks = await tx
    .select({ type: turnEvents.type, content: turnEvents.content, round: turnEvents.round })
    .from(turnEvents)
    .where(eq(turnEvents.turnId, turn.id))
    .orderBy(asc(turnEvents.seq));
  const content = chunks
    .filter((chunk) => chunk.type === 'token')
    .map((chunk) => chunk.content)
    .join('');
  const charged = await chargedRounds(tx, turn.id);
  // Rounds the owner finished were charged as the provider reported them; what it streamed of later ones
  // was billed too, and only the tokenizer can say how much.
  const uncharged = new Map<number, string[]>();
  for (const chunk of chunks) {
    if (chunk.type !== 'token' || charged.rounds.includes(chunk.round)) continue;
    uncharged.set(chunk.round, [...(uncharged.get(chunk.round) ?? []), chunk.content]);
  }
  for (const [round, pieces] of uncharged) {
    const completionTokens = countTokens(pieces.join(''));
    await chargeModelCallIn(tx, turn.userId, turn.id, {
      round,
      promptTokens: 0,
      completionTokens,
      totalTokens: completionTokens,
      cachedTokens: null,
      estimated: true,
    });
  }
  const after = await chargedRounds(tx, turn.id);
  const [reply] = await tx
    .insert(conversations)
    .values({
      userId: turn.userId,
      threadId: turn.threadId,
      role: 'assistant',
      content,
      contentTokens: countTokens(content),
      usageTokens: after.tokens,
      usageEstimated: true,
      finishReason: 'interrupted',
    })
    .returning({ id: conversations.id });
  await tx
    .update(turns)
    .set({
      status: 'interrupted',
      assistantMessageId: reply?.id ?? null,
      finishedAt: sql`now()`,
      usageTokens: after.tokens,
      usageEstimated: true,
    })
    .where(eq(turns.id, turn.id));
}

/** Deletes the thread's turns and what they streamed (the charges stay, in the ledger and `user_usage`). */
export async function deleteThreadTurns(tx: Pick<Db, 'delete'>, threadId: string): Promise<void> {
  await tx.delete(turns).where(eq(turns.threadId, threadId));
}

/** Turns finished longer ago than the idempotency window: their keys and streamed events are let go. */
export async function pruneFinishedTurns(db: Db, olderThanMs: number): Promise<number> {
  const pruned = await db
    .delete(turns)
    .where(
      and(
        sql`${turns.status} not in ('queued', 'running')`,
        lt(turns.finishedAt, sql`now() - ${leaseInterval(olderThanMs)}`),
      ),
    )
    .returning({ id: turns.id });
  return pruned.length;
}

/** A transaction-scoped lock on one thread, shared by every process on the database. */
export async function lockThread(tx: Pick<Db, 'execute'>, threadId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`fixthread:thread:${threadId}`}))`);
}

function leaseInterval(ms: number) {
  return sql`make_interval(secs => ${ms / 1000}::float8)`;
}

