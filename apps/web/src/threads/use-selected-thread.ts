import { useCallback, useEffect, useState } from 'react';
import { searchWithThread, threadKeyFromSearch, type ThreadKey } from './thread-key';

export interface SelectedThread {
  key: ThreadKey;
  /**
   * Shows another thread. A choice of the user's is a new history entry, so Back returns to the thread before;
   * `replace` is for corrections (the thread was deleted, or named by the default thread's own id).
   */
  select: (key: ThreadKey, options?: { replace?: boolean }) => void;
}

function urlFor(key: ThreadKey): string {
  return `${window.location.pathname}${searchWithThread(window.location.search, key)}`;
}

/** The thread shown lives in the URL (`?thread=<id>`), so it survives a reload and Back/Forward move between threads. */
export function useSelectedThread(): SelectedThread {
  const [key, setKey] = useState<ThreadKey>(() => threadKeyFromSearch(window.location.search));

  useEffect(() => {
    const onPopState = () => setKey(threadKeyFromSearch(window.location.search));
    window.addEventListener('popstate', onPopState);
    return () => window.removeEventListener('popstate', onPopState);
  }, []);

  const select = useCallback((next: ThreadKey, options?: { replace?: boolean }) => {
    const current = threadKeyFromSearch(window.location.search);
    if (current !== next || window.location.hash) {
      if (options?.replace) window.history.replaceState(window.history.state, '', urlFor(next));
      else window.history.pushState(null, '', urlFor(next));
    }
    setKey(next);
  }, []);

  return { key, select };
}

/** Signing out: the next person to sign in here starts on their own default thread, not on a link to this one's. */
export function forgetSelectedThread(): void {
  if (threadKeyFromSearch(window.location.search) !== null) window.history.replaceState(null, '', urlFor(null));
}
