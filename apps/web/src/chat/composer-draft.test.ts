import { describe, expect, test } from 'vitest';
import { draftAfter, NO_DRAFT, sentMessage, type DraftMemory, type SentMessage } from './composer-draft';

const turn = {
  message: 'My kettle trips the fuse',
  clientMessageId: 'key-1',
  phase: 'failed' as const,
  error: { kind: 'quota' },
};
const fresh = { questionPending: true, fetching: false };

describe('sentMessage', () => {
  test('a failed turn whose question the fresh history does not hold was refused', () => {
    expect(sentMessage(turn, fresh)).toEqual({
      id: 'key-1',
      text: 'My kettle trips the fuse',
      refused: true,
    });
    expect(sentMessage({ ...turn, error: { kind: 'invalid' } }, fresh)?.refused).toBe(true);
    expect(sentMessage({ ...turn, error: { kind: 'upstream' } }, fresh)?.refused).toBe(true);
  });

  test('not refused while it streams, once the history holds the question, or until the history is fresh', () => {
    expect(sentMessage({ ...turn, phase: 'streaming', error: null }, fresh)?.refused).toBe(false);
    expect(sentMessage(turn, { questionPending: false, fetching: false })?.refused).toBe(false);
    expect(sentMessage(turn, { questionPending: true, fetching: true })?.refused).toBe(false);
  });

  test('a lost connection leaves it unknown, so not refused', () => {
    expect(sentMessage({ ...turn, error: { kind: 'connection' } }, fresh)?.refused).toBe(false);
  });

  test('only a new question came from the composer', () => {
    expect(sentMessage({ ...turn, kind: 'ask' }, fresh)?.refused).toBe(true);
    expect(sentMessage({ ...turn, kind: 'regenerate' }, fresh)).toBeNull();
    expect(sentMessage({ ...turn, kind: 'edit' }, fresh)).toBeNull();
    expect(sentMessage(null, fresh)).toBeNull();
  });
});

describe('draftAfter', () => {
  const sending: SentMessage = { id: 'key-1', text: 'My kettle trips the fuse', refused: false };
  const refused: SentMessage = { ...sending, refused: true };

  /** Runs the composer's renders: each new `sent` against the field as it stands. */
  function run(steps: { sent: SentMessage | null; typed?: string }[]): string {
    let memory: DraftMemory = NO_DRAFT;
    let text = '';
    for (const { sent, typed } of steps) {
      if (typed !== undefined) text = typed;
      ({ memory, text } = draftAfter(memory, sent, text));
    }
    return text;
  }

  test('nothing changes while nothing is refused', () => {
    const memory = NO_DRAFT;
    expect(draftAfter(memory, sending, '')).toEqual({ memory, text: '' });
    expect(draftAfter(memory, sending, '').memory).toBe(memory);
    expect(draftAfter(memory, null, 'typing').text).toBe('typing');
  });

  test('a refused message goes back into the empty field', () => {
    expect(run([{ sent: sending }, { sent: refused }])).toBe('My kettle trips the fuse');
  });

  test('it stays when the error is dismissed', () => {
    expect(run([{ sent: sending }, { sent: refused }, { sent: null }])).toBe('My kettle trips the fuse');
  });

  test('what the user typed meanwhile is not overwritten', () => {
    expect(run([{ sent: sending, typed: 'Something else' }, { sent: refused }])).toBe('Something else');
  });

  test('Retry sends it after all: the untouched copy comes out of the field, an edited one stays', () => {
    expect(run([{ sent: sending }, { sent: refused }, { sent: sending }])).toBe('');
    expect(
      run([{ sent: sending }, { sent: refused }, { sent: sending, typed: 'My kettle trips the fuse!' }]),
    ).toBe('My kettle trips the fuse!');
  });

  test('refused again after a Retry: back again', () => {
    expect(run([{ sent: sending }, { sent: refused }, { sent: sending }, { sent: refused }])).toBe(
      'My kettle trips the fuse',
    );
  });

  test('a new message sent from the field leaves the field alone', () => {
    const next: SentMessage = { id: 'key-2', text: 'Another', refused: false };
    expect(run([{ sent: sending }, { sent: refused }, { sent: next, typed: '' }])).toBe('');
    expect(run([{ sent: sending }, { sent: refused }, { sent: next, typed: 'draft' }])).toBe('draft');
  });
});
