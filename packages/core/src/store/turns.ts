import { and, asc, eq, gt, inArray, lt, notInArray, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/db';
import { queryBatch, queryRows, rawRows, rawStatement, violatesUnique, type RawStatement } from '../db/raw-rows';
import { conversations, threads, turnEvents, turns, type TurnRow, type TurnStatus } from '../db/schema';
import { countTokens } from '../tokens';
import { releaseReservationIn } from './daily-usage';
import { contextRowsOf, contextWindow, type ContextRow, type LoadContextOptions } from './context';
import { chargedRounds, chargeModelCallIn } from './ledger';
import { linkQuestionPhotos } from './question-photos';

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
  // The turn holding the key can be deleted between our insert and our lookup (recovery removes a dead
  // instance's queued turn while its client re-sends the key, as the soak found): then the key is free again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const [created] = await db
      .insert(turns)
      .values({ ...values, status: 'queued', leaseExpiresAt: sql`now() + ${leaseInterval(leaseMs)}` })
      .onConflictDoNothing({ target: [turns.userId, turns.clientMessageId] })
      .returning();
    if (created) return { created: true, turn: created };
    const existing = await findTurnByKey(db, turn.userId, turn.clientMessageId ?? '');
    if (existing) return { created: false, turn: existing };
  }
  throw new Error('turn insert conflicted but no turn holds the key');
}

/** The user's turn asked for under this client message id, if any. */
export async function findTurnByKey(db: Db, userId: string, clientMessageId: string): Promise<TurnRecord | undefined> {
  const [row] = await db
    .select()
    .from(turns)
    .where(and(eq(turns.userId, userId), eq(turns.clientMessageId, clientMessageId)));
  return row;
}

/** The user's turn with that id; other users' turns are as unknown as missing ones. */
export async function findTurn(db: Db, userId: string, turnId: string): Promise<TurnRecord | undefined> {
  const [row] = await db.select().from(turns).where(and(eq(turns.id, turnId), eq(turns.userId, userId)));
  return row;
}

export async function deleteQueuedTurn(db: Db, turnId: string): Promise<void> {
  await db.delete(turns).where(and(eq(turns.id, turnId), eq(turns.status, 'queued')));
}

const ONE_RUNNING_PER_THREAD = 'turns_one_running_per_thread';

export interface Question {
  userId: string;
  threadId: string;
  content: string;
  contentTokens: number;
  /**
   * `ask`: a new question. `regenerate`: answer the thread's last question again; its answer is superseded.
   * `edit`: the last question and its answer are superseded by this one.
   */
  mode?: 'ask' | 'regenerate' | 'edit';
  /**
   * Photo ids to link to the stored question, in order (see `linkQuestionPhotos`). For an edit, undefined keeps
   * the edited question's photos; a regenerated question keeps its own, so this is ignored.
   */
  attachments?: readonly string[] | undefined;
}

export interface StartedTurn {
  userMessageId: number;
  /** The thread had no title yet: the caller may give it one once this turn is answered. */
  untitled: boolean;
  /** The context window, question included, when it was asked for and could be read with the start. */
  context?: ContextRow[] | undefined;
}

/**
 * Starts a turn on a free thread in one statement: stores the question and inserts the turn as running.
 * Undefined, with nothing stored, when the thread is busy (the unique index on running turns refuses it),
 * the key is taken, or recovery holds the thread: the caller then queues the turn. The try-lock keeps a
 * question from landing between a dead turn's recovery and the reply it saves.
 */
export async function startTurnNow(
  db: Db,
  turn: Omit<NewTurn, 'userId' | 'threadId'>,
  question: Question,
  context?: Omit<LoadContextOptions, 'threadId'>,
): Promise<StartedTurn | undefined> {
  const statement = sql`${questionOnceThreadIsOurs(question, sql`true`)}
      insert into ${turns} (id, user_id, thread_id, client_message_id, message_hash, status, owner, lease_expires_at, started_at, user_message_id)
      select ${turn.id}, ${question.userId}, ${question.threadId}, ${turn.clientMessageId}, ${turn.messageHash}, 'running',
             ${turn.owner}, now() + ${leaseInterval(turn.leaseMs)}, now(), question.id
      from question
      returning user_message_id, ${UNTITLED} as untitled, ${replacedQuestion(question)} as replaced_id`;
  try {
    if (context && storedInOneStatement(question)) {
      // The window is read in the start's transaction, behind it, so it holds the question just stored: the
      // turn's first two statements cost one round trip. On a busy thread nothing is stored and the read is moot.
      const [rows, window] = await queryBatch(db, [
        rawStatement(db, statement),
        contextWindow(question.userId, { ...context, threadId: question.threadId }),
      ]);
      const row = rows?.[0] as StoredQuestionRow | undefined;
      return row ? { userMessageId: row.user_message_id, untitled: row.untitled, context: contextRowsOf(window ?? []) } : undefined;
    }
    const row = await storeQuestion(db, question, statement);
    return row ? { userMessageId: row.user_message_id, untitled: row.untitled } : undefined;
  } catch (error) {
    if (violatesUnique(error, ONE_RUNNING_PER_THREAD) || violatesUnique(error, 'turns_user_client_message_id_key')) {
      return undefined;
    }
    throw error;
  }
}

