/**
 * Which thread the client means. `null` is the user's default thread (`user-{id}`): the API takes it when no
 * `threadId` is given, and it is what a user who never made another thread has always used. Every other thread
 * is named by its id. There is one key per thread, so its history, stream and stats have one cache entry each:
 * the default thread's own id (as the thread list reports it) is turned into `null` by `canonicalThreadKey`.
 */
export type ThreadKey = string | null;

/** The query parameter the selected thread lives in: `?thread=<id>`, absent for the default thread. */
export const THREAD_PARAM = 'thread';

export interface ThreadRef {
  id: string;
  is_default: boolean;
}

/** The API input naming the thread: none for the default one. */
export function threadInput(key: ThreadKey): { threadId?: string } {
  return key === null ? {} : { threadId: key };
}

/**
 * The key for a thread id the server gave (a list entry, a search result). The default thread is known by the
 * list's `is_default`; without the list, by its shape: the default id is the only one without a `/`.
 */
export function canonicalThreadKey(id: string, threads: readonly ThreadRef[] | undefined): ThreadKey {
  const listed = threads?.find((thread) => thread.id === id);
  if (listed) return listed.is_default ? null : listed.id;
  return id.includes('/') ? id : null;
}

/** A listed thread's key. */
export function threadKeyOf(thread: ThreadRef): ThreadKey {
  return thread.is_default ? null : thread.id;
}

/** Whether a thread (as listed) is the one the key names. */
export function isThread(thread: ThreadRef, key: ThreadKey): boolean {
  return key === null ? thread.is_default : thread.id === key;
}

export function threadKeyFromSearch(search: string): ThreadKey {
  const id = new URLSearchParams(search).get(THREAD_PARAM);
  return id ? id : null;
}

/** The same query string with the thread parameter set (or removed for the default thread); the rest kept. */
export function searchWithThread(search: string, key: ThreadKey): string {
  const params = new URLSearchParams(search);
  if (key === null) params.delete(THREAD_PARAM);
  else params.set(THREAD_PARAM, key);
  const query = params.toString();
  return query ? `?${query}` : '';
}

/** A Map key for a thread key (Maps can hold null, but one spelling keeps logs and tests readable). */
export function storageKey(key: ThreadKey): string {
  return key ?? '';
}
