import { describe, expect, test } from 'vitest';
import type { History, HistoryMessage } from '../api-types';
import {
  editableQuestion,
  hasStoredQuestion,
  lastMessageId,
  questionBefore,
  regenerableAnswer,
  visibleConversation,
  withFinishedTurn,
  type ChatTurn,
} from './conversation';

function message(id: number, role: 'user' | 'assistant', content: string): HistoryMessage {
  return { id, role, content, timestamp: '2025-12-15T10:00:00.000Z', sources: [], stopped: false, interrupted: false, attachments: [] };
}

function historyOf(messages: HistoryMessage[]): History {
  return { thread_id: 'user-ada', message_count: messages.length, messages, has_more: false, next_before: null };
}

const before = historyOf([message(1, 'user', 'old question'), message(2, 'assistant', 'old answer')]);

const turn: ChatTurn = {
  kind: 'ask',
  message: 'new question',
  clientMessageId: 'key-1',
  afterId: 2,
  replacesFromId: null,
  text: 'partial',
  status: null,
  phase: 'streaming',
  error: null,
};

/** The history as a refetch returns it once the server has stored the turn's question. */
const withQuestionStored = historyOf([...before.messages, message(3, 'user', 'new question')]);

describe('visibleConversation', () => {
  test('without a turn, shows the history as it is', () => {
    expect(visibleConversation(before, null)).toEqual({ messages: before.messages, pendingQuestion: null });
  });

  test('while streaming, a refetch that already holds the question does not show it twice', () => {
    const shown = visibleConversation(withQuestionStored, turn);
    expect(shown.messages.map((m) => m.id)).toEqual([1, 2]);
    expect(shown.pendingQuestion).toBe('new question');
  });

  test('after a failure, shows the stored question from the history', () => {
    const failed: ChatTurn = { ...turn, phase: 'failed' };
    const shown = visibleConversation(withQuestionStored, failed);
    expect(shown.messages.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(shown.pendingQuestion).toBeNull();
  });

  test('after a failure the server never stored, keeps the typed question on screen', () => {
    const failed: ChatTurn = { ...turn, phase: 'failed' };
    expect(visibleConversation(before, failed).pendingQuestion).toBe('new question');
  });

  test('before the history has loaded, shows only the turn', () => {
    expect(visibleConversation(undefined, turn)).toEqual({ messages: [], pendingQuestion: 'new question' });
  });

  test('the same words asked again are a second question, while streaming and after a failure', () => {
    const again: ChatTurn = { ...turn, message: 'old question' };
    const streaming = visibleConversation(before, again);
    expect(streaming.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['old question']);
    expect(streaming.pendingQuestion).toBe('old question');
    // The server refused it before storing it: the earlier, identical question is not taken for it.
    expect(visibleConversation(before, { ...again, phase: 'failed' }).pendingQuestion).toBe('old question');
  });
});

describe('hasStoredQuestion', () => {
  test('goes by ids, never by text', () => {
    // An identical question from before the turn is not its question...
    expect(hasStoredQuestion(before, { ...turn, message: 'old question' })).toBe(false);
    // ...and a question newer than the turn is, whatever its text says.
    expect(hasStoredQuestion(withQuestionStored, turn)).toBe(true);
    expect(hasStoredQuestion(historyOf([...before.messages, message(3, 'user', 'old question')]), turn)).toBe(true);
  });

  test('a newer reply without a question is not the question', () => {
    expect(hasStoredQuestion(historyOf([...before.messages, message(3, 'assistant', 'late')]), turn)).toBe(false);
  });
});

describe('withFinishedTurn', () => {
  const answer = { ...message(4, 'assistant', 'full answer'), stopped: true };

  test('appends the question and the answer under the ids the server stored them with', () => {
    const next = withFinishedTurn(before, turn, 3, answer);
    expect(next.message_count).toBe(4);
    expect(next.messages.slice(2)).toEqual([{ ...message(3, 'user', 'new question'), timestamp: answer.timestamp }, answer]);
    expect(lastMessageId(next)).toBe(4);
  });

  test('a refetch that already brought the question (or the answer) in is not doubled', () => {
    const refetched = historyOf([...withQuestionStored.messages, message(4, 'assistant', 'full')]);
    const next = withFinishedTurn(refetched, turn, 3, answer);
    expect(next.messages.map((m) => m.id)).toEqual([1, 2, 3, 4]);
    expect(next.message_count).toBe(4);
    expect(withFinishedTurn(withQuestionStored, turn, 3, answer).messages.map((m) => m.id)).toEqual([1, 2, 3, 4]);
  });

  test('the same text sent twice on purpose shows as two questions', () => {
    const first = withFinishedTurn(historyOf([]), { ...turn, message: 'yes', afterId: 0 }, 1, message(2, 'assistant', 'ok'));
    const second = withFinishedTurn(first, { ...turn, message: 'yes', afterId: 2 }, 3, message(4, 'assistant', 'ok'));
    expect(second.messages.map((m) => [m.id, m.role, m.content])).toEqual([
      [1, 'user', 'yes'],
      [2, 'assistant', 'ok'],
      [3, 'user', 'yes'],
      [4, 'assistant', 'ok'],
    ]);
    // And while the second streams, the first stays on screen with the second below it.
    const streaming = visibleConversation(first, { ...turn, message: 'yes', afterId: 2 });
    expect([...streaming.messages.filter((m) => m.role === 'user').map((m) => m.content), streaming.pendingQuestion]).toEqual([
      'yes',
      'yes',
    ]);
  });

  test('keeps an interrupted answer marked', () => {
    const interrupted = { ...message(4, 'assistant', 'half an ans'), interrupted: true };
    expect(withFinishedTurn(before, turn, 3, interrupted).messages.at(-1)?.interrupted).toBe(true);
  });
});

describe('questionBefore', () => {
  const messages = [message(1, 'user', 'why?'), { ...message(2, 'assistant', 'beca'), interrupted: true }];

  test('is the user message right before the reply', () => {
    expect(questionBefore(messages, 1)).toBe('why?');
  });

  test('is unknown when the reply opens the loaded history', () => {
    expect(questionBefore(messages.slice(1), 0)).toBeUndefined();
    expect(questionBefore([message(1, 'assistant', 'a'), message(2, 'assistant', 'b')], 1)).toBeUndefined();
  });
});

describe('regenerating the last answer', () => {
  const history = historyOf([...before.messages, message(3, 'user', 'why?'), message(4, 'assistant', 'first try')]);
  const regenerate: ChatTurn = { ...turn, kind: 'regenerate', message: 'why?', afterId: 4, replacesFromId: 4 };

  test('is offered on the last message only when it is an answer', () => {
    expect(regenerableAnswer(history)?.id).toBe(4);
    expect(regenerableAnswer(withQuestionStored)).toBeUndefined();
    expect(regenerableAnswer(historyOf([]))).toBeUndefined();
  });

  test('while streaming, hides the old answer and keeps the stored question in place', () => {
    const shown = visibleConversation(history, regenerate);
    expect(shown.messages.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(shown.pendingQuestion).toBeNull();
  });

  test('once saved, the new answer replaces the old one', () => {
    const next = withFinishedTurn(history, regenerate, 3, message(5, 'assistant', 'second try'));
    expect(next.messages.map((m) => [m.id, m.content])).toEqual([
      [1, 'old question'],
      [2, 'old answer'],
      [3, 'why?'],
      [5, 'second try'],
    ]);
    expect(next.message_count).toBe(4);
  });

  test('after a failure shows the history as the server has it, with no pending question', () => {
    const shown = visibleConversation(historyOf(history.messages.slice(0, 3)), { ...regenerate, phase: 'failed' });
    expect(shown.messages.map((m) => m.id)).toEqual([1, 2, 3]);
    expect(shown.pendingQuestion).toBeNull();
  });
});

describe('editing the last question', () => {
  const history = historyOf([...before.messages, message(3, 'user', 'why?'), message(4, 'assistant', 'because')]);
  const edit: ChatTurn = { ...turn, kind: 'edit', message: 'why not?', afterId: 4, replacesFromId: 3 };

  test('is offered on the last question, answered or not', () => {
    expect(editableQuestion(history)?.id).toBe(3);
    expect(editableQuestion(withQuestionStored)?.id).toBe(3);
    expect(editableQuestion(historyOf([]))).toBeUndefined();
  });

  test('while streaming, shows the edited question in place of the old question and answer', () => {
    const shown = visibleConversation(history, edit);
    expect(shown.messages.map((m) => m.id)).toEqual([1, 2]);
    expect(shown.pendingQuestion).toBe('why not?');
  });

  test('once saved, the edited question and its answer replace the old ones', () => {
    const next = withFinishedTurn(history, edit, 5, message(6, 'assistant', 'that is why'));
    expect(next.messages.map((m) => [m.id, m.role, m.content])).toEqual([
      [1, 'user', 'old question'],
      [2, 'assistant', 'old answer'],
      [5, 'user', 'why not?'],
      [6, 'assistant', 'that is why'],
    ]);
    expect(next.message_count).toBe(4);
  });
});
