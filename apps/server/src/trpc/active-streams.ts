/**
 * The chat.stream subscriptions being served, so a shutdown can wait for each to deliver its `done` before
 * it closes their sockets.
 */
export class ActiveStreams {
  private active = 0;
  private readonly waiters = new Set<() => void>();

  /** Call at the start of a subscription; call the returned function in its `finally`. */
  enter(): () => void {
    this.active++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.active--;
      if (this.active === 0) for (const wake of this.waiters) wake();
    };
  }

  get size(): number {
    return this.active;
  }

  /** Resolves once no subscription is being served, or after `timeoutMs`, whichever comes first. */
  async settled(timeoutMs: number): Promise<void> {
    if (this.active === 0) return;
    let wake!: () => void;
    const idle = new Promise<void>((resolve) => (wake = resolve));
    this.waiters.add(wake);
    const timer = setTimeout(wake, timeoutMs);
    try {
      await idle;
    } finally {
      clearTimeout(timer);
      this.waiters.delete(wake);
    }
  }
}
