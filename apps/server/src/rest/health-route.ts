import { createDatabaseGuard, type Database, type LiveEvents } from '@fixthread/core';
import type { FastifyPluginAsync } from 'fastify';
import { documented, jsonResponse } from './openapi';
import { healthSchema } from './response-schemas';

/** Well inside the 1 s a load balancer's health check usually allows, even when the database hangs. */
const PING_DEADLINE_MS = 800;

/**
 * 503 only when the database, the record, is unreachable. Redis down is `degraded` but still 200: the
 * instance runs and saves turns (readers elsewhere follow them from the database), and every instance shares
 * the one Redis, so failing the check would take the whole service out instead of none of it.
 */
export const healthRoute: FastifyPluginAsync<{ database: Database; live: LiveEvents }> = async (
  app,
  { database, live },
) => {
  const guard = createDatabaseGuard(PING_DEADLINE_MS);
  app.get(
    '/health',
    documented({
      tags: ['health'],
      operationId: 'getHealth',
      summary: 'Whether this instance can serve',
      security: [],
      response: {
        200: jsonResponse('Serving; `degraded` when Redis is down.', healthSchema),
        503: jsonResponse('The database is unreachable.', healthSchema),
      },
    }),
    async (request, reply) => {
      const [databaseUp, redis] = await Promise.all([
        guard(() => database.ping()).then(
          () => true,
          (error: unknown) => {
            request.log.error({ err: error }, 'health check: database unreachable');
            return false;
          },
        ),
        live.status(),
      ]);
      const status = !databaseUp ? 'unavailable' : redis === 'down' ? 'degraded' : 'ok';
      return reply.status(databaseUp ? 200 : 503).send({ status, database: database.driver, redis });
    },
  );
};
