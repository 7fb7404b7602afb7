import type { ChatEngine } from '@fixthread/core';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import type { ActiveStreams } from './trpc/active-streams';

/**
 * "Service restart" (RFC 6455 §7.4.1): the server goes away on purpose. wsLink treats any close as a reason to
 * reconnect a pending subscription; by then none is pending, since each got its `done` first.
 */
export const CLOSE_SERVICE_RESTART = 1012;
/** After its turn ended, how long a subscription may take to write its last frames before its socket closes. */
const FLUSH_TIMEOUT_MS = 2_000;
const FLUSH_POLL_MS = 20;
const STOPPED_MESSAGE_MS = 25;

/**
 * Runs as Fastify's preClose, after routes stopped taking requests: lets every turn finish (or be stopped at
 * the grace deadline, which sends `done` with `stopped`), lets every subscriber receive its `done`, and only
 * then closes the sockets, with a code that says the server is restarting rather than 1005 "no status".
 */
export async function closeWebSocketsCleanly(app: FastifyInstance, engine: ChatEngine, streams: ActiveStreams): Promise<void> {
  const server = app.websocketServer;
  if (server.clients.size > 0) {
    await engine.drain();
    await streams.settled(FLUSH_TIMEOUT_MS);
    // tRPC sends a subscription's `stopped` (which completes it on the client) just after its generator returns;
    // closing before that leaves the client a pending subscription, which wsLink then retries forever.
    await new Promise((resolve) => setTimeout(resolve, STOPPED_MESSAGE_MS));
    await flushed([...server.clients], Date.now() + FLUSH_TIMEOUT_MS);
  }
  for (const client of server.clients) client.close(CLOSE_SERVICE_RESTART, 'Server restarting');
  // ws emits the server's close only once every client finished its closing handshake; that is not worth
  // waiting for (Fastify's server close ends the sockets that linger).
  server.close();
}

async function flushed(clients: WebSocket[], deadline: number): Promise<void> {
  while (clients.some((client) => client.readyState === WebSocket.OPEN && client.bufferedAmount > 0) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, FLUSH_POLL_MS));
  }
}
