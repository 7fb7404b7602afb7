import { useIsFetching, type QueryKey } from '@tanstack/react-query';

/**
 * A message the composer sent, as its turn stands. `refused`: the server turned it down without storing it
 * (too long for its limit, quota spent, restarting…), so it exists nowhere but here.
 */
export interface SentMessage {
  /** The turn's clientMessageId: a Retry of a refused message re-sends it under the same one. */
  id: string;
  text: string;
  refused: boolean;
}

/** The part of a turn (ChatTurn) read here. */
interface SentTurn {
  /** Only a new question (`ask`) was typed in the composer; regenerate and edit come from elsewhere. */
  kind?: string;
  message: string;
  clientMessageId: string;
  phase: 'streaming' | 'failed';
  error: { kind: string } | null;
}

/**
 * The composer's view of the current turn. Refused is decided by the history, which shows whether the server
 * stored the question, so only once it is fresh: a turn that failed is refetched, and until then a question
 * the server did store (it failed later, e.g. the model was down) would look refused. A lost connection
 * leaves it unknown; its Retry re-sends under the same key, which can't store the question twice, and the
 * field is left alone.
 */
export function sentMessage(
  turn: SentTurn | null,
  history: { questionPending: boolean; fetching: boolean },
): SentMessage | null {
  if (!turn || (turn.kind !== undefined && turn.kind !== 'ask')) return null;
  const refused =
    turn.phase === 'failed' &&
    turn.error?.kind !== 'connection' &&
    history.questionPending &&
    !history.fetching;
  return { id: turn.clientMessageId, text: turn.message, refused };
}

/**
 * `sentMessage` for the screen's current turn: `questionPending` is whether the conversation still shows the
 * turn's question as not stored, and the history under `historyKey` decides it once it is no longer fetching.
 */
export function useSentMessage(
  turn: SentTurn | null,
  questionPending: boolean,
  historyKey: QueryKey,
): SentMessage | null {
  const fetching = useIsFetching({ queryKey: historyKey }) > 0;
  return sentMessage(turn, { questionPending, fetching });
}

/** What the composer remembers between renders to put a refused message back (and take it out again). */
export interface DraftMemory {
  /** The message refused now, if any. */
  refusedId: string | null;
  /** The message put back into the field, while the field still holds it. */
  restoredId: string | null;
}

export const NO_DRAFT: DraftMemory = Object.freeze({ refusedId: null, restoredId: null });

/**
 * The field's text once the sent message's standing changes. Refused: it goes back into the field, if the
 * user hasn't started typing something else there. No longer refused (Retry sends it, or the history showed
 * it stored after all): it comes out again, unless the user changed it, since it is on its way already.
 * Returns `memory` itself when nothing changed.
 */
export function draftAfter(
  memory: DraftMemory,
  sent: SentMessage | null,
  text: string,
): { memory: DraftMemory; text: string } {
  const refusedId = sent?.refused ? sent.id : null;
  if (refusedId === memory.refusedId) return { memory, text };
  if (sent && refusedId !== null) {
    if (text.trim() !== '') return { memory: { refusedId, restoredId: null }, text };
    return { memory: { refusedId, restoredId: sent.id }, text: sent.text };
  }
  const untouched = sent !== null && memory.restoredId === sent.id && text === sent.text;
  return { memory: { refusedId: null, restoredId: null }, text: untouched ? '' : text };
}
