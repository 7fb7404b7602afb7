import type { Question } from './fake-model';

/** What one request needs, and the tab's say over it while it runs. */
export interface AttemptContext {
  instance: { name: string; url: string };
  token: string;
  question: Question;
  /** Aborted by the tab to drop the connection (a closed tab, a lost network). */
  drop: AbortSignal;
  /** Gives up on an answer after this long. */
  deadlineMs: number;
  /** After each token, with how many this request has had so far. */
  onToken?(count: number): void;
}

/** Continues a stream an earlier request left: after its last event, with the text it had. */
export interface ResumePoint {
  turnId: string;
  lastEventId: string;
  text: string;
}

/** Why the request ended without an answer: the client's drop, the deadline, or the connection itself. */
export function failureOf(context: AttemptContext, deadline: AbortSignal): 'dropped' | 'timeout' | 'broken' {
  if (context.drop.aborted) return 'dropped';
  if (deadline.aborted) return 'timeout';
  return 'broken';
}
