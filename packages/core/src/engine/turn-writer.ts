import type { StreamedChunk } from '../store/turns';

interface PendingChunk {
  type: 'status' | 'token';
  round: number;
  pieces: string[];
}

export interface TurnWriterTarget {
  /** Stores chunks durably; they are published only once this resolves. */
  persist(chunks: StreamedChunk[]): Promise<void>;
  /** The batch just stored, in seq order. */
  publish(chunks: StreamedChunk[]): void;
  /** Storing failed: the turn cannot go on without losing what it streams. */
  onFailure(error: unknown): void;
}

/**
 * Writes a turn's events to the database before anyone sees them, so a reader never sees text a crash could
 * lose. Group commit: the first token is written at once; tokens that arrive while a write is in flight wait
 * and go together in the next one, merged into one chunk per run of text. Latency per event is one insert,
 * and the number of inserts falls as the model streams faster.
 */
export class TurnWriter {
  private pending: PendingChunk[] = [];
  private nextSeq = 1;
  private writing: Promise<void> | undefined;
  private failure: { error: unknown } | undefined;
  private closed = false;

  constructor(private readonly target: TurnWriterTarget) {}

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  token(content: string, round: number): void {
    if (content === '' || this.closed) return;
    const last = this.pending.at(-1);
    if (last?.type === 'token' && last.round === round) last.pieces.push(content);
    else this.pending.push({ type: 'token', round, pieces: [content] });
    this.schedule();
  }

  status(content: string, round: number): void {
    if (this.closed) return;
    this.pending.push({ type: 'status', round, pieces: [content] });
    this.schedule();
  }

  /** Resolves once everything given so far is stored and published; rejects if storing failed. */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.failure) throw this.failure.error;
  }

  /**
   * Ends the writer: waits for the write in flight, then hands back what is left, numbered but neither stored
   * nor published, for the caller to store with the turn's close and then `publish`. The last batch so costs
   * no write of its own; nothing given to the writer afterwards is kept.
   */
  async takeTail(): Promise<StreamedChunk[]> {
    this.closed = true;
    await this.flushed();
    return this.takePending();
  }

  /** Publishes a tail that `takeTail` handed back, once it is stored. */
  publish(chunks: StreamedChunk[]): void {
    if (chunks.length > 0) this.target.publish(chunks);
  }

  /** What is pending, numbered, leaving nothing pending. */
  private takePending(): StreamedChunk[] {
    const taken = this.pending.map(
      (chunk): StreamedChunk => ({ seq: this.nextSeq++, round: chunk.round, type: chunk.type, content: chunk.pieces.join('') }),
    );
    this.pending = [];
    return taken;
  }

  private schedule(): void {
    if (this.writing || this.failure || this.closed) return;
    this.writing = this.writeAll().finally(() => {
      this.writing = undefined;
      // Events that arrived after the loop's last look would otherwise wait for the next one.
      if (this.pending.length > 0) this.schedule();
    });
  }

  private async writeAll(): Promise<void> {
    // Once closed, what is left is the tail, stored with the turn's close.
    while (this.pending.length > 0 && !this.failure && !this.closed) {
      const batch = this.takePending();
      try {
        await this.target.persist(batch);
      } catch (error) {
        this.failure = { error };
        this.target.onFailure(error);
        return;
      }
      this.target.publish(batch);
      // Let readers send what was just published before the next write: an embedded database (PGlite) runs
      // its statements on this thread, and would otherwise hold the first token back behind the second write.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
