import type { TurnEvent } from '@fixthread/core';
import { testDrivers } from '@fixthread/core/testing';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AppRouter, FixThreadClient } from '../src/client';
import { FAKE_REPLY, startHarness, type Harness } from './support/harness';
import { connect, streamViaTrpc } from './support/trpc';

/**
 * Per-connection limits on the tRPC WebSocket, over real sockets: the authentication deadline, the number of
 * subscriptions one socket may hold, and the size of one message.
 */

const AUTH_TIMEOUT_MS = 400;
const MAX_SUBSCRIPTIONS = 2;
const BODY_LIMIT_BYTES = 65_536;

interface Closed {
  code: number;
  reason: string;
}

function closeOf(socket: WebSocket): Promise<Closed> {
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

function opened(socket: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
}

/** The next tRPC message on the socket with this id. */
function reply(socket: WebSocket, id: number): Promise<{ id: number; result?: { data: unknown }; error?: { data: { code: string } } }> {
  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as { id: number };
      if (message.id !== id) return;
      socket.off('message', onMessage);
      resolve(message);
    };
    socket.on('message', onMessage);
  });
}

const tokens = (events: TurnEvent[]) =>
  events
    .filter((e) => e.type === 'token')
    .map((e) => (e as { content: string }).content)
    .join('');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Subscription {
  started: Promise<void>;
  outcome: Promise<{ events: TurnEvent[]; error?: TRPCClientError<AppRouter> }>;
}

function subscribe(client: FixThreadClient, input: { message: string; threadId?: string }): Subscription {
  let started!: () => void;
  const startedPromise = new Promise<void>((resolve) => (started = resolve));
  const outcome = new Promise<{ events: TurnEvent[]; error?: TRPCClientError<AppRouter> }>((resolve) => {
    const events: TurnEvent[] = [];
    const subscription = client.trpc.chat.stream.subscribe(input, {
      onStarted: () => started(),
      onData: ({ data }) => events.push(data),
      onError: (error) => {
        subscription.unsubscribe();
        started();
        resolve({ events, error: error instanceof TRPCClientError ? error : undefined });
      },
      onComplete: () => resolve({ events }),
    });
  });
  return { started: startedPromise, outcome };
}

