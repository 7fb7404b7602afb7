import type { History, HistoryMessage } from '../api-types';
import type { MessageAttachment } from './attachments/attachment-types';
import type { ChatError } from './describe-error';

/**
 * What a turn does: `ask` a new question; `regenerate` the last answer (the question stays, the old answer is
 * superseded); `edit` the last question (it and its answer are superseded by `message` and a new answer).
 */
export type TurnKind = 'ask' | 'regenerate' | 'edit';

/** The reply being streamed (or that failed), shown after the stored history until it is saved. */
export interface ChatTurn {
  kind: TurnKind;
  /** The question: as typed (ask, edit), or the stored one being answered again (regenerate). */
  message: string;
  /**
   * The question's photos: sent with it (ask), or the edited question's, which move to the new one (edit).
   * Shown with the question until the history has it.
   */
  attachments?: readonly MessageAttachment[];
  /** The idempotency key it was sent with: re-sending this attempt under it can't store the question twice. */
  clientMessageId: string;
  /** Largest stored message id when the turn began: anything newer belongs to this turn. */
  afterId: number;
  /**
   * Regenerate and edit replace the end of the thread: stored messages from this id on (the last answer; the
   * last question and its answer) are hidden while the new reply streams, and dropped once it is saved.
   */
  replacesFromId: number | null;
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

/** The newest stored message of a role, if it is among the loaded ones. */
export function lastMessageOf(history: History | undefined, role: HistoryMessage['role']): HistoryMessage | undefined {
  return history?.messages.findLast((message) => message.role === role);
}

/** What a regenerate replaces: the thread's last message, when it is an answer. */
export function regenerableAnswer(history: History | undefined): HistoryMessage | undefined {
  const last = history?.messages.at(-1);
  return last?.role === 'assistant' ? last : undefined;
}

/** What an edit replaces: the thread's last question (and the answer after it, if any). */
export function editableQuestion(history: History | undefined): HistoryMessage | undefined {
  return editableQuestionIn(history?.messages ?? []);
}

/** The same for the messages on screen. */
export function editableQuestionIn(messages: readonly HistoryMessage[]): HistoryMessage | undefined {
  const question = messages.findLast((message) => message.role === 'user');
  if (!question) return undefined;
  // Only the last turn can be edited: the question, then at most its answer.
  const after = messages.filter((message) => message.id > question.id);
  return after.length <= 1 && after.every((message) => message.role === 'assistant') ? question : undefined;
}

function isReplaced(message: HistoryMessage, turn: ChatTurn): boolean {
  return turn.replacesFromId !== null && message.id >= turn.replacesFromId;
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
    return {
      messages: messages.filter((message) => message.id <= turn.afterId && !isReplaced(message, turn)),
      // A regenerated answer's question is stored and stays where it is.
      pendingQuestion: turn.kind === 'regenerate' ? null : turn.message,
    };
  }
  const pending = turn.kind !== 'regenerate' && !hasStoredQuestion(history, turn);
  return { messages, pendingQuestion: pending ? turn.message : null };
}

/**
 * The finished turn as the history will hold it, so the view doesn't blink while the refetch runs. `done`
 * names the stored rows, so a refetch that already brought them in isn't doubled. What a regenerate or an edit
 * replaced (superseded on the server) is dropped.
 */
export function withFinishedTurn<H extends History>(history: H, turn: ChatTurn, questionId: number, answer: HistoryMessage): H {
  if (turn.kind === 'regenerate') {
    // The question is stored already, before what the new answer replaces.
    const messages = [...history.messages.filter((message) => !isReplaced(message, turn) && message.id !== answer.id), answer];
    return { ...history, message_count: history.message_count + messages.length - history.messages.length, messages };
  }
  const question: HistoryMessage = {
    id: questionId,
    role: 'user',
    content: turn.message,
    timestamp: answer.timestamp,
    sources: [],
    stopped: false,
    interrupted: false,
    attachments: [...(turn.attachments ?? [])],
  };
  const kept = history.messages.filter(
    (message) => !isReplaced(message, turn) && message.id !== questionId && message.id !== answer.id,
  );
  const messages = [...kept, question, answer];
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
