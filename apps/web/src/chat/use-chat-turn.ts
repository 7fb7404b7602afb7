import { useCallback, useSyncExternalStore } from 'react';
import type { ThreadKey } from '../threads/thread-key';
import type { MessageAttachment } from './attachments/attachment-types';
import type { ChatTurn } from './conversation';
import { useChatTurns } from './chat-turns-context';

export interface ChatTurnControls {
  turn: ChatTurn | null;
  /** The stored answer of the last turn that finished here, until the next one starts: its end is still news. */
  answeredId: number | null;
  /** The socket dropped mid-reply; wsLink is reconnecting and will resume the same turn. */
  reconnecting: boolean;
  /**
   * Asks a new question (under a new clientMessageId); false when a reply is still streaming here. Stable, so
   * stored messages can hold it without re-rendering; so are `regenerate` and `edit`.
   */
  send: (message: string, attachments?: readonly MessageAttachment[]) => boolean;
  /** Answers the last question again, replacing the last answer. */
  regenerate: () => boolean;
  /** Replaces the last question (and its answer) with `message` and answers it. */
  edit: (message: string) => boolean;
  stop: () => void;
  retry: () => Promise<void>;
  dismiss: () => void;
}

/** One thread's question → streamed answer, over `chat.stream`, `chat.regenerate` or `chat.edit` (see ChatTurns). */
export function useChatTurn(key: ThreadKey): ChatTurnControls {
  const { turns } = useChatTurns();
  const state = useSyncExternalStore(turns.subscribe, () => turns.get(key));
  const send = useCallback(
    (message: string, attachments?: readonly MessageAttachment[]) => turns.send(key, message, attachments),
    [turns, key],
  );
  const regenerate = useCallback(() => turns.regenerate(key), [turns, key]);
  const edit = useCallback((message: string) => turns.edit(key, message), [turns, key]);
  const stop = useCallback(() => turns.stop(key), [turns, key]);
  const retry = useCallback(() => turns.retry(key), [turns, key]);
  const dismiss = useCallback(() => turns.dismiss(key), [turns, key]);
  return { ...state, send, regenerate, edit, stop, retry, dismiss };
}
