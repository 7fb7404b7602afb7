import type { TurnLog } from './turn-log';

/** A turn this process is running (or has queued). */
export interface LocalTurn {
  id: string;
  userId: string;
  threadId: string;
  controller: AbortController;
  log: TurnLog;
  /** Resolves with the stored user message id once the turn starts; rejects if it never does. */
  started: Promise<number>;
  /** Resolves once this process is done with the turn: saved, failed, or never started. */
  settled: Promise<void>;
}

/**
 * The turns running in this process: what `stop`, `clear` and shutdown reach, whose leases this process
 * renews, and what a reader in this process follows live instead of polling the database.
 */
export class TurnRegistry {
  private readonly byId = new Map<string, LocalTurn>();
  private readonly abandonedIds = new Set<string>();
  private readonly work = new Set<Promise<unknown>>();

  add(turn: LocalTurn): void {
    this.byId.set(turn.id, turn);
  }

  remove(turnId: string): void {
    this.byId.delete(turnId);
  }

  get(turnId: string): LocalTurn | undefined {
    return this.byId.get(turnId);
  }

  /** A turn that ended here without its record being closed; recovered when its thread is next claimed. */
  abandon(turnId: string): void {
    this.abandonedIds.add(turnId);
  }

  abandoned(): string[] {
    return [...this.abandonedIds];
  }

  recovered(turnIds: string[]): void {
    for (const id of turnIds) this.abandonedIds.delete(id);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  /** The user's turns, of one thread or all. */
  ofUser(userId: string, threadId?: string): LocalTurn[] {
    return [...this.byId.values()].filter(
      (turn) => turn.userId === userId && (threadId === undefined || turn.threadId === threadId),
    );
  }

  /** Aborts the user's turns (of one thread, or all); returns whether there were any. */
  stopUser(userId: string, threadId?: string): boolean {
    const turns = this.ofUser(userId, threadId);
    for (const turn of turns) turn.controller.abort();
    return turns.length > 0;
  }

  stopAll(): void {
    for (const turn of this.byId.values()) turn.controller.abort();
  }

  /** Work that must finish before the process may stop (a turn, its bookkeeping). */
  track<T>(work: Promise<T>): Promise<T> {
    this.work.add(work);
    void work.finally(() => this.work.delete(work)).catch(() => {});
    return work;
  }

  async drain(): Promise<void> {
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }
}
