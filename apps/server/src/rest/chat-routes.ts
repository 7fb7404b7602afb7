import type { ChatEngine } from '@fixthread/core';
import type { FastifyPluginAsync } from 'fastify';
import { authenticateHeader } from '../auth/authenticate';
import type { VerifyToken } from '../auth/verify-token';
import { historyQuery, messageInput, parseInput } from '../validation';
import { streamTurnAsSse, type SseOptions } from './sse';

export interface ChatRoutesOptions {
  engine: ChatEngine;
  verify: VerifyToken;
  sse: SseOptions;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user, on the chat routes only: their onRequest hook sets it or answers 401. */
    userId: string;
  }
}

/** The design note's REST/SSE contract. Every route needs a bearer token, checked before the body is read. */
export const chatRoutes: FastifyPluginAsync<ChatRoutesOptions> = async (app, { engine, verify, sse }) => {
  app.decorateRequest('userId', '');
  app.addHook('onRequest', async (request) => {
    request.userId = (await authenticateHeader(verify, request.headers.authorization)).userId;
  });

  app.post('/chat', async (request) => {
    const { message } = parseInput(messageInput, request.body);
    return engine.send(request.userId, message);
  });

  app.post('/chat/stream', async (request, reply) => {
    const { message } = parseInput(messageInput, request.body);
    const turn = await engine.startTurn(request.userId, message);
    await streamTurnAsSse(request, reply, turn, sse);
  });

  app.get('/chat/history', async (request) => {
    const { limit } = parseInput(historyQuery, request.query);
    return engine.history(request.userId, { limit });
  });

  app.delete('/chat/history', async (request) => engine.clear(request.userId));

  app.get('/chat/sessions', async (request) => {
    const stats = await engine.stats(request.userId);
    // The design note names the spend `total_tokens_used`; the tRPC API and core call it `total_tokens`.
    return { ...stats, total_tokens_used: stats.total_tokens };
  });
};
