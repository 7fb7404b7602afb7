import type { FastifyRequest } from 'fastify';
import { stdSerializers } from 'pino';
import { sanitizedDatabaseError } from './sanitized-database-error';

/**
 * Fastify's serializers, changed so that nothing a client sent ends up in the logs: requests are logged by
 * path, because a query string can carry a token or a message; database errors are logged sanitized, because
 * they carry their query's parameters. Every `{ err }` that the app or Fastify logs passes through here.
 */
export const logSerializers = {
  req: (request: FastifyRequest) => ({
    method: request.method,
    url: pathOf(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket.remotePort,
  }),
  err: (error: Error) => sanitizedDatabaseError(error) ?? stdSerializers.err(error),
};

export function pathOf(url: string): string {
  const queryAt = url.indexOf('?');
  return queryAt < 0 ? url : url.slice(0, queryAt);
}
