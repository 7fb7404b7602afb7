import { once } from 'node:events';
import type { Socket } from 'node:net';
import type WebSocket from 'ws';

/** What a subscriber may have queued on its socket before its stream waits: a few frames' worth of a long reply. */
export const SOCKET_HIGH_WATER_BYTES = 64 * 1024;

/**
 * Resolves once the socket has taken what was sent to it, or at once when it has room. A stream that waits here
 * before reading its next event gets, when it reads, everything the turn said meanwhile as one event (the turn
 * log joins text), so a reader slower than the model receives fewer, larger frames, and the server holds the
 * text once rather than a queued frame per token. Never rejects: a closed socket or an aborted signal ends the
 * wait, and the stream then sees its signal.
 */
export async function socketDrained(socket: WebSocket, signal: AbortSignal | undefined): Promise<void> {
  if (socket.bufferedAmount <= SOCKET_HIGH_WATER_BYTES) return;
  const tcp = (socket as unknown as { _socket?: Socket })._socket;
  if (!tcp || tcp.destroyed || signal?.aborted) return;
  const ended = new AbortController();
  const stop = () => ended.abort();
  signal?.addEventListener('abort', stop, { once: true });
  tcp.once('close', stop);
  try {
    await once(tcp, 'drain', { signal: ended.signal });
  } catch {
    // Closed or unsubscribed: nothing left to wait for.
  } finally {
    signal?.removeEventListener('abort', stop);
    tcp.off('close', stop);
  }
}
