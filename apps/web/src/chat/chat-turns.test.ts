import { TRPCClientError } from '@trpc/client';
import { describe, expect, test } from 'vitest';
import type { History, HistoryMessage, StreamEnvelope } from '../api-types';
import type { ThreadKey } from '../threads/thread-key';
import { ChatTurns, IDLE, type TurnHandlers, type TurnRequest } from './chat-turns';
import { withFinishedTurn } from './conversation';
import type { FrameClock } from './frame-batcher';

function message(id: number, role: 'user' | 'assistant', content: string): HistoryMessage {
  return { id, role, content, timestamp: '2025-12-15T10:00:00.000Z', sources: [], stopped: false, interrupted: false, attachments: [] };
}

function historyOf(messages: HistoryMessage[], threadId = 'user-ada'): History {
  return { thread_id: threadId, message_count: messages.length, messages, has_more: false, next_before: null };
}

/** Frames run only when the test says so, so batching is visible. */
function manualClock() {
  let frames: Array<() => void> = [];
  const clock: FrameClock = {
    nextFrame: (callback) => {
      frames.push(callback);
      return () => (frames = frames.filter((f) => f !== callback));
    },
    after: () => () => {},
  };
  return {
    clock,
    frame: () => {
      const due = frames;
      frames = [];
      for (const run of due) run();
    },
  };
}

interface OpenStream {
  request: TurnRequest;
  handlers: TurnHandlers;
  closed: boolean;
}

function serverError(code: string, errorCode: string, message: string) {
  return TRPCClientError.from({ error: { code: -32000, message, data: { code, errorCode, httpStatus: 0 } } });
}

/** ChatTurns against a fake API: the streams it opens, the caches it fills, the stops it sends. */
function harness(initial: Record<string, History> = {}) {
  const time = manualClock();
  const histories = new Map<string, History>(Object.entries(initial));
  const streams: OpenStream[] = [];
  const stops: ThreadKey[] = [];
  const refreshed: ThreadKey[] = [];
  const signedOut: string[] = [];
  let fresh: (key: ThreadKey) => Promise<History> = (key) => Promise.resolve(histories.get(key ?? '') ?? historyOf([]));
  const turns = new ChatTurns({
    clock: time.clock,
    now: () => new Date('2025-12-15T12:00:00.000Z'),
    open: (request, handlers) => {
      const stream: OpenStream = { request, handlers, closed: false };
      streams.push(stream);
      return () => {
        stream.closed = true;
      };
    },
    stop: (key) => stops.push(key),
    history: (key) => histories.get(key ?? ''),
    freshHistory: (key) => fresh(key),
    started: () => {},
    finished: (key, turn, questionId, answer) => {
      const cached = histories.get(key ?? '') ?? historyOf([]);
      histories.set(key ?? '', withFinishedTurn(cached, turn, questionId, answer));
      refreshed.push(key);
    },
    failed: (key) => refreshed.push(key),
    unauthorized: (detail) => signedOut.push(detail),
  });
  const emit = (stream: OpenStream, data: StreamEnvelope['data'], seq = 1) =>
    stream.handlers.onData({ id: `turn:${seq}`, data });
  const done = (stream: OpenStream, userMessageId: number, messageId: number) =>
    emit(stream, {
      type: 'done',
      thread_id: 'user-ada',
      turn_id: 'turn',
      user_message_id: userMessageId,
      message_id: messageId,
      sources: [],
      stopped: false,
      interrupted: false,
      usage: {},
    } as unknown as StreamEnvelope['data']);
  return {
    turns,
    time,
    histories,
    streams,
    stops,
    refreshed,
    signedOut,
    emit,
    done,
    setFresh: (next: typeof fresh) => (fresh = next),
  };
}

const twoTurns = historyOf([
  message(1, 'user', 'first'),
  message(2, 'assistant', 'first answer'),
  message(3, 'user', 'second'),
  message(4, 'assistant', 'second answer'),
]);

