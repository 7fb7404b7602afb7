import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { errorBody } from '../errors';

/**
 * Cross-origin calls from the browser origins in CORS_ORIGINS only; none by default, since the server
 * serves its own web client. Authentication is a bearer token, never a cookie, so no credentials are
 * allowed. A request from any other origin gets no Access-Control-Allow-Origin (the browser keeps the
 * answer from the page), and its preflight is refused with 403, so the browser never sends the request.
 */
export async function registerCors(app: FastifyInstance, allowedOrigins: readonly string[]): Promise<void> {
  const allowed = new Set(allowedOrigins.map(normalizedOrigin));
  const isAllowed = (origin: string | undefined) => origin !== undefined && allowed.has(normalizedOrigin(origin));
  app.addHook('onRequest', async (request, reply) => {
    if (!isPreflight(request.method, request.headers) || isAllowed(request.headers.origin)) return;
    return reply
      .status(403)
      .send(errorBody({ status: 403, code: 'CORS_ORIGIN_NOT_ALLOWED', message: `Cross-origin requests from ${String(request.headers.origin)} are not allowed` }));
  });
  await app.register(fastifyCors, {
    origin: (origin, callback) => callback(null, isAllowed(origin)),
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    // The request id, which a page shows users so that they can quote it when something failed.
    exposedHeaders: ['x-request-id'],
    maxAge: 600,
  });
}

function isPreflight(method: string, headers: Record<string, unknown>): boolean {
  return method === 'OPTIONS' && headers.origin !== undefined && headers['access-control-request-method'] !== undefined;
}

/** `https://A.example:443/` and `https://a.example` are one origin. */
function normalizedOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return origin;
  }
}