/**
 * The `with` clause both ways of starting a turn share: a `question` CTE that stores the question, only when
 * the thread's try-lock is ours and `condition` holds. The statement that follows reads `question.id`.
 */
function questionOnceThreadIsOurs(question: Question, condition: SQL): SQL {
  const { userId, threadId } = question;
  const mode = question.mode ?? 'ask';
  const ours = sql`${conversations.threadId} = ${threadId} and ${conversations.userId} = ${userId} and ${conversations.supersededAt} is null`;
  const lastQuestion = sql`last_question as (
        select id from ${conversations} where ${ours} and ${conversations.role} = 'user' order by id desc limit 1
      )`;
  const newQuestion = sql`question as (
        insert into ${conversations} (user_id, thread_id, role, content, content_tokens)
        select ${userId}, ${threadId}, 'user', ${question.content}, ${question.contentTokens}::int
        from gate
        where gate.ok and ${condition}
        returning id
      )`;
  // Data-modifying CTEs all see the snapshot from before the statement, so the rows superseded here never
  // include the question inserted beside them.
  const steps =
    mode === 'ask'
      ? newQuestion
      : mode === 'edit'
        ? sql`${lastQuestion},
      superseded as (
        update ${conversations} set superseded_at = now() from gate
        where gate.ok and ${condition} and ${ours} and id >= (select id from last_question)
        returning ${conversations.id}
      ),
      ${newQuestion}`
        : sql`${lastQuestion},
      superseded as (
        update ${conversations} set superseded_at = now() from gate
        where gate.ok and ${condition} and ${ours} and ${conversations.role} = 'assistant' and id > (select id from last_question)
        returning ${conversations.id}
      ),
      question as (select last_question.id from last_question, gate where gate.ok and ${condition})`;
  return sql`with gate as (select ${tryLockThread(threadId)} as ok),
      ${steps},
      thread as (
        insert into ${threads} (id, user_id, last_message_at)
        select ${threadId}, ${userId}, now() from question
        on conflict (id) do update set last_message_at = now() where ${threads.userId} = excluded.user_id
        returning title
      )`;
}

/** Read in the statement that starts a turn, from its `thread` CTE. */
const UNTITLED = sql`not exists (select 1 from thread where title is not null)`;

/** The question an edit supersedes, read from its `last_question` CTE: its photos may move to the new one. */
const replacedQuestion = (question: Question) => (question.mode === 'edit' ? sql`(select id from last_question)` : sql`null::int`);

interface StoredQuestionRow {
  user_message_id: number;
  untitled: boolean;
  replaced_id: number | null;
}

/**
 * Runs the statement that stores the question and starts its turn. A question with photos, and any edit
 * (which carries the edited question's), runs it in a transaction with linking them, so a refused photo
 * undoes the question and the turn; the rest stays one statement, as the common case needs no more.
 */
/** A question without photos to link is stored by its statement alone; photos need a transaction around it. */
function storedInOneStatement(question: Question): boolean {
  const mode = question.mode ?? 'ask';
  const ids = question.attachments;
  return mode === 'regenerate' || (mode === 'ask' && (ids === undefined || ids.length === 0));
}

async function storeQuestion(db: Db, question: Question, statement: SQL): Promise<StoredQuestionRow | undefined> {
  if (storedInOneStatement(question)) return (await rawRows<StoredQuestionRow>(db, statement))[0];
  return db.transaction(async (tx) => {
    const [row] = await rawRows<StoredQuestionRow>(tx, statement);
    if (row) {
      await linkQuestionPhotos(tx, question.userId, { questionId: row.user_message_id, replacedId: row.replaced_id, ids: question.attachments });
    }
    return row;
  });
}

/**
 * Starts a queued turn if its thread is free, in one statement like `startTurnNow`; undefined, with nothing
 * stored, while another turn of the thread runs. A running turn whose owner died (lease lapsed, or abandoned
 * by this owner) is recovered first, so the thread frees up at once.
 */
