import type { Db } from '../db/db';
import { prepared } from './prepared';
import { threadIdFor } from './thread-id';
import type { Role } from './messages';

export interface ContextMessage {
  role: Role;
  content: string;
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
  const rows = await prepared(db).contextWindow.execute({
    threadId: options.threadId ?? threadIdFor(userId),
    cap: options.maxMessages ?? 400,
    budget: options.maxTokens,
  });
  let start = 0;
  while (start < rows.length - 1 && rows[start]?.role === 'assistant') start++;
  return rows.slice(start).map(({ role, content }) => ({ role, content }));
}
