import type { History, HistoryMessage } from '../api-types';
import type { ChatError } from './describe-error';

/** The reply being streamed (or that failed), shown after the stored history until it is saved. */
export interface ChatTurn {
  message: string;
  /** The idempotency key it was sent with: re-sending this attempt under it can't store the question twice. */
  clientMessageId: string;
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

/**
 * Whether the server stored the turn's question: a user message newer than the turn. Never by its text: the
 * same words asked twice on purpose are two questions.
 */
export function hasStoredQuestion(history: History | undefined, turn: ChatTurn): boolean {
  return history?.messages.some((message) => message.id > turn.afterId && message.role === 'user') ?? false;
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

/**
 * The finished turn as the history will hold it, so the view doesn't blink while the refetch runs. `done`
 * names the stored rows, so a refetch that already brought them in isn't doubled.
 */
export function withFinishedTurn(history: History, turn: ChatTurn, questionId: number, answer: HistoryMessage): History {
  const question: HistoryMessage = {
    id: questionId,
    role: 'user',
    content: turn.message,
    timestamp: answer.timestamp,
    sources: [],
    stopped: false,
    interrupted: false,
  };
  const others = history.messages.filter((message) => message.id !== questionId && message.id !== answer.id);
  const messages = [...others, question, answer];
  return { ...history, message_count: history.message_count + messages.length - history.messages.length, messages };
}

/**
 * The question a reply answers: a thread's turns run one at a time, so it is the message right before it.
 * Undefined when that is not a question (it fell outside the loaded history).
 */
export function questionBefore(messages: HistoryMessage[], index: number): string | undefined {
  const previous = messages[index - 1];
  return previous?.role === 'user' ? previous.content : undefined;
}
