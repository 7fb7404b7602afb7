/**
 * Many WebSocket connections with nothing but the `ws` package: tRPC's wire protocol by hand (connectionParams
 * handshake, a query, subscriptions), and the same bytes sent to a bare echo server for the baseline. Cheaper
 * than one @trpc/client per connection, so hundreds fit on the bench's side of the machine.
 */
import { once } from 'node:events';
import type { TurnEvent } from '@fixthread/core';
import WebSocket from 'ws';
import { sanity } from './stats';

const wsUrl = (baseUrl: string) => baseUrl.replace(/^http/, 'ws');

async function openSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url);
  await once(socket, 'open');
  return socket;
}

function textOf(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(new Uint8Array(data))).toString('utf8');
}

function nextMessage(socket: WebSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('message', (data: WebSocket.RawData) => resolve(textOf(data)));
    socket.once('close', () => reject(new Error('socket closed while waiting for a message')));
  });
}

const handshake = (token: string) => [
  JSON.stringify({ method: 'connectionParams', data: { token } }),
  JSON.stringify({ id: 0, method: 'query', params: { path: 'chat.sessions' } }),
];

/** Connects to /trpc, authenticates through connectionParams and proves it with a protected query. */
export async function openTrpcSocket(baseUrl: string, token: string, userId: string): Promise<WebSocket> {
  const socket = await openSocket(`${wsUrl(baseUrl)}/trpc?connectionParams=1`);
  // The server's keep-alive closes a socket that does not answer its PING, as @trpc/client does.
  socket.on('message', (data: WebSocket.RawData) => {
    if (textOf(data) === 'PING') socket.send('PONG');
  });
  const reply = nextMessage(socket);
  for (const message of handshake(token)) socket.send(message);
  const text = await reply;
  const parsed = JSON.parse(text) as { id?: number; result?: { data?: { user_id?: string } } };
  sanity(
    parsed.id === 0 && parsed.result?.data?.user_id === userId,
    `tRPC handshake for ${userId} failed: ${text}`,
  );
  return socket;
}

/** The baseline: the same two messages to a bare echo server, both echoes awaited. */
export async function openBareSocket(baseUrl: string, token: string): Promise<WebSocket> {
  const socket = await openSocket(wsUrl(baseUrl));
  const messages = handshake(token);
  let echoed = 0;
  const allEchoed = new Promise<void>((resolve) => {
    const onMessage = () => {
      if (++echoed < messages.length) return;
      socket.off('message', onMessage);
      resolve();
    };
    socket.on('message', onMessage);
  });
  for (const message of messages) socket.send(message);
  await allEchoed;
  return socket;
}

interface TrpcResponse {
  id?: number;
  /** chat.stream yields `tracked()` events: `{ id, data: event }`. */
  result?: { type: 'started' | 'data' | 'stopped'; data?: { id: string; data: TurnEvent } };
  error?: { message: string };
}

/** Sends a chat.stream subscription; resolves with the streamed text when the server stops it. */
export function subscribeChatStream(
  socket: WebSocket,
  id: number,
  message: string,
  hooks: { onFirstToken?: () => void; frames?: string[] } = {},
): Promise<{ text: string; done: boolean }> {
  return new Promise((resolve, reject) => {
    const pieces: string[] = [];
    let done = false;
    const onMessage = (data: WebSocket.RawData) => {
      const text = textOf(data);
      if (text === 'PING' || text === 'PONG') return;
      const response = JSON.parse(text) as TrpcResponse;
      if (response.id !== id) return;
      hooks.frames?.push(text);
      if (response.error) {
        settle();
        reject(new Error(`chat.stream failed: ${response.error.message}`));
      } else if (response.result?.type === 'data') {
        const event = response.result.data?.data;
        if (event?.type === 'token') {
          if (pieces.length === 0) hooks.onFirstToken?.();
          pieces.push(event.content);
        }
        if (event?.type === 'done') done = true;
      } else if (response.result?.type === 'stopped') {
        settle();
        resolve({ text: pieces.join(''), done });
      }
    };
    // A socket the server closed must fail the turn, not leave the bench waiting forever.
    const onClose = (code: number, reason: Buffer) => {
      settle();
      reject(new Error(`chat.stream ${id}: the socket closed mid-stream (${code} ${reason.toString()})`));
    };
    const settle = () => {
      socket.off('message', onMessage);
      socket.off('close', onClose);
    };
    socket.on('message', onMessage);
    socket.on('close', onClose);
    socket.send(
      JSON.stringify({ id, method: 'subscription', params: { path: 'chat.stream', input: { message } } }),
    );
  });
}

export async function closeSockets(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(async (socket) => {
      if (socket.readyState === WebSocket.CLOSED) return;
      const closed = once(socket, 'close');
      socket.terminate();
      await closed;
    }),
  );
}

/** The bare-ws-stream baseline's side of a subscription: sends the same request, resolves at its `stopped` frame. */
export function subscribeBareStream(socket: WebSocket, id: number, message: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let frames = 0;
    const onMessage = (data: WebSocket.RawData) => {
      frames++;
      if (!textOf(data).includes('"type":"stopped"')) return;
      socket.off('message', onMessage);
      resolve(frames);
    };
    socket.on('message', onMessage);
    socket.once('close', () => reject(new Error('bare socket closed mid-stream')));
    socket.send(
      JSON.stringify({ id, method: 'subscription', params: { path: 'chat.stream', input: { message } } }),
    );
  });
}

/** Bytes the socket has read from the network so far (frame headers included). */
export function socketBytesRead(socket: WebSocket): number {
  return (socket as unknown as { _socket: { bytesRead: number } })._socket.bytesRead;
}
