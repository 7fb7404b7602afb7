import { threadIdFor, type Turn } from '@fixthread/core';

/**
 * Long enough for wsLink to reconnect after a blip (it retries within seconds), short enough that finished
 * turns don't pile up: each keeps its whole event log (~190 B per token, measured by `pnpm bench`), so two
 * minutes at 100 WebSocket turns/s held about 1 GiB. A client that comes back later reloads the history.
 */
const RETAIN_AFTER_DONE_MS = 15_000;

/**
 * Turns that a WebSocket client may resume. wsLink re-sends a live subscription after reconnecting, with
 * the id of the last event it saw; without this the re-sent subscription would post the message again.
 * Event ids are `<turn id>:<index>` and the engine replays a turn's events from the start, so resuming is
 * "replay and skip what was seen".
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

export function eventId(turn: Turn, index: number): string {
  return `${turn.id}:${index}`;
}

export function parseEventId(id: string): { turnId: string; index: number } | undefined {
  const match = /^(.+):(\d{1,9})$/.exec(id);
  if (!match?.[1] || !match[2]) return undefined;
  return { turnId: match[1], index: Number(match[2]) };
}
