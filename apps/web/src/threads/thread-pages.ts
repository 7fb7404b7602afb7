import type { ThreadRef } from './thread-key';

/** A page of `threads.list`, as the infinite query holds them. */
export interface ThreadPageLike<T extends ThreadRef> {
  threads: T[];
  next_cursor: string | null;
}

export interface PagesLike<P> {
  pages: P[];
  pageParams: unknown[];
}

/**
 * Every listed thread once, in the list's order. A thread with new activity moves to the front between two
 * page fetches, so it can be on two pages: the first sighting (the newer one) wins.
 */
export function flattenThreads<T extends ThreadRef>(data: PagesLike<ThreadPageLike<T>> | undefined): T[] {
  const seen = new Set<string>();
  const threads: T[] = [];
  for (const page of data?.pages ?? []) {
    for (const thread of page.threads) {
      if (seen.has(thread.id)) continue;
      seen.add(thread.id);
      threads.push(thread);
    }
  }
  return threads;
}

/** The list with a newly created thread first (the newest activity), unless a refetch brought it in already. */
export function withThreadAdded<T extends ThreadRef, D extends PagesLike<ThreadPageLike<T>>>(data: D | undefined, thread: T): D | undefined {
  if (!data) return data;
  if (data.pages.some((page) => page.threads.some((listed) => listed.id === thread.id))) return withThreadReplaced(data, thread);
  const [first, ...rest] = data.pages;
  const front = first ? { ...first, threads: [thread, ...first.threads] } : { threads: [thread], next_cursor: null };
  return { ...data, pages: [front, ...rest] };
}

/** The list with one thread's summary replaced (a rename), where it stands. */
export function withThreadReplaced<T extends ThreadRef, D extends PagesLike<ThreadPageLike<T>>>(data: D | undefined, thread: T): D | undefined {
  if (!data) return data;
  return {
    ...data,
    pages: data.pages.map((page) => ({
      ...page,
      threads: page.threads.map((listed) => (listed.id === thread.id ? thread : listed)),
    })),
  };
}

export function withThreadRemoved<T extends ThreadRef, D extends PagesLike<ThreadPageLike<T>>>(data: D | undefined, id: string): D | undefined {
  if (!data) return data;
  return { ...data, pages: data.pages.map((page) => ({ ...page, threads: page.threads.filter((listed) => listed.id !== id) })) };
}

/** Where to go when the thread shown is deleted: the next one down the list, else the one above, else none. */
export function neighbourOf<T extends ThreadRef>(threads: readonly T[], id: string): T | undefined {
  const index = threads.findIndex((thread) => thread.id === id);
  if (index === -1) return threads[0];
  return threads[index + 1] ?? threads[index - 1];
}
