import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useChatTurns } from '../chat/chat-turns-context';
import { olderPagesKey } from '../chat/use-history';
import { useTRPC } from '../trpc';
import { threadInput, type ThreadKey } from './thread-key';
import { flattenThreads, withThreadAdded, withThreadRemoved, withThreadReplaced } from './thread-pages';
import { TITLE_POLL_MS } from './title-watch';

/** Threads per page of the list; more load as the list scrolls. */
export const THREADS_INPUT = { limit: 30 };

export function useThreadListOptions() {
  const trpc = useTRPC();
  const { titles } = useChatTurns();
  return trpc.threads.list.infiniteQueryOptions(THREADS_INPUT, {
    getNextPageParam: (page) => page.next_cursor ?? undefined,
    // A thread is named a moment after its first answer: look again until the name is there.
    refetchInterval: (query) => (titles.waiting(flattenThreads(query.state.data)) ? TITLE_POLL_MS : false),
  });
}

/** The user's threads, newest activity first, each once. */
export function useThreadList() {
  const query = useInfiniteQuery(useThreadListOptions());
  const threads = useMemo(() => flattenThreads(query.data), [query.data]);
  return { ...query, threads };
}

/** Create, rename and delete, each keeping the cached list (and the deleted thread's caches) right. */
export function useThreadMutations() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { turns } = useChatTurns();
  const listKey = useThreadListOptions().queryKey;
  const invalidateList = () => void queryClient.invalidateQueries({ queryKey: trpc.threads.list.pathKey() });

  const create = useMutation(
    trpc.threads.create.mutationOptions({
      onSuccess: (thread) => {
        queryClient.setQueryData(listKey, (data) => withThreadAdded(data, thread));
        invalidateList();
      },
    }),
  );

  const rename = useMutation(
    trpc.threads.rename.mutationOptions({
      onSuccess: (thread) => {
        queryClient.setQueryData(listKey, (data) => withThreadReplaced(data, thread));
        invalidateList();
      },
    }),
  );

  const remove = useMutation(
    trpc.threads.delete.mutationOptions({
      onSuccess: (_result, { threadId }) => {
        queryClient.setQueryData(listKey, (data) => withThreadRemoved(data, threadId));
        invalidateList();
        // Search results may point into it.
        void queryClient.invalidateQueries({ queryKey: trpc.chat.search.pathKey() });
      },
    }),
  );

  /**
   * Everything of a deleted thread: its stream stops delivering, its caches go. Called once another thread is
   * shown (if it was the one shown), so its view doesn't fetch it again in the meantime.
   */
  const forgetThread = (key: ThreadKey) => {
    turns.forget(key);
    // Everything cached of it: its history pages, older pages and stats. Reset, not removed: the default thread
    // comes back empty, and if it is still on screen its view shows that (a reset refetches what is shown).
    void queryClient.resetQueries({ queryKey: trpc.chat.history.pathKey(), predicate: (query) => sameThread(query.queryKey, key) });
    void queryClient.resetQueries({ queryKey: olderPagesKey(key) });
    void queryClient.resetQueries({ queryKey: trpc.chat.sessions.queryKey(threadInput(key)), exact: true });
  };

  return { create, rename, remove, forgetThread };
}

/** Whether a tRPC query key's input names this thread (its `threadId`, or none for the default thread). */
function sameThread(queryKey: readonly unknown[], key: ThreadKey): boolean {
  const meta = queryKey[1] as { input?: { threadId?: string } } | undefined;
  return (meta?.input?.threadId ?? null) === key;
}
