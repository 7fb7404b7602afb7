import { describe, expect, test } from 'vitest';
import type { History, HistoryMessage } from '../api-types';
import { hasStoredQuestion, lastMessageId, visibleConversation, withFinishedTurn, type ChatTurn } from './conversation';

function message(id: number, role: 'user' | 'assistant', content: string): HistoryMessage {
  return { id, role, content, timestamp: '2025-12-15T10:00:00.000Z', sources: [], stopped: false };
}

const before: History = {
  thread_id: 'user-ada',
  message_count: 2,
  messages: [message(1, 'user', 'old question'), message(2, 'assistant', 'old answer')],
};

const turn: ChatTurn = { message: 'new question', afterId: 2, text: 'partial', status: null, phase: 'streaming', error: null };

/** The history as a refetch returns it once the server has stored the turn's question. */
const withQuestionStored: History = { ...before, message_count: 3, messages: [...before.messages, message(3, 'user', 'new question')] };

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
});

describe('hasStoredQuestion', () => {
  test('ignores an identical question from before the turn', () => {
    const repeat: ChatTurn = { ...turn, message: 'old question' };
    expect(hasStoredQuestion(before, repeat)).toBe(false);
    expect(hasStoredQuestion(withQuestionStored, turn)).toBe(true);
  });
});

describe('withFinishedTurn', () => {
  test('appends the question and the answer without colliding with stored ids', () => {
    const answer = { ...message(4, 'assistant', 'full answer'), stopped: true };
    const next = withFinishedTurn(before, turn, answer);
    expect(next.message_count).toBe(4);
    expect(next.messages.slice(2)).toEqual([{ ...message(-4, 'user', 'new question'), timestamp: answer.timestamp }, answer]);
    expect(lastMessageId(next)).toBe(4);
  });
});
