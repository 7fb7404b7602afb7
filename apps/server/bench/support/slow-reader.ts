/**
 * A POST /chat/stream client that reads its response a few bytes at a time: a raw TCP socket, paused, from
 * which `bytesPerTick` are taken every `tickMs`. Node stops reading the kernel once ~16 KiB sit unread, so
 * the TCP window closes and the server's writes see backpressure, as with a phone on a poor connection.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { sanity } from './stats';

export interface SlowReader {
  /** Response bytes (headers included) taken so far. */
  readonly received: number;
  /** Leaves mid-stream, as a closed tab does. */
  disconnect(): void;
}

export async function startSlowReader(
  baseUrl: string,
  token: string,
  message: string,
  { bytesPerTick, tickMs }: { bytesPerTick: number; tickMs: number },
): Promise<SlowReader> {
  const { hostname, port } = new URL(baseUrl);
  const socket: Socket = connect({ host: hostname, port: Number(port) });
  await once(socket, 'connect');
  socket.pause();
  const body = JSON.stringify({ message });
  socket.write(
    `POST /chat/stream HTTP/1.1\r\nhost: ${hostname}:${port}\r\nauthorization: Bearer ${token}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  let received = 0;
  let head = '';
  const timer = setInterval(() => {
    const chunk = socket.read(bytesPerTick) as Buffer | null;
    if (!chunk) return;
    if (received === 0) head = chunk.toString('latin1');
    received += chunk.length;
  }, tickMs);
  socket.on('error', () => {}); // the bench itself destroys it
  // Sanity: the server accepted the turn and started streaming, it is only the reading that is slow.
  for (let waited = 0; received === 0; waited += tickMs) {
    sanity(waited < 10_000, 'slow reader got no response');
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  sanity(
    head.startsWith('HTTP/1.1 200') && head.includes('text/event-stream'),
    `slow reader got: ${head.slice(0, 80)}`,
  );
  return {
    get received() {
      return received;
    },
    disconnect: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}