describe.each(testDrivers())('WebSocket limits on $name', (driver) => {
  let h: Harness;
  let wsUrl: string;
  beforeAll(async () => {
    h = await startHarness(driver, {
      env: {
        WS_AUTH_TIMEOUT_MS: String(AUTH_TIMEOUT_MS),
        WS_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS),
        BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
      },
    });
    wsUrl = `${h.url.replace(/^http/, 'ws')}/trpc`;
  });
  afterAll(() => h.close());

  describe('the authentication deadline', () => {
    it('closes a socket that never sends its connectionParams with 1008 and a reason', async () => {
      const socket = new WebSocket(`${wsUrl}?connectionParams=1`);
      await opened(socket);
      expect(await closeOf(socket)).toEqual({ code: 1008, reason: 'Not authenticated in time' });
    });

    it('closes a socket whose token was refused, after its calls were answered UNAUTHORIZED', async () => {
      const socket = new WebSocket(`${wsUrl}?connectionParams=1`);
      await opened(socket);
      const closed = closeOf(socket);
      socket.send(JSON.stringify({ method: 'connectionParams', data: { token: 'not-a-token' } }));
      const answer = reply(socket, 1);
      socket.send(JSON.stringify({ id: 1, method: 'query', params: { path: 'chat.sessions' } }));
      expect((await answer).error?.data.code).toBe('UNAUTHORIZED');
      expect(await closed).toEqual({ code: 1008, reason: 'Not authenticated in time' });
    });

    it('leaves an authenticated socket open past the deadline', async () => {
      const token = await h.token('ws-deadline-user');
      const socket = new WebSocket(`${wsUrl}?connectionParams=1`);
      await opened(socket);
      let closed: Closed | undefined;
      void closeOf(socket).then((c) => (closed = c));
      socket.send(JSON.stringify({ method: 'connectionParams', data: { token } }));
      const first = reply(socket, 1);
      socket.send(JSON.stringify({ id: 1, method: 'query', params: { path: 'chat.sessions' } }));
      expect((await first).result).toBeDefined();
      await sleep(AUTH_TIMEOUT_MS * 4);
      expect(closed).toBeUndefined();
      expect(socket.readyState).toBe(WebSocket.OPEN);
      const second = reply(socket, 2);
      socket.send(JSON.stringify({ id: 2, method: 'query', params: { path: 'chat.sessions' } }));
      expect((await second).result).toBeDefined();
      socket.close();
    });

    it('leaves a socket authenticated by its upgrade header open too', async () => {
      const token = await h.token('ws-header-user');
      const socket = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` } });
      await opened(socket);
      let closed: Closed | undefined;
      void closeOf(socket).then((c) => (closed = c));
      await sleep(AUTH_TIMEOUT_MS * 4);
      expect(closed).toBeUndefined();
      socket.close();
    });
  });

  describe('subscriptions per socket', () => {
    it(`refuses subscription ${MAX_SUBSCRIPTIONS + 1} with TOO_MANY_SUBSCRIPTIONS; the others stream on, and a freed slot is reused`, async () => {
      const userId = `ws-subscriptions-${driver.name}`;
      const client = connect(h.url, await h.token(userId));
      try {
        const second = await client.trpc.threads.create.mutate({ title: 'second' });
        const third = await client.trpc.threads.create.mutate({ title: 'third' });
        // Both turns wait on the model until the gate opens, so their subscriptions stay in flight till then.
        let openGate!: () => void;
        const gate = new Promise<void>((resolve) => (openGate = resolve));
        h.openai.setResponder(async () => {
          await gate;
          return { text: 'held reply' };
        });
        const a = subscribe(client, { message: 'first question' });
        const b = subscribe(client, { message: 'second question', threadId: second.id });
        await Promise.all([a.started, b.started]);

        const refused = await subscribe(client, { message: 'one too many', threadId: third.id }).outcome;
        expect(refused.events).toEqual([]);
        expect(refused.error?.message).toBe(
          `This connection already has ${MAX_SUBSCRIPTIONS} subscriptions open; wait for one to finish or stop one`,
        );
        expect(refused.error?.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', httpStatus: 429, errorCode: 'TOO_MANY_SUBSCRIPTIONS' });

        // The two in flight are unharmed: each streams its whole answer once the model replies.
        openGate();
        for (const { events, error } of [await a.outcome, await b.outcome]) {
          expect(error).toBeUndefined();
          expect(tokens(events)).toBe('held reply');
          expect(events.at(-1)).toMatchObject({ type: 'done', stopped: false });
        }
        h.openai.setResponder(undefined);

        const reused = await subscribe(client, { message: 'now there is room', threadId: third.id }).outcome;
        expect(reused.error).toBeUndefined();
        expect(tokens(reused.events)).toBe(FAKE_REPLY);

        // The refused one started nothing: no question of its was stored.
        const contents = (await h.messages()).filter((m) => m.userId === userId).map((m) => m.content);
        expect(contents).not.toContain('one too many');
      } finally {
        await client.close();
      }
    });
  });

  describe('message size', () => {
    it('closes a socket that sends a message over BODY_LIMIT_BYTES with 1009', async () => {
      const socket = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${await h.token('ws-big-user')}` } });
      await opened(socket);
      const closed = closeOf(socket);
      socket.send(JSON.stringify({ id: 1, method: 'query', params: { path: 'chat.sessions', input: { pad: 'x'.repeat(BODY_LIMIT_BYTES) } } }));
      expect((await closed).code).toBe(1009);
    });

    it('takes a subscription whose input is the longest message allowed, in 3-byte characters', async () => {
      const client = connect(h.url, await h.token('ws-long-message-user'));
      try {
        const outcome = await streamViaTrpc(client, '€'.repeat(8000));
        expect(outcome.error).toBeUndefined();
        expect(outcome.events.at(-1)).toMatchObject({ type: 'done' });
      } finally {
        await client.close();
      }
    });
  });
});
