import type { DoneEvent, TurnEvent } from './types';

/**
 * The events of one turn, kept for its lifetime so every reader (and a reader that comes back) replays from
 * the start. The producer never waits for readers: a slow or vanished reader cannot stall or stop a turn.
 */
export class TurnLog {
  private readonly events: TurnEvent[] = [];
  private failure: { error: unknown } | undefined;
  private finished = false;

  /** True once `done` or a failure was recorded, synchronously with it. */
  get isFinished(): boolean {
    return this.finished;
  }
  private wake: (() => void) | undefined;
  private changed: Promise<void>;
  readonly done: Promise<DoneEvent>;
  private resolveDone!: (event: DoneEvent) => void;
  private rejectDone!: (error: unknown) => void;

  constructor() {
    this.changed = this.nextChange();
    this.done = new Promise<DoneEvent>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // A turn nobody awaits must not crash the process with an unhandled rejection.
    this.done.catch(() => {});
  }

  push(event: TurnEvent): void {
    if (this.finished) return;
    this.events.push(event);
    if (event.type === 'done') {
      this.finished = true;
      this.resolveDone(event);
    }
    this.notify();
  }

  fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = { error };
    this.rejectDone(error);
    this.notify();
  }

  async *read(signal?: AbortSignal): AsyncGenerator<TurnEvent> {
    let next = 0;
    // One listener per reader that wakes whatever wait is current; racing a fresh promise per wait would pile
    // a reaction onto the abort promise for every event of a long stream.
    let wakeReader: (() => void) | undefined;
    const onAbort = () => wakeReader?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        while (next < this.events.length) yield this.events[next++]!;
        if (this.failure) throw this.failure.error;
        if (this.finished || signal?.aborted) return;
        await new Promise<void>((resolve) => {
          wakeReader = resolve;
          void this.changed.then(resolve);
        });
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.changed = this.nextChange();
    wake?.();
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }
}
