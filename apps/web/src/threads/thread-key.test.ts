import { describe, expect, test } from 'vitest';
import { canonicalThreadKey, isThread, searchWithThread, threadInput, threadKeyFromSearch, threadKeyOf } from './thread-key';

const threads = [
  { id: 'user-ada', is_default: true },
  { id: 'user-ada/k3j', is_default: false },
];

describe('thread keys', () => {
  test('the default thread is null, however it is named', () => {
    expect(canonicalThreadKey('user-ada', threads)).toBeNull();
    expect(canonicalThreadKey('user-ada/k3j', threads)).toBe('user-ada/k3j');
    // Not listed (yet): known by its shape.
    expect(canonicalThreadKey('user-ada', undefined)).toBeNull();
    expect(canonicalThreadKey('user-ada/zzz', [])).toBe('user-ada/zzz');
    expect(threadKeyOf(threads[0]!)).toBeNull();
    expect(isThread(threads[0]!, null)).toBe(true);
    expect(isThread(threads[1]!, null)).toBe(false);
  });

  test('the API input names only other threads', () => {
    expect(threadInput(null)).toEqual({});
    expect(threadInput('user-ada/k3j')).toEqual({ threadId: 'user-ada/k3j' });
  });

  test('round-trips through the query string, keeping other parameters', () => {
    const search = searchWithThread('?debug=1', 'user-ada/k3j');
    expect(search).toBe('?debug=1&thread=user-ada%2Fk3j');
    expect(threadKeyFromSearch(search)).toBe('user-ada/k3j');
    expect(searchWithThread(search, null)).toBe('?debug=1');
    expect(searchWithThread('?thread=x', null)).toBe('');
    expect(threadKeyFromSearch('')).toBeNull();
    expect(threadKeyFromSearch('?thread=')).toBeNull();
  });
});