export async function claimTurn(
  db: Db,
  request: { turnId: string; owner: string; leaseMs: number; abandoned: string[]; question: Question },
): Promise<StartedTurn | undefined> {
  const { question } = request;
  try {
    const row = await storeQuestion(
      db,
      question,
      sql`${questionOnceThreadIsOurs(question, sql`exists (select 1 from ${turns} where id = ${request.turnId} and status = 'queued')`)}
      update ${turns} set status = 'running', user_message_id = question.id, owner = ${request.owner},
             started_at = now(), lease_expires_at = now() + ${leaseInterval(request.leaseMs)}
      from question
      where ${turns.id} = ${request.turnId} and ${turns.status} = 'queued'
      returning ${turns.userMessageId} as user_message_id, ${UNTITLED} as untitled, ${replacedQuestion(question)} as replaced_id`,
    );
    return row ? { userMessageId: row.user_message_id, untitled: row.untitled } : undefined;
  } catch (error) {
    if (!violatesUnique(error, ONE_RUNNING_PER_THREAD)) throw error;
    await db.transaction(async (tx) => {
      await lockThread(tx, question.threadId);
      await recoverExpiredTurnsIn(tx, { threadId: question.threadId, abandoned: request.abandoned });
    });
    return undefined;
  }
}

/**
 * Keeps this instance's live turns owned. Returns the ids it still owns, and of those the ones a stop was
 * asked for (on any instance) since, which the caller stops: the path a stop takes when pub/sub cannot.
 */
export async function renewLeases(
  db: Db,
  owner: string,
  turnIds: string[],
  leaseMs: number,
): Promise<{ owned: string[]; stopRequested: string[] }> {
  if (turnIds.length === 0) return { owned: [], stopRequested: [] };
  const renewed = await db
    .update(turns)
    .set({ leaseExpiresAt: sql`now() + ${leaseInterval(leaseMs)}` })
    .where(and(inArray(turns.id, turnIds), eq(turns.owner, owner), inArray(turns.status, LIVE_STATUSES)))
    .returning({ id: turns.id, stopRequestedAt: turns.stopRequestedAt });
  return {
    owned: renewed.map((row) => row.id),
    stopRequested: renewed.filter((row) => row.stopRequestedAt !== null).map((row) => row.id),
  };
}

/** Marks the user's live turns (of one thread, or all), wherever they run, to be stopped; returns how many. */
export async function requestStop(db: Db, userId: string, threadId?: string): Promise<number> {
  const marked = await db
    .update(turns)
    .set({ stopRequestedAt: sql`coalesce(${turns.stopRequestedAt}, now())` })
    .where(and(eq(turns.userId, userId), inThread(threadId), inArray(turns.status, LIVE_STATUSES)))
    .returning({ id: turns.id });
  return marked.length;
}

/** How many of the user's turns (of one thread, or all) are queued or running, on any instance. */
export async function liveTurnCount(db: Db, userId: string, threadId?: string): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(turns)
    .where(and(eq(turns.userId, userId), inThread(threadId), inArray(turns.status, LIVE_STATUSES)));
  return row?.count ?? 0;
}

const inThread = (threadId: string | undefined) => (threadId === undefined ? undefined : eq(turns.threadId, threadId));

export interface StreamedChunk {
  seq: number;
  round: number;
  type: 'status' | 'token';
  content: string;
}

/**
 * One fixed statement for any number of chunks (arrays unnested), so it is prepared once and nothing is built
 * per call: a turn writes its events at least twice, and the builder cost more than the insert.
 */
export async function appendTurnEvents(db: Db, turnId: string, chunks: StreamedChunk[]): Promise<void> {
  if (chunks.length === 0) return;
  await queryRows(db, APPEND_TURN_EVENTS, [
    turnId,
    chunks.map((chunk) => chunk.seq),
    chunks.map((chunk) => chunk.round),
    chunks.map((chunk) => chunk.type),
    chunks.map((chunk) => chunk.content),
  ]);
}

export const APPEND_TURN_EVENTS = `insert into turn_events (turn_id, seq, round, type, content)
  select $1, seq, round, type, content from unnest($2::int[], $3::int[], $4::text[], $5::text[]) as e(seq, round, type, content)`;

