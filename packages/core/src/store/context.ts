import type { Db } from '../db/db';
import { prepared } from './prepared';
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
  const rows = await prepared(db).contextWindow.execute({
    threadId: options.threadId ?? threadIdFor(userId),
    cap: options.maxMessages ?? 400,
    budget: options.maxTokens,
  });
  return fromQuestion(rows.map(({ id, role, content, tokens, hasPhotos }) => ({ id, role, content, tokens: Number(tokens), hasPhotos })));
}

/** A window opens on a question: replies whose question fell out of it go too. The newest message always stays. */
export function fromQuestion<Row extends { role: Role }>(rows: Row[]): Row[] {
  let start = 0;
  while (start < rows.length - 1 && rows[start]?.role === 'assistant') start++;
  return rows.slice(start);
}
