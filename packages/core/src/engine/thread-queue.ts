/**
 * Orders this process's turns of one thread: only the first asks the database for the thread (see
 * `claimTurn`, which serializes across processes), so a burst of sends does not become a burst of claims.
 */
export class ThreadQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** The thread's slot if nobody in this process holds or waits for it, at once; otherwise undefined. */
  tryAcquire(threadId: string): (() => void) | undefined {
    if (this.tails.has(threadId)) return undefined;
    let release!: () => void;
    const tail = new Promise<void>((resolve) => (release = resolve));
    this.tails.set(threadId, tail);
    return this.releaser(threadId, tail, release);
  }

  async acquire(threadId: string): Promise<() => void> {
    const previous = this.tails.get(threadId) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => held);
    this.tails.set(threadId, tail);
    await previous;
    return this.releaser(threadId, tail, release);
  }

  /** Idempotent; the last holder to leave removes the thread's entry. */
  private releaser(threadId: string, tail: Promise<void>, release: () => void): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      if (this.tails.get(threadId) === tail) this.tails.delete(threadId);
    };
  }
}
