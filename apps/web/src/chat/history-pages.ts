import type { History, HistoryMessage } from '../api-types';

/**
 * How much of a thread is on screen: the latest page (`chat.history` without `before`, refetched after every
 * turn) and the older pages loaded since by scrolling up (with `before`). Older messages don't change, so those
 * pages are fetched once and kept; the latest page is the truth for everything it covers.
 */
export interface OlderPages {
  /** Oldest first, as the API returns a page. */
  messages: HistoryMessage[];
  /** Whether the server has messages older than these. */
  hasMore: boolean;
  /** The `before` for the next older page. */
  nextBefore: number | null;
}

/** The history to show: older pages, then the latest page. Older messages the latest page covers are its to show. */
export function mergeHistory(latest: History, older: OlderPages | undefined): History {
  const oldestLatest = latest.messages[0]?.id;
  // An empty or complete latest page (the thread was cleared, or is short) leaves nothing older to show.
  if (!older || oldestLatest === undefined || !latest.has_more) return latest;
  const kept = older.messages.filter((message) => message.id < oldestLatest);
  return { ...latest, messages: [...kept, ...latest.messages], has_more: older.hasMore, next_before: older.nextBefore };
}

/** The older pages with one more (older) page added in front, never holding a message twice. */
export function withOlderPage(older: OlderPages | undefined, page: History): OlderPages {
  const known = new Set(older?.messages.map((message) => message.id));
  const fresh = page.messages.filter((message) => !known.has(message.id));
  return { messages: [...fresh, ...(older?.messages ?? [])], hasMore: page.has_more, nextBefore: page.next_before };
}

/** The `before` that loads the page older than what is shown, or null when there is none. */
export function olderCursor(history: History | undefined): number | null {
  if (!history?.has_more) return null;
  return history.next_before ?? history.messages[0]?.id ?? null;
}
