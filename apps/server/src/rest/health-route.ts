import type { Database } from '@fixthread/core';
import type { FastifyPluginAsync } from 'fastify';

export const healthRoute: FastifyPluginAsync<{ database: Database }> = async (app, { database }) => {
  app.get('/health', async (request, reply) => {
    try {
      await database.ping();
      return { status: 'ok', database: database.driver };
    } catch (error) {
      request.log.error({ err: error }, 'health check: database unreachable');
      return reply.status(503).send({ status: 'unavailable', database: database.driver });
    }
  });
};
