import { describe, expect, test } from 'vitest';
import type { History, HistoryMessage } from '../api-types';
import { mergeHistory, olderCursor, withOlderPage } from './history-pages';

function message(id: number): HistoryMessage {
  return { id, role: id % 2 ? 'user' : 'assistant', content: `m${id}`, timestamp: '2025-12-15T10:00:00.000Z', sources: [], stopped: false, interrupted: false, attachments: [] };
}

function page(ids: number[], hasMore: boolean): History {
  return {
    thread_id: 'user-ada',
    message_count: 10,
    messages: ids.map(message),
    has_more: hasMore,
    next_before: hasMore ? (ids[0] ?? null) : null,
  };
}

const ids = (history: History) => history.messages.map((m) => m.id);

describe('older pages', () => {
  test('go in front of the latest page, and the next cursor is theirs', () => {
    const latest = page([7, 8, 9, 10], true);
    const older = withOlderPage(undefined, page([3, 4, 5, 6], true));
    const shown = mergeHistory(latest, older);
    expect(ids(shown)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(olderCursor(shown)).toBe(3);

    const oldest = withOlderPage(older, page([1, 2], false));
    const all = mergeHistory(latest, oldest);
    expect(ids(all)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(olderCursor(all)).toBeNull();
  });

  test('a latest page that moved on (new turns) covers what it overlaps, nothing twice', () => {
    const older = withOlderPage(undefined, page([3, 4, 5, 6], true));
    const shown = mergeHistory(page([5, 6, 7, 8, 9, 10, 11, 12], true), older);
    expect(ids(shown)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  test('what the latest page no longer has (a superseded answer) stays gone', () => {
    const older = withOlderPage(undefined, page([3, 4, 5, 6], true));
    // 8 was regenerated as 11.
    const shown = mergeHistory(page([7, 9, 10, 11], true), older);
    expect(ids(shown)).toEqual([3, 4, 5, 6, 7, 9, 10, 11]);
  });

  test('are ignored once the latest page holds everything (cleared, or short)', () => {
    const older = withOlderPage(undefined, page([3, 4], true));
    expect(ids(mergeHistory(page([], false), older))).toEqual([]);
    expect(ids(mergeHistory(page([9, 10], false), older))).toEqual([9, 10]);
  });

  test('a page loaded twice is not doubled', () => {
    const once = withOlderPage(undefined, page([3, 4], true));
    expect(withOlderPage(once, page([3, 4], true)).messages.map((m) => m.id)).toEqual([3, 4]);
  });

  test('without older pages the cursor is the latest page’s', () => {
    expect(olderCursor(page([7, 8], true))).toBe(7);
    expect(olderCursor(page([7, 8], false))).toBeNull();
    expect(olderCursor(undefined)).toBeNull();
    expect(olderCursor({ ...page([7, 8], true), next_before: null })).toBe(7);
  });
});
