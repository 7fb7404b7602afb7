import type { Db } from '../db/db';
import { queryRows, type RawStatement } from '../db/raw-rows';
import { threadIdFor } from './thread-id';
import type { Role } from './messages';

export interface ContextMessage {
  role: Role;
  content: string;
}

/** A message of the context window with what the engine needs to fit photos around it. */
export interface ContextRow extends ContextMessage {
  id: number;
  /** Its text as the budget counts it: content tokens plus the message's framing. */
  tokens: number;
  /** A question sent with photos. */
  hasPhotos: boolean;
}

export interface LoadContextOptions {
  /** Budget for the thread's messages (the system prompt is accounted for by the caller). */
  maxTokens: number;
  /** Upper bound on rows read, whatever their size: keeps the work constant on very long threads. */
  maxMessages?: number;
  /** The user's default thread when absent. */
  threadId?: string | undefined;
}

/**
 * The most recent messages that fit the budget, oldest first. The newest message is always included, and
 * turns are dropped whole: a reply whose question fell out of the budget goes too.
 */
export async function loadContext(db: Db, userId: string, options: LoadContextOptions): Promise<ContextMessage[]> {
  return (await loadContextRows(db, userId, options)).map(({ role, content }) => ({ role, content }));
}

/** `loadContext` with each message's id and counted tokens. */
export async function loadContextRows(db: Db, userId: string, options: LoadContextOptions): Promise<ContextRow[]> {
  const { text, params } = contextWindow(userId, options);
  return contextRowsOf(await queryRows(db, text, params));
}

/** The context window's statement, for `loadContextRows` or to send in a batch with other statements. */
export function contextWindow(userId: string, options: LoadContextOptions): RawStatement {
  return { text: CONTEXT_WINDOW, params: [options.threadId ?? threadIdFor(userId), options.maxMessages ?? 400, options.maxTokens] };
}

/** The rows `contextWindow` read, as the window of context rows. */
export function contextRowsOf(rows: unknown[]): ContextRow[] {
  return fromQuestion(
    (rows as WindowRow[]).map(({ id, role, content, tokens, has_photos }) => ({ id, role, content, tokens: Number(tokens), hasPhotos: has_photos })),
  );
}

interface WindowRow {
  id: number;
  role: Role;
  content: string;
  tokens: number | string;
  has_photos: boolean;
}

/**
 * Bounded by the cap on rows read newest-first through (thread_id, id), so cost does not grow with the thread
 * (`prepared.ts` says why thread_id is a one-value range). Most questions come without photos: saying which
 * have some spares the turn a read of the rest. Raw (`queryRows`): a window is up to 400 rows, and mapping
 * them through Drizzle cost more than the read.
 */
export const CONTEXT_WINDOW = `select w.id, w.role, w.content, w.tokens,
    w.role = 'user' and exists (select 1 from attachments a where a.message_id = w.id) as has_photos
  from (
    select id, role, content, tokens,
           sum(tokens) over (order by id desc rows between unbounded preceding and current row) as running,
           row_number() over (order by id desc) as rn
    from (
      select id, role, content, coalesce(content_tokens, ceil(length(content) / 3.0)::int) + 4 as tokens
      from conversations
      where thread_id >= $1 and thread_id <= $1 and superseded_at is null
      order by thread_id desc, id desc
      limit $2
    ) newest
  ) w
  where w.running <= $3 or w.rn = 1
  order by w.id asc`;

/** A window opens on a question: replies whose question fell out of it go too. The newest message always stays. */
export function fromQuestion<Row extends { role: Role }>(rows: Row[]): Row[] {
  let start = 0;
  while (start < rows.length - 1 && rows[start]?.role === 'assistant') start++;
  return rows.slice(start);
}
