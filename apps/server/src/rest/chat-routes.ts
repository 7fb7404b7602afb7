import { parseEventId, ValidationError, type ChatEngine } from '@fixthread/core';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsync } from 'fastify';
import { authenticateHeader } from '../auth/authenticate';
import type { VerifyToken } from '../auth/verify-token';
import {
  historyQuery,
  parseInput,
  restMessageInput,
  restThreadBody,
  resumeHeaders,
  threadQuery,
  turnHeaders,
  turnParams,
} from '../validation';
import { documented, errors, eventStream, jsonResponse } from './openapi';
import { attachmentRoutes } from './attachment-routes';
import {
  clearResultSchema,
  errorBodySchema,
  historyResultSchema,
  sendResultSchema,
  sessionStatsSchema,
  stopResultSchema,
} from './response-schemas';
import { threadRoutes } from './thread-routes';
import { streamTurnAsSse, type SseOptions } from './sse';

export interface ChatRoutesOptions {
  engine: ChatEngine;
  verify: VerifyToken;
  sse: SseOptions;
  maxImageBytes: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user, on the chat routes only: their onRequest hook sets it or answers 401. */
    userId: string;
  }
}

const attachmentOrThreadNotFound = jsonResponse(
  'No such thread (NOT_FOUND), or an `attachments` id that is not the user’s own unsent upload (ATTACHMENT_NOT_FOUND): another user’s is the same 404. Nothing is stored.',
  errorBodySchema,
);

