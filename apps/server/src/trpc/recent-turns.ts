import { threadIdFor, type Turn } from '@fixthread/core';

/**
 * Long enough for wsLink to reconnect after a blip (it retries within seconds), short enough that finished
 * turns don't pile up: each keeps its whole event log (about its reply's size, measured by `pnpm bench`). A client that comes back later reloads the history.
 */
const RETAIN_AFTER_DONE_MS = 15_000;

/**
 * Turns that a WebSocket client may resume. wsLink re-sends a live subscription after reconnecting, with
 * the id of the last event it saw; without this the re-sent subscription would post the message again.
 * Event ids are `<turn id>:<position>`, and the engine resumes a turn's events after any position it yielded.
 */
export class RecentTurns {
  private readonly byId = new Map<string, Turn>();

  remember(turn: Turn): void {
    this.byId.set(turn.id, turn);
    const forget = () => setTimeout(() => this.byId.delete(turn.id), RETAIN_AFTER_DONE_MS).unref();
    turn.done.then(forget, forget);
  }

  /** The user's turn with that id, or undefined: ids of other users' turns are treated as unknown. */
  find(userId: string, turnId: string): Turn | undefined {
    const turn = this.byId.get(turnId);
    return turn?.threadId === threadIdFor(userId) ? turn : undefined;
  }
}

/** `<turn id>:<position>`, the position being the one the engine yielded after the event. */
export function eventId(turn: Turn, position: string): string {
  return `${turn.id}:${position}`;
}

export function parseEventId(id: string): { turnId: string; position: string } | undefined {
  const match = /^(.+):(\d{1,9}\.\d{1,12})$/.exec(id);
  if (!match?.[1] || !match[2]) return undefined;
  return { turnId: match[1], position: match[2] };
}
