import { skipToken, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useMemo, useRef } from 'react';
import type { History } from '../api-types';
import { storageKey, threadInput, type ThreadKey } from '../threads/thread-key';
import { useTRPC } from '../trpc';
import { mergeHistory, olderCursor, withOlderPage, type OlderPages } from './history-pages';

/** How much of a thread the view shows at first, and after each turn; the server's maximum is 200. */
export const HISTORY_LIMIT = 100;
/** Each page loaded by scrolling up. */
export const OLDER_PAGE_LIMIT = 50;

export function historyInput(key: ThreadKey) {
  return { ...threadInput(key), limit: HISTORY_LIMIT };
}

export function useHistoryOptions(key: ThreadKey) {
  return useTRPC().chat.history.queryOptions(historyInput(key));
}

/** Where a thread's older pages are kept: beside the latest page, never refetched (older messages don't change). */
export function olderPagesKey(key: ThreadKey) {
  return ['fixthread', 'older-history', storageKey(key)] as const;
}

export interface ThreadHistory {
  /** The latest page with every older page loaded so far in front of it. */
  data: History | undefined;
  isPending: boolean;
  isError: boolean;
  error: unknown;
  refetch: () => Promise<unknown>;
  /** Loads the page before the oldest message shown; resolves with whether one was loaded. */
  loadOlder: () => Promise<boolean>;
  loadingOlder: boolean;
  olderError: unknown;
}

export function useHistory(key: ThreadKey): ThreadHistory {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const latestOptions = useHistoryOptions(key);
  const latest = useQuery(latestOptions);
  const older = useQuery<OlderPages>({ queryKey: olderPagesKey(key), queryFn: skipToken, staleTime: Infinity });
  const data = latest.data && mergeHistory(latest.data, older.data);
  const latestKey = useMemo(() => trpc.chat.history.queryKey(historyInput(key)), [trpc, key]);

  const load = useMutation({
    mutationFn: async (before: number) => {
      const page = await queryClient.fetchQuery({
        ...trpc.chat.history.queryOptions({ ...threadInput(key), limit: OLDER_PAGE_LIMIT, before }),
        staleTime: 0,
      });
      queryClient.setQueryData<OlderPages>(olderPagesKey(key), (pages) => withOlderPage(pages, page));
      return page;
    },
  });
  const { mutateAsync, isPending: loadingOlder } = load;
  const inFlight = useRef(false);

  const loadOlder = useCallback(async () => {
    // From the cache, not the last render: a scroll event can come before the render of the page just loaded.
    const shown = queryClient.getQueryData(latestKey);
    const before = olderCursor(shown && mergeHistory(shown, queryClient.getQueryData<OlderPages>(olderPagesKey(key))));
    if (before === null || inFlight.current) return false;
    inFlight.current = true;
    try {
      await mutateAsync(before);
      return true;
    } catch {
      return false;
    } finally {
      inFlight.current = false;
    }
  }, [mutateAsync, queryClient, latestKey, key]);

  return {
    data,
    isPending: latest.isPending,
    isError: latest.isError,
    error: latest.error,
    refetch: latest.refetch,
    loadOlder,
    loadingOlder,
    olderError: load.error,
  };
}