describe('ChatTurns', () => {
  test('asks on the thread it was given, batching tokens per frame, and hands the answer to that thread', () => {
    const h = harness({ '': historyOf([]), 'user-ada/b': historyOf([]) });
    expect(h.turns.send('user-ada/b', 'why?')).toBe(true);
    const [stream] = h.streams;
    expect(stream?.request).toMatchObject({ kind: 'ask', threadKey: 'user-ada/b', message: 'why?' });
    expect(stream?.request.clientMessageId).toMatch(/^[0-9a-f-]{36}$/);

    h.emit(stream!, { type: 'token', content: 'Be' });
    h.emit(stream!, { type: 'token', content: 'cause' });
    expect(h.turns.get('user-ada/b').turn?.text).toBe('');
    h.time.frame();
    expect(h.turns.get('user-ada/b').turn?.text).toBe('Because');
    // The other thread never saw any of it.
    expect(h.turns.get(null)).toBe(IDLE);

    h.emit(stream!, { type: 'token', content: '.' });
    h.done(stream!, 1, 2);
    expect(h.turns.get('user-ada/b')).toMatchObject({ turn: null, answeredId: 2 });
    expect(h.histories.get('user-ada/b')?.messages.map((m) => [m.id, m.content])).toEqual([
      [1, 'why?'],
      [2, 'Because.'],
    ]);
    expect(h.histories.get('')?.messages).toEqual([]);
    expect(stream?.closed).toBe(true);
  });

  test('two threads stream at once without mixing their replies', () => {
    const h = harness({ '': historyOf([]), 'user-ada/b': historyOf([]) });
    h.turns.send(null, 'kettle?');
    h.turns.send('user-ada/b', 'drone?');
    const [kettle, drone] = h.streams;
    h.emit(kettle!, { type: 'token', content: 'Descale it.' });
    h.emit(drone!, { type: 'token', content: 'Recalibrate.' });
    h.time.frame();
    expect(h.turns.get(null).turn?.text).toBe('Descale it.');
    expect(h.turns.get('user-ada/b').turn?.text).toBe('Recalibrate.');
    expect([...h.turns.streaming()].sort()).toEqual(['', 'user-ada/b']);

    h.done(drone!, 1, 2);
    expect([...h.turns.streaming()]).toEqual(['']);
    expect(h.histories.get('user-ada/b')?.messages.map((m) => m.content)).toEqual(['drone?', 'Recalibrate.']);
    expect(h.histories.get('')?.messages).toEqual([]);
  });

  test('one reply at a time per thread', () => {
    const h = harness({ '': historyOf([]) });
    expect(h.turns.send(null, 'one')).toBe(true);
    expect(h.turns.send(null, 'two')).toBe(false);
    expect(h.turns.regenerate(null)).toBe(false);
    expect(h.streams).toHaveLength(1);
  });

  test('the state object stays the same until something changes, for useSyncExternalStore', () => {
    const h = harness({ '': historyOf([]) });
    let notified = 0;
    h.turns.subscribe(() => notified++);
    h.turns.send(null, 'q');
    const state = h.turns.get(null);
    expect(h.turns.get(null)).toBe(state);
    expect(notified).toBeGreaterThan(0);
    const streaming = h.turns.streaming();
    expect(h.turns.streaming()).toBe(streaming);
  });

  test('regenerate replaces the last answer: the old one is hidden, then dropped for the new one', () => {
    const h = harness({ '': twoTurns });
    expect(h.turns.regenerate(null)).toBe(true);
    const [stream] = h.streams;
    expect(stream?.request).toMatchObject({ kind: 'regenerate', threadKey: null });
    expect(h.turns.get(null).turn).toMatchObject({ kind: 'regenerate', message: 'second', afterId: 4, replacesFromId: 4 });
    h.emit(stream!, { type: 'token', content: 'better answer' });
    h.done(stream!, 3, 5);
    expect(h.histories.get('')?.messages.map((m) => [m.id, m.content])).toEqual([
      [1, 'first'],
      [2, 'first answer'],
      [3, 'second'],
      [5, 'better answer'],
    ]);
  });

  test('regenerate needs an answer to replace', () => {
    const h = harness({ '': historyOf([message(1, 'user', 'unanswered')]) });
    expect(h.turns.regenerate(null)).toBe(false);
    expect(h.streams).toHaveLength(0);
  });

  test('edit replaces the last question and its answer', () => {
    const h = harness({ '': twoTurns });
    expect(h.turns.edit(null, 'second, rephrased')).toBe(true);
    const [stream] = h.streams;
    expect(stream?.request).toMatchObject({ kind: 'edit', message: 'second, rephrased' });
    expect(h.turns.get(null).turn).toMatchObject({ replacesFromId: 3 });
    h.emit(stream!, { type: 'token', content: 'new answer' });
    h.done(stream!, 5, 6);
    expect(h.histories.get('')?.messages.map((m) => [m.id, m.content])).toEqual([
      [1, 'first'],
      [2, 'first answer'],
      [5, 'second, rephrased'],
      [6, 'new answer'],
    ]);
  });

  test('a status line shows after the tokens before it, and goes when the answer resumes', () => {
    const h = harness({ '': historyOf([]) });
    h.turns.send(null, 'screen?');
    const [stream] = h.streams;
    h.emit(stream!, { type: 'token', content: 'Let me look. ' });
    h.emit(stream!, { type: 'status', content: '🔍 Searching iFixit...' });
    expect(h.turns.get(null).turn).toMatchObject({ text: 'Let me look. ', status: '🔍 Searching iFixit...' });
    h.emit(stream!, { type: 'token', content: 'Found it.' });
    h.time.frame();
    expect(h.turns.get(null).turn).toMatchObject({ text: 'Let me look. Found it.', status: null });
  });

  test('a failure keeps the turn with its error; Retry after an upstream error asks under a new key', async () => {
    const h = harness({ '': historyOf([]) });
    h.turns.send(null, 'dishwasher');
    const [first] = h.streams;
    // The server stored the question, then the model failed.
    h.emit(first!, { type: 'status', content: 'Thinking' });
    first!.handlers.onError(serverError('SERVICE_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE', 'down'));
    expect(h.turns.get(null).turn).toMatchObject({ phase: 'failed', error: { kind: 'upstream' } });
    expect(first?.closed).toBe(true);
    expect(h.refreshed).toEqual([null]);

    h.setFresh(() => Promise.resolve(historyOf([message(1, 'user', 'dishwasher')])));
    await h.turns.retry(null);
    const second = h.streams[1];
    expect(second?.request.kind).toBe('ask');
    expect(second?.request.clientMessageId).not.toBe(first?.request.clientMessageId);
    expect(h.turns.get(null).turn).toMatchObject({ phase: 'streaming', afterId: 1 });
  });

  test('Retry after a lost connection re-sends under the same key', async () => {
    const h = harness({ '': historyOf([]) });
    h.turns.send(null, 'lawnmower');
    const [first] = h.streams;
    first!.handlers.onError(new TRPCClientError('socket closed'));
    expect(h.turns.get(null).turn?.error?.kind).toBe('connection');
    await h.turns.retry(null);
    expect(h.streams[1]?.request.clientMessageId).toBe(first?.request.clientMessageId);
  });

  test('Retry of a failed edit whose question was stored edits again instead of asking twice', async () => {
    const h = harness({ '': twoTurns });
    h.turns.edit(null, 'rephrased');
    h.streams[0]!.handlers.onError(serverError('SERVICE_UNAVAILABLE', 'UPSTREAM_UNAVAILABLE', 'down'));
    h.setFresh(() => Promise.resolve(historyOf([...twoTurns.messages.slice(0, 2), message(5, 'user', 'rephrased')])));
    await h.turns.retry(null);
    expect(h.streams[1]?.request).toMatchObject({ kind: 'edit', message: 'rephrased' });
    expect(h.turns.get(null).turn).toMatchObject({ kind: 'edit', replacesFromId: 5, afterId: 5 });
  });

  test('a question with photos sends their ids, shows them until stored, and keeps them in the history', () => {
    const h = harness({ '': historyOf([]) });
    const photos = [
      { id: 'att_a', content_type: 'image/jpeg' as const, width: 1200, height: 900 },
      { id: 'att_b', content_type: 'image/png' as const, width: 800, height: 800 },
    ];
    h.turns.send(null, 'Is this battery safe?', photos);
    const [stream] = h.streams;
    expect(stream?.request).toMatchObject({ kind: 'ask', message: 'Is this battery safe?', attachments: ['att_a', 'att_b'] });
    expect(h.turns.get(null).turn?.attachments).toEqual(photos);
    h.emit(stream!, { type: 'token', content: 'It is swollen.' });
    h.done(stream!, 1, 2);
    expect(h.histories.get('')?.messages.map((m) => [m.role, m.attachments.map((photo) => photo.id)])).toEqual([
      ['user', ['att_a', 'att_b']],
      ['assistant', []],
    ]);
  });

  test('a question without photos sends no attachments field', () => {
    const h = harness({ '': historyOf([]) });
    h.turns.send(null, 'plain');
    expect(h.streams[0]?.request).not.toHaveProperty('attachments');
  });

  test('an edit keeps the question’s photos on screen and lets the server move them', () => {
    const photo = { id: 'att_a', content_type: 'image/jpeg' as const, width: 10, height: 10 };
    const h = harness({ '': historyOf([{ ...message(1, 'user', 'what is this?'), attachments: [photo] }]) });
    h.turns.edit(null, 'what part is this?');
    expect(h.streams[0]?.request).not.toHaveProperty('attachments');
    expect(h.turns.get(null).turn?.attachments).toEqual([photo]);
    h.done(h.streams[0]!, 3, 4);
    expect(h.histories.get('')?.messages.find((m) => m.id === 3)?.attachments).toEqual([photo]);
  });

  test('Retry of a stored question with photos answers it again instead of asking without them', async () => {
    const photo = { id: 'att_a', content_type: 'image/jpeg' as const, width: 10, height: 10 };
    const h = harness({ '': historyOf([]) });
    h.turns.send(null, 'what is this?', [photo]);
    h.streams[0]!.handlers.onError(
      serverError('UNPROCESSABLE_CONTENT', 'MODEL_CANNOT_SEE_IMAGES', "The configured model can't look at photos."),
    );
    expect(h.turns.get(null).turn?.error).toMatchObject({ kind: 'upstream', title: 'The assistant can’t look at photos' });
    // The failure refetched the history: the question is stored, with its photo.
    const stored = historyOf([{ ...message(1, 'user', 'what is this?'), attachments: [photo] }]);
    h.histories.set('', stored);
    h.setFresh(() => Promise.resolve(stored));
    await h.turns.retry(null);
    expect(h.streams[1]?.request).toMatchObject({ kind: 'regenerate' });
    expect(h.streams[1]?.request).not.toHaveProperty('attachments');
    h.done(h.streams[1]!, 1, 2);
    expect(h.histories.get('')?.messages.map((m) => [m.id, m.attachments.length])).toEqual([
      [1, 1],
      [2, 0],
    ]);
  });

  test('Stop while the socket is reconnecting gives up on the live reply at once', () => {
    const h = harness({ '': historyOf([]) });
    h.turns.send('user-ada/b', 'bike');
    const [stream] = h.streams;
    stream!.handlers.onConnectionStateChange({ state: 'connecting', error: new TRPCClientError('closed') });
    expect(h.turns.get('user-ada/b').reconnecting).toBe(true);
    h.turns.stop('user-ada/b');
    expect(h.stops).toEqual(['user-ada/b']);
    expect(h.turns.get('user-ada/b').turn).toMatchObject({ phase: 'failed', error: { kind: 'connection' } });
  });

  test('Stop on a healthy stream only asks the server; the stopped answer arrives as done', () => {
    const h = harness({ '': historyOf([]) });
    h.turns.send(null, 'carburettor');
    h.turns.stop(null);
    expect(h.stops).toEqual([null]);
    expect(h.turns.get(null).turn?.phase).toBe('streaming');
  });

  test('events of a dismissed or forgotten turn are ignored', () => {
    const h = harness({ '': historyOf([]) });
    h.turns.send(null, 'q');
    const [stream] = h.streams;
    h.turns.dismiss(null);
    expect(stream?.closed).toBe(true);
    h.emit(stream!, { type: 'token', content: 'late' });
    h.done(stream!, 1, 2);
    expect(h.turns.get(null).turn).toBeNull();
    expect(h.histories.get('')?.messages).toEqual([]);

    h.turns.send('user-ada/c', 'q');
    const doomed = h.streams[1]!;
    h.turns.forget('user-ada/c');
    expect(doomed.closed).toBe(true);
    h.emit(doomed, { type: 'token', content: 'late' });
    expect(h.turns.get('user-ada/c')).toBe(IDLE);
  });

  test('an expired session signs out', () => {
    const h = harness({ '': historyOf([]) });
    h.turns.send(null, 'q');
    h.streams[0]!.handlers.onError(serverError('UNAUTHORIZED', 'UNAUTHORIZED', 'Token expired'));
    expect(h.signedOut).toEqual(['Token expired']);
  });

  test('closeAll ends every stream', () => {
    const h = harness({ '': historyOf([]) });
    h.turns.send(null, 'a');
    h.turns.send('user-ada/b', 'b');
    h.turns.closeAll();
    expect(h.streams.every((stream) => stream.closed)).toBe(true);
    expect(h.turns.get(null)).toBe(IDLE);
  });
});
