/**
 * Serializes work per user within this process: a user's turns run one after another, so each turn's
 * context holds the previous reply. (Across instances this becomes a Postgres advisory lock or Redis lease.)
 */
export class UserLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(userId: string): Promise<() => void> {
    const previous = this.tails.get(userId) ?? Promise.resolve();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => held);
    this.tails.set(userId, tail);
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      if (this.tails.get(userId) === tail) this.tails.delete(userId);
    };
  }
}
