import type { Source } from '../db/schema';
import type { HistoryMessage, ThreadStats } from '../store/messages';

/** What every transport sends, in order: any number of status/token events, then exactly one `done`. */
export type TurnEvent =
  | { type: 'status'; content: string }
  | { type: 'token'; content: string }
  | {
      type: 'done';
      thread_id: string;
      turn_id: string;
      /** id of the stored user message this turn answers. */
      user_message_id: number;
      /** id of the stored assistant message. */
      message_id: number;
      sources: Source[];
      /** Tokens the turn spent (all LLM calls); `estimated` when the provider reported none for some. */
      usage: { total_tokens: number; estimated: boolean };
      /** True when the user pressed stop: the partial answer was saved. */
      stopped: boolean;
      /** True when the server running it died: the reply was saved as far as it had streamed. */
      interrupted: boolean;
    };

export type DoneEvent = Extract<TurnEvent, { type: 'done' }>;

/** An event with its number in the turn; `<turn id>:<seq>` is its durable event id. */
export interface SequencedEvent {
  event: TurnEvent;
  seq: number;
}

export interface SendResult {
  response: string;
  thread_id: string;
  turn_id: string;
}

export interface HistoryResult {
  thread_id: string;
  message_count: number;
  messages: HistoryMessage[];
}

export interface ClearResult {
  success: true;
  message: string;
  thread_id: string;
}

export interface SendOptions {
  /**
   * The client's idempotency key (1–255 characters): the same key again returns the original turn instead
   * of asking twice; with another message it is a ConflictError.
   */
  clientMessageId?: string | undefined;
}

/**
 * A turn under way or finished. It keeps running when readers go away (a refresh then shows the saved
 * answer); only `stop()` cuts it short. `events()` can be read any number of times, from the start or after
 * any seq it yielded, by this process or, after a restart, by any other.
 */
export interface Turn {
  readonly id: string;
  readonly threadId: string;
  /** The acknowledged user message: already stored when the turn is returned. */
  readonly userMessageId: number;
  events(options?: { signal?: AbortSignal | undefined; afterSeq?: number | undefined }): AsyncIterable<SequencedEvent>;
  /** Resolves with the final `done` event, or rejects with the turn's typed error. */
  readonly done: Promise<DoneEvent>;
  stop(): void;
}

export interface ChatEngine {
  /**
   * Validates the message (throws ValidationError / QuotaExceeded before storing anything), stores it, and
   * starts the reply. Turns of a thread run one after another, across processes.
   */
  startTurn(userId: string, message: string, options?: SendOptions): Promise<Turn>;
  /** The same turn, collected: `{response, thread_id, turn_id}`. */
  send(userId: string, message: string, options?: SendOptions): Promise<SendResult>;
  /** The user's turn by id, running or finished, to read again; NotFoundError for anyone else's. */
  resume(userId: string, turnId: string): Promise<Turn>;
  /** Stops the user's in-flight turns, on whichever instance runs them. Resolves with whether there were any. */
  stop(userId: string): Promise<boolean>;
  history(userId: string, options?: { limit?: number }): Promise<HistoryResult>;
  clear(userId: string): Promise<ClearResult>;
  stats(userId: string): Promise<ThreadStats>;
  /** Waits until in-flight turns have finished and been saved (graceful shutdown). */
  drain(): Promise<void>;
  /** Stops every in-flight turn, so each saves its partial answer marked stopped (shutdown deadline). */
  stopAll(): void;
  /** Stops the lease and recovery timers. Call after `drain()`. */
  close(): void;
}
