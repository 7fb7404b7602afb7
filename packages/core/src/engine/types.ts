import type { AttachmentContentType, Source } from '../db/schema';
import type { AttachmentVariant } from '../store/attachments';
import type { ExportedMessage } from '../store/export';
import type { HistoryMessage, ThreadStats } from '../store/messages';
import type { SearchResult } from '../store/search';
import type { SessionLimits } from '../limits/session-limits';
import type { ThreadSummary } from '../store/threads';

/** `GET /chat/sessions`: the design note's fields, and each limit's use. */
export interface SessionStats extends ThreadStats {
  limits: SessionLimits;
}

export interface ThreadOption {
  /** The user's default thread when absent. */
  threadId?: string | undefined;
}

export interface HistoryRequest extends ThreadOption {
  limit?: number | undefined;
  /** Messages older than this message id: the page before the one shown. */
  before?: number | undefined;
}

export interface ThreadPage {
  threads: ThreadSummary[];
  next_cursor: string | null;
}

export type ExportRecord =
  | { type: 'thread'; id: string; title: string | null; created_at: string }
  | ({ type: 'message' } & ExportedMessage);

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

/** An event with its number in the turn; `eventIdOf(turn id, seq)` is its durable event id. */
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
  /** Older messages exist: ask again with `before: next_before`. */
  has_more: boolean;
  next_before: number | null;
}

export interface ClearResult {
  success: true;
  message: string;
  thread_id: string;
}

export interface SendOptions {
  /** The user's thread to send to; their default thread when absent. */
  threadId?: string | undefined;
  /**
   * The client's idempotency key (1–255 characters): the same key again returns the original turn instead
   * of asking twice; with another message it is a ConflictError.
   */
  clientMessageId?: string | undefined;
  /**
   * Photos sent with the message: ids from `uploadAttachment`, at most 4, in the order shown. A message may be
   * empty when it has at least one. Each must be the user's own and not yet sent, or nothing is stored
   * (AttachmentNotFound). For `edit`, absent keeps the edited question's photos and a list replaces them (it
   * may name the edited question's own photos to keep them); `regenerate` refuses it (the question is asked
   * again as it was, photos included).
   */
  attachments?: readonly string[] | undefined;
}

/** A photo as stored: re-encoded (upright, at most 2048 px, no metadata), with its thumbnail. */
export interface UploadedAttachment {
  id: string;
  content_type: AttachmentContentType;
  width: number;
  height: number;
  byte_size: number;
}

/** An attachment's bytes, to serve with its stored `contentType` (never the uploader's). */
export interface AttachmentFile {
  contentType: string;
  bytes: Buffer;
  /** Of the full image, for either variant: suffix it for the thumbnail's ETag. */
  sha256: string;
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
  /**
   * Answers the thread's last question again. The answer it replaces is kept, marked superseded, and hidden
   * from history, search and the model's context.
   */
  regenerate(userId: string, options?: SendOptions): Promise<Turn>;
  /** Replaces the thread's last question (and its answer, kept as superseded) with `message`, and answers it. */
  edit(userId: string, message: string, options?: SendOptions): Promise<Turn>;
  /**
   * Stops the user's in-flight turns (of one thread, or all), on whichever instance runs them. Resolves with
   * whether there were any.
   */
  stop(userId: string, options?: ThreadOption): Promise<boolean>;
  history(userId: string, options?: HistoryRequest): Promise<HistoryResult>;
  clear(userId: string, options?: ThreadOption): Promise<ClearResult>;
  /** The thread's figures and the user's spend, with every configured limit's use (`limits`). */
  stats(userId: string, options?: ThreadOption): Promise<SessionStats>;
  listThreads(userId: string, options?: { cursor?: string | undefined; limit?: number | undefined }): Promise<ThreadPage>;
  createThread(userId: string, options?: { title?: string | undefined }): Promise<ThreadSummary>;
  renameThread(userId: string, threadId: string, title: string): Promise<ThreadSummary>;
  /** Stops the thread's turns, then deletes it with its messages. The default thread comes back empty on next use. */
  deleteThread(userId: string, threadId: string): Promise<{ success: true; thread_id: string }>;
  search(userId: string, query: string, options?: { limit?: number | undefined }): Promise<{ results: SearchResult[] }>;
  /** A thread's messages, oldest first, read a page at a time (flat memory); NotFoundError for anyone else's. */
  exportThread(userId: string, threadId?: string): Promise<{ thread: ThreadSummary | null; messages: AsyncIterable<ExportedMessage> }>;
  /** Every thread with its messages, as NDJSON records, a page at a time. */
  exportAll(userId: string): AsyncIterable<ExportRecord>;
  /**
   * Checks, re-encodes and stores a photo, unsent: UnsupportedImage, ImageTooLarge or ImageTooManyPixels for
   * what it will not take. Send it with a message by naming its id in `SendOptions.attachments`.
   */
  uploadAttachment(userId: string, bytes: Uint8Array): Promise<UploadedAttachment>;
  /** The user's photo (sent or not) or its thumbnail; AttachmentNotFound for anyone else's, unknown or malformed ids. */
  attachment(userId: string, id: string, variant?: AttachmentVariant): Promise<AttachmentFile>;
  /** Waits until in-flight turns have finished and been saved (graceful shutdown). */
  drain(): Promise<void>;
  /** Stops every in-flight turn, so each saves its partial answer marked stopped (shutdown deadline). */
  stopAll(): void;
  /** Stops the lease and recovery timers. Call after `drain()`. */
  close(): void;
}
