import type { ChatEngine } from '@fixthread/core';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { authenticateHeader } from '../auth/authenticate';
import type { VerifyToken } from '../auth/verify-token';
import { historyQuery, messageInput, parseInput } from '../validation';
import { streamTurnAsSse, type SseOptions } from './sse';

export interface ChatRoutesOptions {
  engine: ChatEngine;
  verify: VerifyToken;
  sse: SseOptions;
}

const authenticatedUsers = new WeakMap<FastifyRequest, string>();

function userIdOf(request: FastifyRequest): string {
  const userId = authenticatedUsers.get(request);
  if (!userId) throw new Error('chat route reached without authentication');
  return userId;
}

/** The design note's REST/SSE contract. Every route needs a bearer token, checked before the body is read. */
export const chatRoutes: FastifyPluginAsync<ChatRoutesOptions> = async (app, { engine, verify, sse }) => {
  app.addHook('onRequest', async (request) => {
    const user = await authenticateHeader(verify, request.headers.authorization);
    authenticatedUsers.set(request, user.userId);
  });

  app.post('/chat', async (request) => {
    const { message } = parseInput(messageInput, request.body);
    return engine.send(userIdOf(request), message);
  });

  app.post('/chat/stream', async (request, reply) => {
    const { message } = parseInput(messageInput, request.body);
    const turn = await engine.startTurn(userIdOf(request), message);
    await streamTurnAsSse(request, reply, turn, sse);
  });

  app.get('/chat/history', async (request) => {
    const { limit } = parseInput(historyQuery, request.query);
    return engine.history(userIdOf(request), { limit });
  });

  app.delete('/chat/history', async (request) => engine.clear(userIdOf(request)));

  app.get('/chat/sessions', async (request) => {
    const stats = await engine.stats(userIdOf(request));
    // The design note names the spend `total_tokens_used`; the tRPC API and core call it `total_tokens`.
    return { ...stats, total_tokens_used: stats.total_tokens };
  });
};
