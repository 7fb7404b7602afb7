/** The two streaming clients, as real clients use the API: fetch + SSE parsing, and @trpc/client over a WebSocket. */
import type { TurnEvent } from '@fixthread/core';
import { parseSse } from '@fixthread/testing';
import { createTRPCClient, createWSClient, wsLink, type TRPCClient } from '@trpc/client';
import WebSocket from 'ws';
import type { AppRouter } from '../../src/trpc/root';
import { sanity } from './stats';

export interface StreamedTurn {
  /** ms from `start` to the first `token` event. */
  ttft: number;
  tokens: number;
  text: string;
  done: Extract<TurnEvent, { type: 'done' }> | undefined;
}

function collector(start: number) {
  const turn: StreamedTurn = { ttft: Number.NaN, tokens: 0, text: '', done: undefined };
  const onEvent = (event: TurnEvent) => {
    if (event.type === 'token') {
      if (turn.tokens === 0) turn.ttft = performance.now() - start;
      turn.tokens++;
      turn.text += event.content;
    } else if (event.type === 'done') {
      turn.done = event;
    }
  };
  return { turn, onEvent };
}

/** POST /chat/stream over real HTTP, read to the end. */
export async function streamOverSse(
  baseUrl: string,
  token: string,
  message: string,
  start = performance.now(),
): Promise<StreamedTurn> {
  const { turn, onEvent } = collector(start);
  const response = await fetch(`${baseUrl}/chat/stream`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ message }),
  });
  sanity(response.ok && response.body, `POST /chat/stream answered ${response.status}`);
  for await (const data of parseSse(response.body)) onEvent(JSON.parse(data) as TurnEvent);
  return turn;
}

export interface TrpcConnection {
  trpc: TRPCClient<AppRouter>;
  close(): Promise<void>;
}

/** createWSClient + wsLink with `connectionParams: { token }`, the `ws` package standing in for Node 20's missing WebSocket. */
export function connectTrpc(baseUrl: string, token: string): TrpcConnection {
  const client = createWSClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/trpc`,
    connectionParams: { token },
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  return {
    trpc: createTRPCClient<AppRouter>({ links: [wsLink<AppRouter>({ client })] }),
    close: () => client.close(),
  };
}

/** tRPC `chat.stream`, until the server completes the subscription. */
export function streamOverTrpc(
  connection: TrpcConnection,
  message: string,
  start = performance.now(),
): Promise<StreamedTurn> {
  const { turn, onEvent } = collector(start);
  return new Promise((resolve, reject) => {
    connection.trpc.chat.stream.subscribe(
      { message },
      {
        onData: ({ data }) => onEvent(data),
        onError: reject,
        onComplete: () => resolve(turn),
      },
    );
  });
}

/**
 * A turn that streamed something else, or didn't finish, must not become a latency figure. Compared by text:
 * a reader that falls behind gets the tokens it missed joined into one event.
 */
export function checkTurn(turn: StreamedTurn, expectedText: string, what: string): void {
  sanity(turn.text === expectedText, `${what}: streamed ${turn.text.length} chars, expected ${expectedText.length}`);
  sanity(turn.done && !turn.done.stopped, `${what}: no done event`);
}
