import type { History, HistoryMessage } from '../api-types';
import type { ChatError } from './describe-error';

/** The reply being streamed (or that failed), shown after the stored history until it is saved. */
export interface ChatTurn {
  message: string;
  /** Largest stored message id when the turn began: anything newer belongs to this turn. */
  afterId: number;
  text: string;
  /** Tool activity ("🔍 Searching iFixit..."), cleared when the answer resumes. */
  status: string | null;
  phase: 'streaming' | 'failed';
  error: ChatError | null;
}

export interface Conversation {
  messages: HistoryMessage[];
  /** The user's message as typed, until the server's copy of it is in the history. */
  pendingQuestion: string | null;
}

export function lastMessageId(history: History | undefined): number {
  return history?.messages.reduce((max, message) => Math.max(max, message.id), 0) ?? 0;
}

function isStoredQuestion(message: HistoryMessage, turn: ChatTurn): boolean {
  return message.id > turn.afterId && message.role === 'user' && message.content === turn.message;
}

export function hasStoredQuestion(history: History | undefined, turn: ChatTurn): boolean {
  return history?.messages.some((message) => isStoredQuestion(message, turn)) ?? false;
}

/**
 * What to show. While a reply streams, the history may already hold its question (a refetch can land
 * mid-turn), so only messages from before the turn are shown and the question comes from the turn itself.
 * After a failure the history is the truth: the question shows from it if the server stored it.
 */
export function visibleConversation(history: History | undefined, turn: ChatTurn | null): Conversation {
  const messages = history?.messages ?? [];
  if (!turn) return { messages, pendingQuestion: null };
  if (turn.phase === 'streaming') {
    return { messages: messages.filter((message) => message.id <= turn.afterId), pendingQuestion: turn.message };
  }
  return { messages, pendingQuestion: hasStoredQuestion(history, turn) ? null : turn.message };
}

/** The finished turn as the history will hold it, so the view doesn't blink while the refetch runs. */
export function withFinishedTurn(history: History, turn: ChatTurn, answer: HistoryMessage): History {
  const question: HistoryMessage = {
    // The stored question's id isn't sent with `done`; a negative placeholder can't collide with real ids.
    id: -answer.id,
    role: 'user',
    content: turn.message,
    timestamp: answer.timestamp,
    sources: [],
    stopped: false,
  };
  return { ...history, message_count: history.message_count + 2, messages: [...history.messages, question, answer] };
}
