import type { TurnEvent } from '@fixthread/core';
import { testDrivers } from '@fixthread/core/testing';
import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
  wsLink,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AppRouter } from '../src/client';
import { startHarness, type Harness } from './support/harness';
import { signToken } from './support/tokens';

const SLOW_TEXT = Array.from({ length: 40 }, (_, i) => `step${i}`).join(' ');

/** A client on wsLink that records every socket it opens and how each one closed. */
function wsClientRecording(url: string, token: string) {
  const sockets = { opened: 0, closeCodes: [] as (number | undefined)[] };
  const ws = createWSClient({
    url: `${url.replace(/^http/, 'ws')}/trpc`,
    connectionParams: () => ({ token }),
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    retryDelayMs: () => 100,
    lazy: { enabled: true, closeMs: 60_000 },
    onOpen: () => sockets.opened++,
    onClose: (cause) => sockets.closeCodes.push(cause?.code),
  });
  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink<AppRouter>({ client: ws }),
        false: httpBatchLink({ url: `${url}/trpc`, headers: { authorization: `Bearer ${token}` } }),
      }),
    ],
  });
  return { trpc, ws, sockets };
}

/** The tRPC SSE transport, with an EventSource that sends the bearer token as a header. */
function sseClient(url: string, token: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpSubscriptionLink({
        url: `${url}/trpc`,
        EventSource,
        eventSourceOptions: {
          fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${token}` } }),
        },
      }),
    ],
  });
}

interface Outcome {
  events: TurnEvent[];
  completed: boolean;
  error?: unknown;
}

function collect(subscribe: (handlers: { onData: (d: { data: TurnEvent }) => void; onError: (e: unknown) => void; onComplete: () => void }) => { unsubscribe(): void }, onFirst?: () => void): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { events: [], completed: false };
    const subscription = subscribe({
      onData: ({ data }) => {
        outcome.events.push(data);
        if (outcome.events.length === 1) onFirst?.();
      },
      onError: (error) => {
        outcome.error = error;
        subscription.unsubscribe();
        resolve(outcome);
      },
      onComplete: () => {
        outcome.completed = true;
        resolve(outcome);
      },
    });
  });
}

const tokensOf = (events: TurnEvent[]) => events.map((e) => (e.type === 'token' ? e.content : '')).join('');

describe.each(testDrivers())('transports on $name', (driver) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('WebSocket subscribers got no done on SIGTERM and a 1005 close: now they get done, then 1012, and no retries', async () => {
    h = await startHarness(driver);
    h.openai.setDefaultReply({ text: SLOW_TEXT, delayMsBetweenChunks: 25 });
    const client = wsClientRecording(h.url, await signToken('ws-shutdown'));
    const harness = h;
    let stopping: Promise<void> | undefined;
    const outcome = await collect(
      (handlers) => client.trpc.chat.stream.subscribe({ message: 'long answer over ws' }, handlers),
      () => {
        stopping = harness.server.stop();
      },
    );
    await stopping;
    expect(outcome.error).toBeUndefined();
    expect(outcome.completed).toBe(true);
    expect(outcome.events.at(-1)).toMatchObject({ type: 'done', stopped: false });
    expect(tokensOf(outcome.events)).toBe(SLOW_TEXT);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(client.sockets.closeCodes).toEqual([1012]);
    // Nothing was pending when the socket closed, so the client has no reason to reconnect.
    expect(client.sockets.opened).toBe(1);
    await client.ws.close();
  });

  it('a turn stopped at the shutdown deadline reaches its WebSocket subscriber as done with stopped: true', async () => {
    h = await startHarness(driver);
    h.openai.setDefaultReply({ text: Array.from({ length: 400 }, (_, i) => `w${i}`).join(' '), delayMsBetweenChunks: 25 });
    const client = wsClientRecording(h.url, await signToken('ws-deadline'));
    const harness = h;
    let stopping: Promise<void> | undefined;
    const outcome = await collect(
      (handlers) => client.trpc.chat.stream.subscribe({ message: 'very long answer' }, handlers),
      () => {
        stopping = harness.server.stop({ graceMs: 300 });
      },
    );
    await stopping;
    expect(outcome.events.at(-1)).toMatchObject({ type: 'done', stopped: true });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(client.sockets.closeCodes).toEqual([1012]);
    const saved = (await harness.messages()).filter((m) => m.userId === 'ws-deadline' && m.role === 'assistant');
    expect(saved.map((m) => [m.content, m.finishReason])).toEqual([[tokensOf(outcome.events), 'stopped']]);
    await client.ws.close();
  });

  it('chat.stream over HTTP answered "Missing experimental flag" as a 200 stream: now it streams the turn over tRPC SSE', async () => {
    h = await startHarness(driver);
    h.openai.enqueue(
      { toolCalls: [{ name: 'search_ifixit_guides', arguments: JSON.stringify({ query: 'PS5 HDMI' }) }] },
      { text: SLOW_TEXT, delayMsBetweenChunks: 2 },
    );
    const trpc = sseClient(h.url, await signToken('sse-trpc'));
    const outcome = await collect((handlers) => trpc.chat.stream.subscribe({ message: 'PS5 no HDMI' }, handlers));
    expect(outcome.error).toBeUndefined();
    expect(outcome.events[0]).toMatchObject({ type: 'status' });
    expect(tokensOf(outcome.events)).toBe(SLOW_TEXT);
    const done = outcome.events.at(-1);
    expect(done).toMatchObject({ type: 'done', thread_id: 'user-sse-trpc' });
    const rows = (await h.messages()).filter((m) => m.userId === 'sse-trpc');
    expect(rows.map((m) => [m.role, m.content])).toEqual([
      ['user', 'PS5 no HDMI'],
      ['assistant', SLOW_TEXT],
    ]);
  });

  it('chat.stream over HTTP with a bad token is an UNAUTHORIZED tRPC error, and stores nothing', async () => {
    h = await startHarness(driver);
    const trpc = sseClient(h.url, 'not-a-token');
    const outcome = await collect((handlers) => trpc.chat.stream.subscribe({ message: 'no token' }, handlers));
    expect(outcome.error).toBeInstanceOf(TRPCClientError);
    expect((outcome.error as TRPCClientError<AppRouter>).data).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await h.messages()).toEqual([]);
  });
});
