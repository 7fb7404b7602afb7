import { and, desc, eq, isNull } from 'drizzle-orm';
import type { DatabaseGuard } from '../db/database-guard';
import type { Db } from '../db/db';
import { conversations } from '../db/schema';
import { NotFoundError, ValidationError } from '../errors';
import { threadIdFor } from '../store/thread-id';
import { findThread } from '../store/threads';

const MAX_THREAD_ID_LENGTH = 400;

/**
 * Which thread a request means, checked against its owner. The default thread (absent, or `user-{id}`) is
 * always the user's own, row or not: it is created on first use. Any other id must be a thread this user
 * owns; someone else's and an unknown one are the same 404, so ids cannot be probed.
 */
export function threadAccess({ userDb, guard }: { userDb: (userId: string) => Db; guard: DatabaseGuard }) {
  return {
    async resolve(userId: string, threadId: unknown): Promise<string> {
      if (threadId === undefined || threadId === null) return threadIdFor(userId);
      if (typeof threadId !== 'string' || threadId.length === 0 || threadId.length > MAX_THREAD_ID_LENGTH) {
        throw new ValidationError(`thread_id must be 1-${MAX_THREAD_ID_LENGTH} characters`, 'thread_id');
      }
      if (threadId === threadIdFor(userId)) return threadId;
      if (!(await guard(() => findThread(userDb(userId), userId, threadId)))) throw new NotFoundError('No such thread');
      return threadId;
    },

    /** Regenerating needs a question to answer again, editing one to replace. */
    async expectLastQuestion(userId: string, threadId: string, mode: 'regenerate' | 'edit'): Promise<void> {
      const [last] = await guard(() =>
        userDb(userId)
          .select({ id: conversations.id })
          .from(conversations)
          .where(
            and(
              eq(conversations.threadId, threadId),
              eq(conversations.userId, userId),
              eq(conversations.role, 'user'),
              isNull(conversations.supersededAt),
            ),
          )
          .orderBy(desc(conversations.id))
          .limit(1),
      );
      if (!last) {
        throw new ValidationError(mode === 'regenerate' ? 'There is no answer to regenerate' : 'There is no question to edit');
      }
    },
  };
}

export type ThreadAccess = ReturnType<typeof threadAccess>;
