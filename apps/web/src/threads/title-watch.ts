import { isThread, storageKey, type ThreadKey, type ThreadRef } from './thread-key';

/** How long after a turn the list keeps looking for the automatic title before it gives up. */
export const TITLE_WAIT_MS = 15_000;
/** How often the list is refetched meanwhile. */
export const TITLE_POLL_MS = 1_500;

/**
 * The server names a thread shortly after its first answer, not with it: the threads that just had a turn and
 * have no title yet are watched, so the list is refetched until they get one (or a while has passed).
 */
export class TitleWatch {
  private readonly deadlines = new Map<string, { key: ThreadKey; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  watch(key: ThreadKey): void {
    this.deadlines.set(storageKey(key), { key, until: this.now() + TITLE_WAIT_MS });
  }

  /** Whether the list should be refetched for a title; forgets the threads that have one or waited too long. */
  waiting(threads: readonly (ThreadRef & { title: string | null })[] | undefined): boolean {
    const now = this.now();
    for (const [id, { key, until }] of this.deadlines) {
      const listed = threads?.find((thread) => isThread(thread, key));
      if (until <= now || (listed && listed.title !== null)) this.deadlines.delete(id);
    }
    return this.deadlines.size > 0;
  }
}
