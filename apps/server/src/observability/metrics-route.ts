import { createHash, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { errorBody } from '../errors';

export interface MetricsRouteOptions {
  registry: Registry;
  /** GET /metrics on the main port, for scrapers sending `Authorization: Bearer <token>`; unset, not served there. */
  token: string | undefined;
  /** A second listener on 127.0.0.1 that serves /metrics without a token; unset, none. */
  port: number | undefined;
}

/** Only the loopback interface: a port without a token must not be reachable from the network. */
const METRICS_HOST = '127.0.0.1';

/**
 * /metrics is never open on the port users reach: there it needs the token (a wrong or missing one is a 401
 * and reads nothing), and the tokenless listener binds to loopback only, for an agent on the same host.
 */
export function registerMetricsRoute(app: FastifyInstance, { registry, token, port }: MetricsRouteOptions): void {
  if (token !== undefined) {
    const expected = digest(token);
    app.get('/metrics', async (request, reply) => {
      const offered = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
      if (offered === undefined || !timingSafeEqual(digest(offered), expected)) {
        return reply
          .status(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .send(errorBody({ status: 401, code: 'UNAUTHORIZED', message: 'Send the metrics token as Authorization: Bearer <METRICS_TOKEN>' }));
      }
      return reply.type(registry.contentType).send(await registry.metrics());
    });
  }
  if (port !== undefined) serveOnLoopback(app, registry, port);
}

/** Bound as the app gets ready, so a port already taken fails the start instead of going unnoticed. */
function serveOnLoopback(app: FastifyInstance, registry: Registry, port: number): void {
  const server = createServer((request, response) => void answer(app, registry, request, response));
  app.addHook('onReady', async () => {
    server.listen(port, METRICS_HOST);
    // Rejects with the listen error (EADDRINUSE) instead.
    await once(server, 'listening');
    app.log.info({ url: `http://${METRICS_HOST}:${port}/metrics` }, 'metrics served without a token on loopback');
  });
  app.addHook('onClose', async () => {
    if (!server.listening) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

async function answer(app: FastifyInstance, registry: Registry, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = request.url?.split('?')[0];
  if (request.method !== 'GET' || path !== '/metrics') {
    const body = errorBody({ status: 404, code: 'NOT_FOUND', message: 'Only GET /metrics is served on this port' });
    response.writeHead(404, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
    return;
  }
  try {
    const text = await registry.metrics();
    response.writeHead(200, { 'content-type': registry.contentType }).end(text);
  } catch (error) {
    app.log.error({ err: error }, 'metrics collection failed');
    response.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(errorBody({ status: 500, code: 'INTERNAL', message: 'Internal server error' })));
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
