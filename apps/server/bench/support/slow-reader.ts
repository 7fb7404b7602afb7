/**
 * A POST /chat/stream client that reads its response a few bytes at a time: a raw TCP socket, paused, from
 * which `bytesPerTick` are taken every `tickMs`. Node stops reading the kernel once ~16 KiB sit unread, so
 * the TCP window closes, and once the kernel buffers on both ends are full (kernelSocketBuffering below) the
 * server's writes see backpressure, as with a phone on a poor connection.
 */
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { sanity, sleep } from './stats';

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
    // The response head spans several slow reads (the security headers alone are over a kilobyte).
    if (!head.includes('\r\n\r\n') && head.length < 64 * 1024) head += chunk.toString('latin1');
    received += chunk.length;
  }, tickMs);
  socket.on('error', () => {}); // the bench itself destroys it
  // Sanity: the server accepted the turn and started streaming, it is only the reading that is slow.
  for (let waited = 0; !head.includes('\r\n\r\n'); waited += tickMs) {
    sanity(waited < 10_000, 'slow reader got no response head');
    await new Promise((resolve) => setTimeout(resolve, tickMs));
  }
  sanity(
    head.startsWith('HTTP/1.1 200') && head.includes('text/event-stream'),
    `slow reader got: ${head.slice(0, 200)}`,
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

/**
 * How many bytes a loopback connection whose reader has stopped reading absorbs (both sockets' kernel buffers
 * plus Node's read-ahead) before a writer has to hold data itself: a reply smaller than this never makes the
 * server wait for a slow reader.
 */
export async function kernelSocketBuffering(): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x78);
  const total = 32 * 1024 * 1024;
  const accepted = new Promise<number>((resolve) => {
    const server = createServer((socket) => {
      for (let written = 0; written < total; written += chunk.length) socket.write(chunk);
      void sleep(300).then(() => {
        resolve(total - socket.writableLength);
        socket.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port });
      client.pause();
      client.on('error', () => {});
      client.on('close', () => client.destroy());
    });
  });
  return accepted;
}
