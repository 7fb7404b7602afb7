import { parseEventId, ValidationError, type ChatEngine } from '@fixthread/core';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsync } from 'fastify';
import { authenticateHeader } from '../auth/authenticate';
import type { VerifyToken } from '../auth/verify-token';
import { historyQuery, parseInput, restMessageInput, restThreadBody, threadQuery } from '../validation';
import { threadRoutes } from './thread-routes';
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

  // `thread_id` is optional everywhere: without it, the design note's one thread per user.
  app.post('/chat', async (request) => {
    const { message, thread_id: threadId } = parseInput(restMessageInput, request.body);
    const { response, thread_id } = await engine.send(request.userId, message, { clientMessageId: idempotencyKey(request), threadId });
    return { response, thread_id };
  });

  app.post('/chat/stream', async (request, reply) => {
    const { message, thread_id: threadId } = parseInput(restMessageInput, request.body);
    const turn = await engine.startTurn(request.userId, message, { clientMessageId: idempotencyKey(request), threadId });
    await streamTurnAsSse(request, reply, turn, sse);
  });

  // The thread's last answer again; the one it replaces is kept, hidden from history and from the model.
  app.post('/chat/regenerate', async (request, reply) => {
    const threadId = parseInput(restThreadBody, request.body ?? undefined)?.thread_id;
    const turn = await engine.regenerate(request.userId, { clientMessageId: idempotencyKey(request), threadId });
    await streamTurnAsSse(request, reply, turn, sse);
  });

  // The thread's last question replaced by `message`, and answered.
  app.post('/chat/edit', async (request, reply) => {
    const { message, thread_id: threadId } = parseInput(restMessageInput, request.body);
    const turn = await engine.edit(request.userId, message, { clientMessageId: idempotencyKey(request), threadId });
    await streamTurnAsSse(request, reply, turn, sse);
  });

  // Resumes a turn after the last event the client saw (EventSource sends `Last-Event-ID` by itself), or
  // replays it whole; a finished turn replays its saved events and ends with its `done`.
  app.get('/chat/stream/:turnId', async (request, reply) => {
    const { turnId } = request.params as { turnId: string };
    const lastEventId = request.headers['last-event-id'];
    const resumeFrom = typeof lastEventId === 'string' && lastEventId !== '' ? parseEventId(lastEventId) : undefined;
    if (resumeFrom && resumeFrom.turnId !== turnId) throw new ValidationError('Last-Event-ID belongs to another turn', 'Last-Event-ID');
    const turn = await engine.resume(request.userId, turnId);
    await streamTurnAsSse(request, reply, turn, sse, resumeFrom?.seq);
  });

  // Stops the user's reply in flight, whichever instance runs it; the partial answer is saved as stopped.
  app.post('/chat/stop', async (request) => {
    const threadId = parseInput(restThreadBody, request.body ?? undefined)?.thread_id;
    return { stopped: await engine.stop(request.userId, { threadId }) };
  });

  app.get('/chat/history', async (request) => {
    const { limit, before, thread_id: threadId } = parseInput(historyQuery, request.query);
    return engine.history(request.userId, { limit, before, threadId });
  });

  app.delete('/chat/history', async (request) => {
    const { thread_id: threadId } = parseInput(threadQuery, request.query);
    return engine.clear(request.userId, { threadId });
  });

  app.get('/chat/sessions', async (request) => {
    const { thread_id: threadId } = parseInput(threadQuery, request.query);
    const stats = await engine.stats(request.userId, { threadId });
    // The design note names the spend `total_tokens_used`; the tRPC API and core call it `total_tokens`.
    return { ...stats, total_tokens_used: stats.total_tokens };
  });

  await app.register(threadRoutes, { engine });
};

/** Stripe-style `Idempotency-Key`; the engine checks its length and characters. */
function idempotencyKey(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (Array.isArray(key)) throw new ValidationError('Send one Idempotency-Key header', 'Idempotency-Key');
  return key;
}
