import { TextRun } from './text-run';
import type { DoneEvent, SequencedEvent, TurnEvent } from './types';

type Chunk = Exclude<TurnEvent, { type: 'done' }>;
type Entry = { kind: 'text'; run: TextRun; lastSeq: number } | { kind: 'event'; event: TurnEvent; seq: number };

/**
 * The live events of one turn in this process, numbered as they were stored (`seq`), so a reader resumes
 * after any event id it saw. The producer never waits for readers: a slow or vanished reader cannot stall or
 * stop a turn.
 *
 * Consecutive token chunks are kept as one text run, with only each chunk's end offset on the side, rather
 * than an object per token (a long reply is hundreds of thousands of tokens): memory stays near the reply's
 * size, and a reader that is behind receives what it missed as one larger token event.
 */
export class TurnLog {
  private readonly entries: Entry[] = [];
  /** Per seq (index seq - 1): the entry holding the chunk, and for text the run's length after it. */
  private readonly chunkEntry: number[] = [];
  private readonly chunkEnd: number[] = [];
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

  /** The seq of the newest event. */
  get lastSeq(): number {
    return this.chunkEntry.length;
  }

  /** Adds a stored chunk; `seq` must be the next one. */
  append(seq: number, chunk: Chunk): void {
    if (this.finished) return;
    if (seq !== this.lastSeq + 1) throw new Error(`turn log expected seq ${this.lastSeq + 1}, got ${seq}`);
    const last = this.entries.at(-1);
    if (chunk.type === 'token' && last?.kind === 'text') {
      last.run.append(chunk.content);
      last.lastSeq = seq;
    } else if (chunk.type === 'token') {
      this.entries.push({ kind: 'text', run: new TextRun(chunk.content), lastSeq: seq });
    } else {
      this.entries.push({ kind: 'event', event: chunk, seq });
    }
    const entry = this.entries.length - 1;
    const current = this.entries[entry]!;
    this.chunkEntry.push(entry);
    this.chunkEnd.push(current.kind === 'text' ? current.run.length : 0);
    this.notify();
  }

  finish(done: DoneEvent): void {
    if (this.finished) return;
    this.chunkEntry.push(this.entries.length);
    this.chunkEnd.push(0);
    this.entries.push({ kind: 'event', event: done, seq: this.chunkEntry.length });
    this.finished = true;
    this.resolveDone(done);
    this.notify();
  }

  fail(error: unknown): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = { error };
    this.rejectDone(error);
    this.notify();
  }

  /** Everything the tokens said, in order: the reply as the user saw it. */
  text(): string {
    const runs: string[] = [];
    for (const entry of this.entries) if (entry.kind === 'text') runs.push(entry.run.toString());
    return runs.join('');
  }

  /** Events after `afterSeq` (0: from the start), each with its seq. */
  async *read(signal?: AbortSignal, afterSeq = 0): AsyncGenerator<SequencedEvent> {
    let { entry, offset } = this.locate(afterSeq);
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
            yield { event: current.event, seq: current.seq };
            continue;
          }
          if (offset < current.run.length) {
            const seq = current.lastSeq;
            const content = current.run.slice(offset);
            offset += content.length;
            yield { event: { type: 'token', content }, seq };
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

  private locate(afterSeq: number): { entry: number; offset: number } {
    if (afterSeq <= 0) return { entry: 0, offset: 0 };
    if (afterSeq > this.lastSeq) return { entry: this.entries.length, offset: 0 };
    const entry = this.chunkEntry[afterSeq - 1]!;
    const holder = this.entries[entry]!;
    return holder.kind === 'text' ? { entry, offset: this.chunkEnd[afterSeq - 1]! } : { entry: entry + 1, offset: 0 };
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
