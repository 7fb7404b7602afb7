import type { StreamedChunk } from '../store/turns';

/** What must reach the instance running a user's turns, wherever the request landed. */
export interface ControlMessage {
  type: 'stop' | 'clear';
  userId: string;
  /** One thread's turns; all the user's when absent. */
  threadId?: string | undefined;
}

/**
 * What a follower is handed, in the order it was published: stored chunks, then `end` once the turn is
 * closed. Chunks may repeat or skip (a follower catching up, Redis trimming or restarting); the reader
 * mends both by seq against the database, which holds every chunk before it is published.
 */
export interface LiveBatch {
  chunks: StreamedChunk[];
  end: boolean;
}

export type LiveRead =
  | { kind: 'batches'; batches: LiveBatch[] }
  /** Nothing arrived in the time given: the reader looks at the record (the owner may have died). */
  | { kind: 'idle' }
  /** The live store cannot be reached: the reader follows the database until it can. */
  | { kind: 'unavailable' };

export interface LiveFollower {
  next(idleMs: number, signal?: AbortSignal): Promise<LiveRead>;
  close(): void;
}

export type LiveStatus = 'up' | 'down' | 'disabled';

/**
 * Where the live side of turns goes between instances: each stored batch of a turn's events, so a reader on
 * any instance follows it without polling, and the control messages that must reach a turn's owner. Only
 * what is live goes here; the database stays the record, so losing this loses no saved data.
 */
export interface LiveEvents {
  readonly kind: 'redis' | 'in-process';
  /** Fire and forget: a turn never waits for, or fails on, the live store. */
  publish(turnId: string, chunks: StreamedChunk[]): void;
  /** The turn is closed in the database. */
  end(turnId: string): void;
  /** A live feed of a turn another instance runs; undefined when there are no other instances to hear from. */
  follow(turnId: string): LiveFollower | undefined;
  /** Best effort, bounded in time: stops also reach their turns through the database. */
  broadcast(message: ControlMessage): Promise<void>;
  /** Messages from every instance, this one included. Returns the unsubscribe. */
  onControl(handler: (message: ControlMessage) => void): () => void;
  status(): Promise<LiveStatus>;
  close(): Promise<void>;
}
