import { describe, expect, test } from 'vitest';
import { flattenThreads, neighbourOf, withThreadAdded, withThreadRemoved, withThreadReplaced } from './thread-pages';

const thread = (id: string, title: string | null = null) => ({ id, is_default: false, title });
const data = {
  pages: [
    { threads: [thread('a'), thread('b')], next_cursor: 'c1' },
    { threads: [thread('b'), thread('c')], next_cursor: null },
  ],
  pageParams: [undefined, 'c1'],
};

describe('the cached thread list', () => {
  test('lists a thread once even when it moved between page fetches', () => {
    expect(flattenThreads(data).map((t) => t.id)).toEqual(['a', 'b', 'c']);
    expect(flattenThreads(undefined)).toEqual([]);
  });

  test('a new thread goes first; one already there is replaced where it is', () => {
    expect(flattenThreads(withThreadAdded(data, thread('n'))).map((t) => t.id)).toEqual(['n', 'a', 'b', 'c']);
    const renamed = withThreadAdded(data, thread('c', 'Kettle'));
    expect(flattenThreads(renamed).map((t) => [t.id, t.title])).toEqual([
      ['a', null],
      ['b', null],
      ['c', 'Kettle'],
    ]);
    expect(withThreadAdded(undefined, thread('n'))).toBeUndefined();
  });

  test('rename and delete', () => {
    expect(flattenThreads(withThreadReplaced(data, thread('b', 'Drone'))).find((t) => t.id === 'b')?.title).toBe('Drone');
    expect(flattenThreads(withThreadRemoved(data, 'b')).map((t) => t.id)).toEqual(['a', 'c']);
  });

  test('after deleting the thread shown, its neighbour below, else above', () => {
    const list = flattenThreads(data);
    expect(neighbourOf(list, 'a')?.id).toBe('b');
    expect(neighbourOf(list, 'c')?.id).toBe('b');
    expect(neighbourOf([thread('a')], 'a')).toBeUndefined();
  });
});
