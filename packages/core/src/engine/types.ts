import type { Source } from '../db/schema';
import type { HistoryMessage, ThreadStats } from '../store/messages';

/** What every transport sends, in order: any number of status/token events, then exactly one `done`. */
export type TurnEvent =
  | { type: 'status'; content: string }
  | { type: 'token'; content: string }
  | {
      type: 'done';
      thread_id: string;
      /** id of the stored assistant message. */
      message_id: number;
      sources: Source[];
      /** Tokens the turn spent (all LLM calls); `estimated` when the provider reported none. */
      usage: { total_tokens: number; estimated: boolean };
      /** True when the user pressed stop: the partial answer was saved. */
      stopped: boolean;
    };

export type DoneEvent = Extract<TurnEvent, { type: 'done' }>;

/** An event and the opaque position just after it, from which a reader can resume. */
export interface PositionedEvent {
  event: TurnEvent;
  position: string;
}

export interface SendResult {
  response: string;
  thread_id: string;
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

/**
 * A turn already under way. It keeps running when readers go away (a refresh then shows the saved answer);
 * only `stop()` cuts it short. `events()` can be called any number of times and always replays from the
 * first event, so a reader that reconnects misses nothing.
 */
export interface Turn {
  readonly id: string;
  readonly threadId: string;
  /** The acknowledged user message: already stored when the turn is returned. */
  readonly userMessageId: number;
  events(signal?: AbortSignal): AsyncIterable<TurnEvent>;
  /**
   * The same events with their positions; `after` resumes after a position an earlier read yielded. Tokens a
   * reader fell behind on arrive joined into one token event.
   */
  positionedEvents(options?: { signal?: AbortSignal; after?: string }): AsyncIterable<PositionedEvent>;
  /** Resolves with the final `done` event, or rejects with the turn's typed error. */
  readonly done: Promise<DoneEvent>;
  stop(): void;
}

export interface ChatEngine {
  /**
   * Validates the message (throws ValidationError / QuotaExceeded before storing anything), stores it, and
   * starts the reply. Turns of the same user run one after another.
   */
  startTurn(userId: string, message: string): Promise<Turn>;
  /** The same turn, collected: `{response, thread_id}`. */
  send(userId: string, message: string): Promise<SendResult>;
  /** Stops the user's in-flight turn, if any. Returns whether there was one. */
  stop(userId: string): boolean;
  history(userId: string, options?: { limit?: number }): Promise<HistoryResult>;
  clear(userId: string): Promise<ClearResult>;
  stats(userId: string): Promise<ThreadStats>;
  /** Waits until in-flight turns have finished and been saved (graceful shutdown). */
  drain(): Promise<void>;
  /** Stops every in-flight turn, so each saves its partial answer marked stopped (shutdown deadline). */
  stopAll(): void;
}