/** The design note's REST/SSE contract. Every route needs a bearer token, checked before the body is read. */
export const chatRoutes: FastifyPluginAsync<ChatRoutesOptions> = async (app, { engine, verify, sse, maxImageBytes }) => {
  app.decorateRequest('userId', '');
  app.addHook('onRequest', async (request) => {
    request.userId = (await authenticateHeader(verify, request.headers.authorization)).userId;
  });

  // `thread_id` is optional everywhere: without it, the design note's one thread per user.
  app.post(
    '/chat',
    documented({
      tags: ['chat'],
      operationId: 'sendMessage',
      summary: 'Ask, and get the whole answer once it is saved',
      headers: turnHeaders,
      body: restMessageInput,
      response: {
        200: jsonResponse('The answer.', sendResultSchema),
        ...errors(400, 401, 404, 409, 413, 415, 429, 503),
        404: attachmentOrThreadNotFound,
        422: jsonResponse('The configured model cannot look at photos (MODEL_CANNOT_SEE_IMAGES); the question is saved with them.', errorBodySchema),
      },
    }),
    async (request) => {
      const { message, thread_id: threadId, attachments } = parseInput(restMessageInput, request.body);
      const { response, thread_id } = await engine.send(request.userId, message, { clientMessageId: idempotencyKey(request), threadId, attachments });
      return { response, thread_id };
    },
  );

  app.post(
    '/chat/stream',
    documented({
      tags: ['chat'],
      operationId: 'streamMessage',
      summary: 'Ask, and stream the answer as it is written',
      description: 'Refusals (bad input, quota, unknown thread) come before the stream starts, as JSON with a 4xx status.',
      headers: turnHeaders,
      body: restMessageInput,
      response: { 200: eventStream('The turn.'), ...errors(400, 401, 404, 409, 413, 415, 429, 503), 404: attachmentOrThreadNotFound },
    }),
    async (request, reply) => {
      const { message, thread_id: threadId, attachments } = parseInput(restMessageInput, request.body);
      const turn = await engine.startTurn(request.userId, message, { clientMessageId: idempotencyKey(request), threadId, attachments });
      await streamTurnAsSse(request, reply, turn, sse);
    },
  );

  // The thread's last answer again; the one it replaces is kept, hidden from history and from the model.
  app.post(
    '/chat/regenerate',
    documented({
      tags: ['chat'],
      operationId: 'regenerateAnswer',
      summary: 'Answer the thread’s last question again',
      description: 'The answer it replaces is kept, but hidden from history, search and the model. 400 when there is no answer yet.',
      headers: turnHeaders,
      body: restThreadBody,
      response: { 200: eventStream('The new answer.'), ...errors(400, 401, 404, 409, 413, 415, 429, 503) },
    }),
    async (request, reply) => {
      const threadId = parseInput(restThreadBody, request.body ?? undefined)?.thread_id;
      const turn = await engine.regenerate(request.userId, { clientMessageId: idempotencyKey(request), threadId });
      await streamTurnAsSse(request, reply, turn, sse);
    },
  );

  // The thread's last question replaced by `message`, and answered.
  app.post(
    '/chat/edit',
    documented({
      tags: ['chat'],
      operationId: 'editQuestion',
      summary: 'Replace the thread’s last question, and answer it',
      description: 'The question and answer it replaces are kept, but hidden. 400 when there is no question yet.',
      headers: turnHeaders,
      body: restMessageInput,
      response: {
        200: eventStream('The answer to the new question.'),
        ...errors(400, 401, 404, 409, 413, 415, 429, 503),
        404: attachmentOrThreadNotFound,
      },
    }),
    async (request, reply) => {
      const { message, thread_id: threadId, attachments } = parseInput(restMessageInput, request.body);
      const turn = await engine.edit(request.userId, message, { clientMessageId: idempotencyKey(request), threadId, attachments });
      await streamTurnAsSse(request, reply, turn, sse);
    },
  );

  // Resumes a turn after the last event the client saw (EventSource sends `Last-Event-ID` by itself), or
  // replays it whole; a finished turn replays its saved events and ends with its `done`.
  app.get(
    '/chat/stream/:turnId',
    documented({
      tags: ['chat'],
      operationId: 'resumeStream',
      summary: 'Resume or replay a turn’s stream',
      description: 'Any instance can serve it. A finished turn replays its saved events and ends with its `done`.',
      params: turnParams,
      headers: resumeHeaders,
      response: { 200: eventStream('The turn’s events after `Last-Event-ID`, or all of them.'), ...errors(400, 401, 404, 503) },
    }),
    async (request, reply) => {
      const { turnId } = request.params as { turnId: string };
      const lastEventId = request.headers['last-event-id'];
      const resumeFrom = typeof lastEventId === 'string' && lastEventId !== '' ? parseEventId(lastEventId) : undefined;
      if (resumeFrom && resumeFrom.turnId !== turnId) throw new ValidationError('Last-Event-ID belongs to another turn', 'Last-Event-ID');
      const turn = await engine.resume(request.userId, turnId);
      await streamTurnAsSse(request, reply, turn, sse, resumeFrom?.seq);
    },
  );

  // Stops the user's reply in flight, whichever instance runs it; the partial answer is saved as stopped.
  app.post(
    '/chat/stop',
    documented({
      tags: ['chat'],
      operationId: 'stopReply',
      summary: 'Stop the reply in flight',
      description: 'Whichever instance runs it. The partial answer is saved, marked stopped. Without thread_id, every thread’s.',
      body: restThreadBody,
      response: { 200: jsonResponse('Whether there was a reply to stop.', stopResultSchema), ...errors(400, 401, 404, 413, 415, 503) },
    }),
    async (request) => {
      const threadId = parseInput(restThreadBody, request.body ?? undefined)?.thread_id;
      return { stopped: await engine.stop(request.userId, { threadId }) };
    },
  );

  app.get(
    '/chat/history',
    documented({
      tags: ['chat'],
      operationId: 'getHistory',
      summary: 'A page of a thread’s messages',
      querystring: historyQuery,
      response: { 200: jsonResponse('The newest `limit` messages before `before`, oldest first.', historyResultSchema), ...errors(400, 401, 404, 503) },
    }),
    async (request) => {
      const { limit, before, thread_id: threadId } = parseInput(historyQuery, request.query);
      return engine.history(request.userId, { limit, before, threadId });
    },
  );

  app.delete(
    '/chat/history',
    documented({
      tags: ['chat'],
      operationId: 'clearHistory',
      summary: 'Clear a thread’s messages',
      description: 'Its replies in flight are stopped first. The thread itself stays.',
      querystring: threadQuery,
      response: { 200: jsonResponse('Cleared.', clearResultSchema), ...errors(400, 401, 404, 503) },
    }),
    async (request) => {
      const { thread_id: threadId } = parseInput(threadQuery, request.query);
      return engine.clear(request.userId, { threadId });
    },
  );

  app.get(
    '/chat/sessions',
    documented({
      tags: ['chat'],
      operationId: 'getSessionStats',
      summary: 'A thread’s message count and the user’s token spend',
      querystring: threadQuery,
      response: { 200: jsonResponse('The figures.', sessionStatsSchema), ...errors(400, 401, 404, 503) },
    }),
    async (request) => {
      const { thread_id: threadId } = parseInput(threadQuery, request.query);
      const stats = await engine.stats(request.userId, { threadId });
      // The design note names the spend `total_tokens_used`; the tRPC API and core call it `total_tokens`.
      return { ...stats, total_tokens_used: stats.total_tokens };
    },
  );

  await app.register(threadRoutes, { engine });
  await app.register(attachmentRoutes, { engine, maxImageBytes });
};

/** Stripe-style `Idempotency-Key`; the engine checks its length and characters. */
function idempotencyKey(request: FastifyRequest): string | undefined {
  const key = request.headers['idempotency-key'];
  if (Array.isArray(key)) throw new ValidationError('Send one Idempotency-Key header', 'Idempotency-Key');
  return key;
}
