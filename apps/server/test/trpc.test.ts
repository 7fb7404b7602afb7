import type { TurnEvent } from '@fixthread/core';
import { testDrivers } from '@fixthread/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_REPLY, startHarness, type Harness } from './support/harness';
import { connect, streamViaTrpc } from './support/trpc';

const SLOW_TEXT = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');

function tokensOf(events: TurnEvent[]): string {
  return events.map((e) => (e.type === 'token' ? e.content : '')).join('');
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.each(testDrivers())('the typed tRPC client on $name', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver);
  });
  afterAll(() => h.close());

  it('chat.send returns {response, thread_id}', async () => {
    const client = connect(h.url, await h.token('t-send'));
    try {
      expect(await client.trpc.chat.send.mutate({ message: 'hi' })).toEqual({ response: FAKE_REPLY, thread_id: 'user-t-send' });
    } finally {
      await client.close();
    }
  });

  it('chat.stream delivers the engine events over a WebSocket, each tracked as <turn>:<position>', async () => {
    h.openai.enqueue(
      { toolCalls: [{ name: 'search_ifixit_guides', arguments: JSON.stringify({ query: 'PS5 HDMI port' }) }] },
      { text: FAKE_REPLY },
    );
    const client = connect(h.url, await h.token('t-stream'));
    try {
      const { events, ids, error } = await streamViaTrpc(client, 'My PS5 broke');
      expect(error).toBeUndefined();
      expect(events[0]).toMatchObject({ type: 'status' });
      expect(tokensOf(events)).toBe(FAKE_REPLY);
      const done = events.at(-1);
      expect(done).toMatchObject({ type: 'done', thread_id: 'user-t-stream', stopped: false });
      expect(done?.type === 'done' && done.sources.length).toBeGreaterThan(0);
      const turnId = ids[0]?.split(':')[0];
      expect(ids.every((id) => id.startsWith(`${turnId}:`))).toBe(true);
      // Positions are `<entry>.<offset>` and strictly increase, so any of them is a point to resume from.
      const positions = ids.map((id) => id.slice(`${turnId}:`.length).split('.').map(Number) as [number, number]);
      for (let i = 1; i < positions.length; i++) {
        const [entry, offset] = positions[i]!;
        const [previousEntry, previousOffset] = positions[i - 1]!;
        expect(entry > previousEntry || (entry === previousEntry && offset > previousOffset)).toBe(true);
      }
    } finally {
      await client.close();
    }
  });

  it('chat.history, chat.sessions and chat.clear return the documented shapes', async () => {
    const client = connect(h.url, await h.token('t-shapes'));
    try {
      await client.trpc.chat.send.mutate({ message: 'one' });
      await client.trpc.chat.send.mutate({ message: 'two' });
      const history = await client.trpc.chat.history.query({ limit: 3 });
      expect(history.thread_id).toBe('user-t-shapes');
      expect(history.message_count).toBe(3);
      expect(history.messages.map((m) => [m.role, m.content])).toEqual([
        ['assistant', FAKE_REPLY],
        ['user', 'two'],
        ['assistant', FAKE_REPLY],
      ]);
      expect((await client.trpc.chat.history.query()).message_count).toBe(4);
      const sessions = await client.trpc.chat.sessions.query();
      expect(sessions).toMatchObject({ user_id: 't-shapes', thread_id: 'user-t-shapes', total_messages: 4 });
      expect(sessions.total_tokens).toBeGreaterThan(0);
      expect(await client.trpc.chat.clear.mutate()).toEqual({
        success: true,
        message: 'Chat history cleared successfully',
        thread_id: 'user-t-shapes',
      });
      expect((await client.trpc.chat.history.query()).messages).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('chat.stop cuts the in-flight turn short and the partial answer is saved as stopped', async () => {
    h.openai.enqueue({ text: SLOW_TEXT, delayMsBetweenChunks: 40 });
    const client = connect(h.url, await h.token('t-stop'));
    try {
      expect(await client.trpc.chat.stop.mutate()).toEqual({ stopped: false });
      let stopRequested: Promise<{ stopped: boolean }> | undefined;
      const outcome = await streamViaTrpc(client, 'talk slowly', (event) => {
        if (event.type === 'token') stopRequested ??= client.trpc.chat.stop.mutate();
      });
      expect(await stopRequested).toEqual({ stopped: true });
      expect(outcome.events.at(-1)).toMatchObject({ type: 'done', stopped: true });
      const saved = (await h.messages()).filter((m) => m.userId === 't-stop' && m.role === 'assistant');
      expect(saved).toHaveLength(1);
      expect(saved[0]?.finishReason).toBe('stopped');
      expect(SLOW_TEXT.startsWith(saved[0]?.content ?? 'x')).toBe(true);
      expect(saved[0]?.content.length).toBeLessThan(SLOW_TEXT.length);
    } finally {
      await client.close();
    }
  });

  it('unsubscribing stops delivery only: the engine finishes and saves the whole reply', async () => {
    h.openai.enqueue({ text: SLOW_TEXT, delayMsBetweenChunks: 15 });
    const client = connect(h.url, await h.token('t-leave'));
    try {
      await new Promise<void>((resolve) => {
        const subscription = client.trpc.chat.stream.subscribe(
          { message: 'I will leave early' },
          {
            onData: ({ data }) => {
              if (data.type !== 'token') return;
              subscription.unsubscribe();
              resolve();
            },
          },
        );
      });
      const saved = await waitFor(async () =>
        (await h.messages()).find((m) => m.userId === 't-leave' && m.role === 'assistant'),
      );
      expect(saved.content).toBe(SLOW_TEXT);
      expect(saved.finishReason).toBe('stop');
    } finally {
      await client.close();
    }
  });

  it('a dropped WebSocket resumes the same turn: no second user message, no repeated or missing tokens', async () => {
    h.openai.enqueue({ text: SLOW_TEXT, delayMsBetweenChunks: 20 });
    const client = connect(h.url, await h.token('t-resume'));
    try {
      let dropped = false;
      const outcome = await streamViaTrpc(client, 'survive a network blip', (event) => {
        if (dropped || event.type !== 'token') return;
        dropped = true;
        for (const socket of h.server.app.websocketServer.clients) socket.terminate();
      });
      expect(dropped).toBe(true);
      expect(outcome.error).toBeUndefined();
      expect(tokensOf(outcome.events)).toBe(SLOW_TEXT);
      expect(outcome.events.filter((e) => e.type === 'done')).toHaveLength(1);
      const rows = (await h.messages()).filter((m) => m.userId === 't-resume');
      expect(rows.map((m) => m.role)).toEqual(['user', 'assistant']);
    } finally {
      await client.close();
    }
  });

  it('resuming another user’s turn id is NOT_FOUND and posts nothing', async () => {
    const owner = connect(h.url, await h.token('t-owner'));
    const thief = connect(h.url, await h.token('t-thief'));
    try {
      const { ids } = await streamViaTrpc(owner, 'my own question');
      const outcome = await new Promise<{ code: string | undefined; data: unknown[] }>((resolve) => {
        const data: unknown[] = [];
        thief.trpc.chat.stream.subscribe(
          { message: 'ignored', lastEventId: ids[0] },
          {
            onData: (event) => data.push(event),
            onError: (error) => resolve({ code: error.data?.code, data }),
            onComplete: () => resolve({ code: undefined, data }),
          },
        );
      });
      expect(outcome).toEqual({ code: 'NOT_FOUND', data: [] });
      expect((await h.messages()).filter((m) => m.userId === 't-thief')).toEqual([]);
    } finally {
      await Promise.all([owner.close(), thief.close()]);
    }
  });
});
