import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '../errors';

/**
 * Serves the built web client from the API's own port when it has been built, so one process is the whole
 * app. Anything unknown falls through to the SPA's index.html when a browser navigates to it; API clients
 * and missing assets get a JSON 404. Source maps are never served (they would hand anyone the client's
 * source): the build writes them without a reference, for whoever holds the files.
 */
export async function registerWebClient(app: FastifyInstance, distDir: string): Promise<boolean> {
  const hasClient = existsSync(join(distDir, 'index.html'));
  if (hasClient) {
    await app.register(fastifyStatic, {
      root: distDir,
      cacheControl: false,
      allowedPath: (path) => !path.endsWith('.map'),
      // Vite fingerprints everything under assets/, so those can be cached forever; index.html never.
      setHeaders: (res, path) => {
        res.setHeader('cache-control', path.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    });
  }
  app.setNotFoundHandler((request, reply) => {
    if (hasClient && isBrowserNavigation(request)) return sendIndex(reply);
    return reply.status(404).send(errorBody({ status: 404, code: 'NOT_FOUND', message: `No route for ${request.method} ${request.url.split('?')[0]}` }));
  });
  return hasClient;
}

function isBrowserNavigation(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const path = request.url.split('?')[0] ?? '';
  if (path.startsWith('/trpc') || /\.[a-z0-9]+$/i.test(path)) return false;
  return request.headers.accept?.includes('text/html') ?? false;
}

function sendIndex(reply: FastifyReply) {
  return reply.header('cache-control', 'no-cache').sendFile('index.html');
}
