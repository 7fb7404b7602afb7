import { createDatabaseGuard, type Database } from '@fixthread/core';
import type { FastifyPluginAsync } from 'fastify';

/** Well inside the 1 s a load balancer's health check usually allows, even when the database hangs. */
const PING_DEADLINE_MS = 800;

export const healthRoute: FastifyPluginAsync<{ database: Database }> = async (app, { database }) => {
  const guard = createDatabaseGuard(PING_DEADLINE_MS);
  app.get('/health', async (request, reply) => {
    try {
      await guard(() => database.ping());
      return { status: 'ok', database: database.driver };
    } catch (error) {
      request.log.error({ err: error }, 'health check: database unreachable');
      return reply.status(503).send({ status: 'unavailable', database: database.driver });
    }
  });
};
