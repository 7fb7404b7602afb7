import { eq, inArray } from 'drizzle-orm';
import type { DatabaseGuard } from '../db/database-guard';
import type { Db } from '../db/db';
import { toolCalls, turns, type TurnRow } from '../db/schema';
import type { LiveEvents } from '../live/live-events';
import {
  AttachmentNotFound,
  DatabaseUnavailable,
  ImageTooLarge,
  ImageTooManyPixels,
  ModelCannotSeeImages,
  QuotaExceeded,
  UnsupportedImage,
  UpstreamUnavailable,
  ValidationError,
} from '../errors';
import { uniqueSources } from '../store/sources';
import { LIVE_STATUSES, turnEventsAfter, type StreamedChunk } from '../store/turns';
import type { DoneEvent, SequencedEvent, Turn } from './types';

export interface StoredTurnDeps {
  db: Db;
  guard: DatabaseGuard;
  live: LiveEvents;
  /** How often to look at the database for a turn that runs elsewhere while the live store is unavailable. */
  pollMs: number;
}

/** With nothing live for this long, the record is read again: its owner may have died, or Redis restarted. */
const LIVE_IDLE_MS = 1_000;

/**
 * A turn read from its record rather than from the process running it: after a restart, on another instance,
 * or once it has ended. While it runs elsewhere it is followed live (Redis) where there is a live store, by
 * polling the database where there is none or it is down; once it has ended its stored events are replayed,
 * then `done` (or the turn's error) is built from the record.
 */
export function storedTurn(deps: StoredTurnDeps, record: TurnRow): Turn {
  let done: Promise<DoneEvent> | undefined;
  const turn: Turn = {
    id: record.id,
    threadId: record.threadId,
    userMessageId: record.userMessageId ?? 0,
    events: ({ signal, afterSeq } = {}) => followStoredTurn(deps, record.id, afterSeq ?? 0, signal),
    get done() {
      return (done ??= lastEvent(turn));
    },
    // Stopping goes through the engine, which reaches the owner wherever it is.
    stop: () => {},
  };
  return turn;
}

async function lastEvent(turn: Turn): Promise<DoneEvent> {
  let last: DoneEvent | undefined;
  for await (const { event } of turn.events()) if (event.type === 'done') last = event;
  if (!last) throw new Error('turn ended without done');
  return last;
}

/**
 * The database is the record and the live feed only a faster way to hear of it: every chunk is stored before
 * it is published, so whenever the feed skips (it was trimmed, Redis restarted, the reader subscribed late)
 * or goes quiet, the reader goes back to the database from the last seq it gave, and nothing is missed or
 * given twice.
 */
async function* followStoredTurn(
  deps: StoredTurnDeps,
  turnId: string,
  afterSeq: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<SequencedEvent> {
  let seq = afterSeq;
  // Subscribed before the record is read, so whatever is published after that read reaches the feed.
  const feed = deps.live.follow(turnId);
  try {
    for (;;) {
      // The status first: a turn is closed only after all its events are stored, so events read after seeing
      // it closed are all there are.
      const [record] = await deps.guard(() => deps.db.select().from(turns).where(eq(turns.id, turnId)));
      if (!record) return;
      const chunks = await deps.guard(() => turnEventsAfter(deps.db, turnId, seq));
      for (const event of coalesce(chunks)) {
        seq = event.seq;
        yield event;
      }
      if (!LIVE_STATUSES.includes(record.status)) {
        yield { event: await doneOf(deps, record), seq: seq + 1 };
        return;
      }
      if (signal?.aborted) return;
      if (!feed) {
        await sleep(deps.pollMs, signal);
        continue;
      }
      // Live until the feed ends, skips, goes quiet or goes away; then the database again.
      live: for (;;) {
        const read = await feed.next(LIVE_IDLE_MS, signal);
        if (signal?.aborted) return;
        if (read.kind === 'unavailable') await sleep(deps.pollMs, signal);
        if (read.kind !== 'batches') break;
        for (const batch of read.batches) {
          if (batch.end) break live;
          const fresh = batch.chunks.filter((chunk) => chunk.seq > seq);
          if (fresh.length === 0) continue;
          if (fresh[0]!.seq !== seq + 1) break live;
          for (const event of coalesce(fresh)) {
            seq = event.seq;
            yield event;
          }
        }
      }
    }
  } finally {
    feed?.close();
  }
}

/** Consecutive token chunks as one event, carrying the last one's seq. */
function* coalesce(chunks: StreamedChunk[]): Generator<SequencedEvent> {
  let text: string[] = [];
  let textSeq = 0;
  for (const chunk of chunks) {
    if (chunk.type === 'token') {
      text.push(chunk.content);
      textSeq = chunk.seq;
      continue;
    }
    if (text.length > 0) yield { event: { type: 'token', content: text.join('') }, seq: textSeq };
    text = [];
    yield { event: { type: 'status', content: chunk.content }, seq: chunk.seq };
  }
  if (text.length > 0) yield { event: { type: 'token', content: text.join('') }, seq: textSeq };
}

async function doneOf(deps: StoredTurnDeps, record: TurnRow): Promise<DoneEvent> {
  if (record.status === 'failed') throw errorOf(record);
  const messageIds = record.assistantMessageId === null ? [] : [record.assistantMessageId];
  const found =
    messageIds.length === 0
      ? []
      : await deps.guard(() =>
          deps.db.select({ sources: toolCalls.sources }).from(toolCalls).where(inArray(toolCalls.messageId, messageIds)),
        );
  return {
    type: 'done',
    thread_id: record.threadId,
    turn_id: record.id,
    user_message_id: record.userMessageId ?? 0,
    message_id: record.assistantMessageId ?? 0,
    sources: uniqueSources(found.flatMap((row) => row.sources)),
    usage: { total_tokens: record.usageTokens ?? 0, estimated: record.usageEstimated ?? false },
    stopped: record.status === 'stopped',
    interrupted: record.status === 'interrupted',
  };
}

/** The error a failed turn ended with, as it was first reported. */
function errorOf(record: TurnRow): Error {
  const message = record.errorMessage ?? undefined;
  switch (record.errorCode) {
    case 'UPSTREAM_UNAVAILABLE':
      return new UpstreamUnavailable(message);
    case 'DATABASE_UNAVAILABLE':
      return new DatabaseUnavailable(message);
    case 'QUOTA_EXCEEDED':
      return new QuotaExceeded(message);
    case 'VALIDATION':
      return new ValidationError(message ?? 'invalid input');
    case 'ATTACHMENT_NOT_FOUND':
      return new AttachmentNotFound(message);
    case 'MODEL_CANNOT_SEE_IMAGES':
      return new ModelCannotSeeImages(message);
    case 'UNSUPPORTED_IMAGE':
      return new UnsupportedImage(message);
    case 'IMAGE_TOO_MANY_PIXELS':
      return new ImageTooManyPixels(message ?? 'The image has too many pixels.');
    case 'IMAGE_TOO_LARGE':
      return withMessage(new ImageTooLarge(0), message);
    default:
      return new Error(message ?? 'Internal server error');
  }
}

/** For errors whose constructor words the message from figures the record no longer has. */
function withMessage(error: Error, message: string | undefined): Error {
  if (message !== undefined) error.message = message;
  return error;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
