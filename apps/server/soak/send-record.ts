import type { DoneEvent } from '@fixthread/core';
import type { Question } from './fake-model';

export type Transport = 'rest' | 'sse' | 'trpc-stream' | 'trpc-send';

/** What the client did to this attempt on purpose. */
export type ClientFault = 'none' | 'drop' | 'stop';

/**
 * How one request for a question ended, as the client saw it. Only `acked` is an acknowledgement: a 200 with
 * the answer, or a `done` event. A request whose connection was dropped or broken before either is not, even
 * if the server went on to store the turn.
 */
export type AttemptOutcome =
  | 'acked'
  /** The client closed the connection itself (a drop). */
  | 'dropped'
  /** The connection broke or was refused (a server killed or restarting). */
  | 'broken'
  /** An HTTP error status or an `error` event / tRPC error. */
  | 'refused'
  /** No answer within the attempt's deadline. */
  | 'timeout';

export interface Attempt {
  transport: Transport;
  instance: string;
  /** `resume`: GET /chat/stream/:turnId or a re-subscription with `lastEventId`, continuing an earlier attempt. */
  kind: 'send' | 'resume' | 'replay';
  outcome: AttemptOutcome;
  /** HTTP status, or the error event's / tRPC error's code. */
  error?: string;
  /** The answer's text: the POST /chat body's `response`, or the tokens the stream delivered (across resumes). */
  text: string;
  done?: DoneEvent;
  /** From the stream's event ids: what a resume needs. */
  turnId?: string;
  lastEventId?: string;
}

/** One question a tab asked, under one idempotency key, with every request made for it. */
export interface SendRecord {
  user: string;
  tab: number;
  question: Question;
  fault: ClientFault;
  attempts: Attempt[];
}

export const acksOf = (record: SendRecord) =>
  record.attempts.filter((attempt) => attempt.outcome === 'acked');
