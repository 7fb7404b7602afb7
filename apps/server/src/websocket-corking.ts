import type { Socket } from 'node:net';
import type WebSocket from 'ws';

/**
 * Frames sent in the same tick leave in one write. A turn's batch becomes several frames at once (a status
 * and its text, `done` and tRPC's `stopped`, every subscription of the socket), and without this `ws` makes
 * a write system call for each; the socket is uncorked on the next tick, so no frame waits for I/O.
 */
export function corkEachTick(socket: WebSocket): void {
  const tcp = (socket as unknown as { _socket?: Socket })._socket;
  if (!tcp) return;
  const send = socket.send.bind(socket) as (...args: unknown[]) => void;
  let corked = false;
  const uncork = () => {
    corked = false;
    if (!tcp.destroyed) tcp.uncork();
  };
  socket.send = ((...args: unknown[]) => {
    if (!corked && !tcp.destroyed) {
      corked = true;
      tcp.cork();
      process.nextTick(uncork);
    }
    send(...args);
  }) as WebSocket['send'];
}