export async function turnEventsAfter(db: Db, turnId: string, afterSeq: number): Promise<StreamedChunk[]> {
  return db
    .select({ seq: turnEvents.seq, round: turnEvents.round, type: turnEvents.type, content: turnEvents.content })
    .from(turnEvents)
    .where(and(eq(turnEvents.turnId, turnId), gt(turnEvents.seq, afterSeq)))
    .orderBy(asc(turnEvents.seq));
}

export interface TurnOutcome {
  status: FinalStatus;
  /** What the turn was charged in all (its ledger rows). */
  usageTokens: number;
  usageEstimated: boolean;
  assistantMessageId?: number | null;
  errorCode?: string | null;
  errorMessage?: string | null;
}

/** Thrown inside the transaction to undo it: the turn was no longer ours. */
class TurnNotOwned extends Error {}

/**
 * Ends a turn this instance still owns, with whatever else must change with it (the reply, its last charge)
 * in the same transaction. Returns false, changing nothing, when the turn was no longer ours: recovery took
 * it after our lease lapsed, and its outcome stands.
 */
export async function finishTurn(
  db: Db,
  turnId: string,
  owner: string,
  write: (tx: Tx) => Promise<TurnOutcome>,
): Promise<boolean> {
  try {
    return await db.transaction(async (tx) => {
      // The thread's lock before the reply goes in, as `closeTurnWithReply` takes it: a question started
      // meanwhile would otherwise be stored with an id below the reply's.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${THREAD_LOCK_PREFIX}::text || ${turns.threadId}))::text from ${turns} where ${turns.id} = ${turnId}`);
      const outcome = await write(tx);
      await releaseReservationIn(tx, turnId);
      const closed = await tx
        .update(turns)
        .set({ ...outcome, finishedAt: sql`now()` })
        .where(and(eq(turns.id, turnId), eq(turns.owner, owner), eq(turns.status, 'running')))
        .returning({ id: turns.id });
      if (closed.length === 0) throw new TurnNotOwned();
      return true;
    });
  } catch (error) {
    if (error instanceof TurnNotOwned) return false;
    throw error;
  }
}

/**
 * Turns whose owner stopped renewing their lease: their instance died. A running one is closed as
 * `interrupted`, its reply saved as far as it had streamed and its uncharged rounds charged as estimated; a
 * queued one never stored anything and is removed. Safe to run from any number of instances at once.
 */
/**
 * `running` are the turns the caller itself still runs: a lease it could not renew in time (an event loop
 * held up by a huge reply on a loaded machine) does not make it dead, and recovering its turn would fail the
 * reply it is about to save.
 */
export async function recoverExpiredTurns(db: Db, running: string[] = [], limit = 50): Promise<number> {
  const expired = await db
    .select({ threadId: turns.threadId })
    .from(turns)
    .where(and(inArray(turns.status, LIVE_STATUSES), lt(turns.leaseExpiresAt, sql`now()`), notRunning(running)))
    .limit(limit);
  const threadIds = [...new Set(expired.map((row) => row.threadId))];
  let recovered = 0;
  for (const threadId of threadIds) {
    recovered += await db.transaction(async (tx) => {
      await lockThread(tx, threadId);
      return recoverExpiredTurnsIn(tx, { threadId, running });
    });
  }
  return recovered;
}

const notRunning = (running: string[]) => (running.length > 0 ? notInArray(turns.id, running) : undefined);

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
  { threadId, abandoned = [], running = [] }: { threadId: string; abandoned?: string[]; running?: string[] },
): Promise<number> {
  const lapsed = and(lt(turns.leaseExpiresAt, sql`now()`), notRunning(running));
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
    await releaseReservationIn(tx, turn.id);
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

function tryLockThread(threadId: string) {
  return sql`pg_try_advisory_xact_lock(hashtext(${threadLockKey(threadId)}))`;
}

/** A transaction-scoped lock on one thread, shared by every process on the database. */
export async function lockThread(tx: Pick<Db, 'execute'>, threadId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${threadLockKey(threadId)}))`);
}

/** The key of a thread's advisory lock: one spelling for every process, and for the SQL that builds it. */
const THREAD_LOCK_PREFIX = 'fixthread:thread:';
const threadLockKey = (threadId: string) => `${THREAD_LOCK_PREFIX}${threadId}`;

/** `lockThread` as a statement to send in a batch (`queryBatch`) ahead of the statements it guards. */
export function lockThreadStatement(threadId: string): RawStatement {
  return { text: LOCK_THREAD, params: [threadLockKey(threadId)] };
}

const LOCK_THREAD = `select pg_advisory_xact_lock(hashtext($1))::text as locked`;

function leaseInterval(ms: number) {
  return sql`make_interval(secs => ${ms / 1000}::float8)`;
}

