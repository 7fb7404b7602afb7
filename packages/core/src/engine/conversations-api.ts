import type { DatabaseGuard } from '../db/database-guard';
import type { Db } from '../db/db';
import { NotFoundError, ValidationError } from '../errors';
import { threadMessages, userThreads } from '../store/export';
import { searchMessages } from '../store/search';
import { threadIdFor } from '../store/thread-id';
import { createThread, deleteThread, findThread, listThreads, renameThread, THREAD_TITLE_MAX, type ThreadSummary } from '../store/threads';
import type { ThreadAccess } from './thread-access';
import type { ChatEngine, ExportRecord } from './types';

const THREADS_PAGE_MAX = 100;
const SEARCH_LIMIT_MAX = 50;
const SEARCH_QUERY_MAX = 200;

type ConversationsApi = Pick<
  ChatEngine,
  'listThreads' | 'createThread' | 'renameThread' | 'deleteThread' | 'search' | 'exportThread' | 'exportAll'
>;

/** The user's threads as a collection: list, create, rename, delete, search across, export. */
export function conversationsApi(deps: {
  /** The user's scoped handle (`rowLevelSecurity`). */
  userDb: (userId: string) => Db;
  guard: DatabaseGuard;
  threads: ThreadAccess;
  /** Stops the thread's turns on every instance and waits until none is left. */
  settleThread(userId: string, threadId: string): Promise<void>;
}): ConversationsApi {
  const { userDb, guard, threads } = deps;
  return {
    async listThreads(userId, { cursor, limit = 30 } = {}) {
      if (!Number.isInteger(limit) || limit < 1 || limit > THREADS_PAGE_MAX) {
        throw new ValidationError(`limit must be an integer between 1 and ${THREADS_PAGE_MAX}`, 'limit');
      }
      return guard(() => listThreads(userDb(userId), userId, { cursor, limit }));
    },

    async createThread(userId, { title } = {}) {
      return guard(() => createThread(userDb(userId), userId, title === undefined ? null : validTitle(title)));
    },

    async renameThread(userId, threadId, title) {
      const thread = await threads.resolve(userId, threadId);
      const renamed = await guard(() => renameThread(userDb(userId), userId, thread, validTitle(title)));
      if (!renamed) throw new NotFoundError('No such thread');
      return renamed;
    },

    async deleteThread(userId, threadId) {
      const thread = await threads.resolve(userId, threadId);
      await deps.settleThread(userId, thread);
      await guard(() => deleteThread(userDb(userId), userId, thread));
      return { success: true, thread_id: thread };
    },

    async search(userId, query, { limit = 20 } = {}) {
      if (typeof query !== 'string' || query.trim() === '' || query.length > SEARCH_QUERY_MAX || !query.isWellFormed()) {
        throw new ValidationError(`q must be 1-${SEARCH_QUERY_MAX} characters of text`, 'q');
      }
      if (!Number.isInteger(limit) || limit < 1 || limit > SEARCH_LIMIT_MAX) {
        throw new ValidationError(`limit must be an integer between 1 and ${SEARCH_LIMIT_MAX}`, 'limit');
      }
      return { results: await guard(() => searchMessages(userDb(userId), userId, query, limit)) };
    },

    async exportThread(userId, threadId) {
      const thread = await threads.resolve(userId, threadId);
      const row = await guard(() => findThread(userDb(userId), userId, thread));
      if (!row && thread !== threadIdFor(userId)) throw new NotFoundError('No such thread');
      const summary: ThreadSummary | null = row
        ? {
            id: row.id,
            title: row.title,
            is_default: row.id === threadIdFor(userId),
            created_at: row.createdAt.toISOString(),
            updated_at: row.updatedAt.toISOString(),
            last_activity: row.lastMessageAt?.toISOString() ?? null,
            message_count: 0,
          }
        : null;
      return { thread: summary, messages: guarded(guard, threadMessages(userDb(userId), userId, thread)) };
    },

    exportAll(userId) {
      return guarded(guard, allRecords(userDb(userId), userId));
    },
  };
}

async function* allRecords(db: Db, userId: string): AsyncGenerator<ExportRecord> {
  for await (const thread of userThreads(db, userId)) {
    yield { type: 'thread', ...thread };
    for await (const message of threadMessages(db, userId, thread.id)) yield { type: 'message', ...message };
  }
}

/** Each page's read goes through the database guard, so an outage mid-export fails instead of hanging. */
async function* guarded<T>(guard: DatabaseGuard, source: AsyncGenerator<T>): AsyncGenerator<T> {
  for (;;) {
    const next = await guard(() => source.next());
    if (next.done) return;
    yield next.value;
  }
}

function validTitle(title: unknown): string {
  if (typeof title !== 'string') throw new ValidationError('title must be text', 'title');
  const trimmed = title.replace(/\s+/g, ' ').trim();
  if (trimmed === '' || trimmed.length > THREAD_TITLE_MAX || !trimmed.isWellFormed()) {
    throw new ValidationError(`title must be 1-${THREAD_TITLE_MAX} characters`, 'title');
  }
  return trimmed;
}
