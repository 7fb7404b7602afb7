import { TextRun } from './text-run';
import type { DoneEvent, PositionedEvent, TurnEvent } from './types';

type Entry = { kind: 'text'; run: TextRun } | { kind: 'event'; event: Exclude<TurnEvent, { type: 'token' }> };

/**
 * The events of one turn, kept for its lifetime so every reader (and a reader that comes back) replays from
 * the start. The producer never waits for readers: a slow or vanished reader cannot stall or stop a turn.
 *
 * Consecutive tokens are kept as one text run rather than an event each (a long reply is hundreds of thousands
 * of tokens), so a reader that is behind receives what it missed as one larger token event. A position names
 * a point in the log as `<entry>.<offset>`: the entry index, and for a text run how many UTF-16 code units of
 * it were delivered, so a reader can resume exactly where it stopped.
 */
export class TurnLog {
  private readonly entries: Entry[] = [];
  private failure: { error: unknown } | undefined;
  private finished = false;
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

  /** True once `done` or a failure was recorded, synchronously with it. */
  get isFinished(): boolean {
    return this.finished;
  }

  /** Everything the tokens said, in order: the reply as the user saw it. */
  text(): string {
    const runs: string[] = [];
    for (const entry of this.entries) if (entry.kind === 'text') runs.push(entry.run.toString());
    return runs.join('');
  }

  push(event: TurnEvent): void {
    if (this.finished) return;
    if (event.type === 'token') {
      if (event.content === '') return;
      const last = this.entries.at(-1);
      if (last?.kind === 'text') last.run.append(event.content);
      else this.entries.push({ kind: 'text', run: new TextRun(event.content) });
    } else {
      this.entries.push({ kind: 'event', event });
    }
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

  /** Events after `after` (a position this log yielded), or from the start. */
  async *read(signal?: AbortSignal, after?: string): AsyncGenerator<PositionedEvent> {
    let { entry, offset } = parsePosition(after);
    // One listener per reader that wakes whatever wait is current; racing a fresh promise per wait would pile
    // a reaction onto the abort promise for every event of a long stream.
    let wakeReader: (() => void) | undefined;
    const onAbort = () => wakeReader?.();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        while (entry < this.entries.length) {
          const current = this.entries[entry]!;
          if (current.kind === 'event') {
            entry++;
            offset = 0;
            yield { event: current.event, position: `${entry}.0` };
            continue;
          }
          if (offset < current.run.length) {
            const content = current.run.slice(offset);
            offset += content.length;
            yield { event: { type: 'token', content }, position: `${entry}.${offset}` };
            continue;
          }
          // A run is complete once anything follows it; until then more text may arrive for it.
          if (entry === this.entries.length - 1) break;
          entry++;
          offset = 0;
        }
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

/** Positions are only ever produced by `read`; anything else reads from the start. */
function parsePosition(position: string | undefined): { entry: number; offset: number } {
  const match = position === undefined ? null : /^(\d{1,9})\.(\d{1,12})$/.exec(position);
  if (!match) return { entry: 0, offset: 0 };
  return { entry: Number(match[1]), offset: Number(match[2]) };
}
