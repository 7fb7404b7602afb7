import { Readable } from 'node:stream';
import type { ChatEngine, ExportedMessage, ThreadSummary } from '@fixthread/core';
import type { FastifyPluginAsync } from 'fastify';
import { exportQuery, newThreadBody, parseInput, searchQuery, threadParams, threadsQuery, titleBody } from '../validation';
import { documented, errors, jsonResponse } from './openapi';
import {
  deletedThreadSchema,
  exportRecordSchema,
  markdownExportSchema,
  searchResultsSchema,
  threadExportSchema,
  threadPageSchema,
  threadSummarySchema,
} from './response-schemas';

/**
 * Threads, search and export. Registered inside the chat routes, so the same bearer-token hook guards them;
 * another user's thread is 404, like an unknown one. Thread ids hold a `/`: clients encode it in paths.
 */
export const threadRoutes: FastifyPluginAsync<{ engine: ChatEngine }> = async (app, { engine }) => {
  app.get(
    '/chat/threads',
    documented({
      tags: ['threads'],
      operationId: 'listThreads',
      summary: 'The user’s threads, a page at a time',
      querystring: threadsQuery,
      response: { 200: jsonResponse('A page of threads.', threadPageSchema), ...errors(400, 401, 503) },
    }),
    async (request) => {
      const { cursor, limit } = parseInput(threadsQuery, request.query);
      return engine.listThreads(request.userId, { cursor, limit });
    },
  );

  app.post(
    '/chat/threads',
    documented({
      tags: ['threads'],
      operationId: 'createThread',
      summary: 'Start a thread',
      description: 'Without a title, the thread is named after its first question.',
      body: newThreadBody,
      response: { 201: jsonResponse('The new thread.', threadSummarySchema), ...errors(400, 401, 413, 415, 503) },
    }),
    async (request, reply) => {
      const body = parseInput(newThreadBody, request.body ?? undefined);
      return reply.status(201).send(await engine.createThread(request.userId, { title: body?.title }));
    },
  );

  app.patch(
    '/chat/threads/:threadId',
    documented({
      tags: ['threads'],
      operationId: 'renameThread',
      summary: 'Rename a thread',
      params: threadParams,
      body: titleBody,
      response: { 200: jsonResponse('The renamed thread.', threadSummarySchema), ...errors(400, 401, 404, 413, 415, 503) },
    }),
    async (request) => {
      const { threadId } = request.params as { threadId: string };
      const { title } = parseInput(titleBody, request.body);
      return engine.renameThread(request.userId, threadId, title);
    },
  );

  app.delete(
    '/chat/threads/:threadId',
    documented({
      tags: ['threads'],
      operationId: 'deleteThread',
      summary: 'Delete a thread and its messages',
      description: 'Its replies in flight are stopped first. The default thread comes back, empty, on next use.',
      params: threadParams,
      response: { 200: jsonResponse('Deleted.', deletedThreadSchema), ...errors(400, 401, 404, 503) },
    }),
    async (request) => {
      const { threadId } = request.params as { threadId: string };
      return engine.deleteThread(request.userId, threadId);
    },
  );

  app.get(
    '/chat/search',
    documented({
      tags: ['threads'],
      operationId: 'searchMessages',
      summary: 'Full-text search over the user’s messages, every thread',
      querystring: searchQuery,
      response: { 200: jsonResponse('The matches, newest first.', searchResultsSchema), ...errors(400, 401, 503) },
    }),
    async (request) => {
      const { q, limit } = parseInput(searchQuery, request.query);
      return engine.search(request.userId, q, { limit });
    },
  );

  // One thread as Markdown or JSON, or (ndjson without thread_id) every thread: streamed a page at a time
  // with backpressure, so memory stays flat however long the history is.
  app.get(
    '/chat/export',
    documented({
      tags: ['threads'],
      operationId: 'exportThreads',
      summary: 'Download a thread, or every thread',
      description: 'Sent as an attachment (`Content-Disposition`), streamed however long the history is.',
      querystring: exportQuery,
      response: {
        200: {
          description:
            '`format=markdown` (the default): the thread as Markdown. `json`: the thread and its messages. `ndjson`: one JSON ' +
            'record a line, the schema being that of one line; without thread_id, every thread, each followed by its messages.',
          content: {
            'text/markdown': { schema: markdownExportSchema },
            'application/json': { schema: threadExportSchema },
            'application/x-ndjson': { schema: exportRecordSchema },
          },
        },
        ...errors(400, 401, 404, 503),
      },
    }),
    async (request, reply) => {
      const { thread_id: threadId, format = 'markdown' } = parseInput(exportQuery, request.query);
      const stamp = new Date().toISOString().slice(0, 10);
      if (format === 'ndjson' && threadId === undefined) {
        const records = engine.exportAll(request.userId);
        return reply
          .type('application/x-ndjson; charset=utf-8')
          .header('content-disposition', `attachment; filename="fixthread-${stamp}.ndjson"`)
          .send(Readable.from(lines(records, (record) => `${JSON.stringify(record)}\n`)));
      }
      const { thread, messages } = await engine.exportThread(request.userId, threadId);
      const name = `fixthread-${stamp}`;
      if (format === 'markdown') {
        return reply
          .type('text/markdown; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}.md"`)
          .send(Readable.from(markdown(thread, messages)));
      }
      if (format === 'ndjson') {
        return reply
          .type('application/x-ndjson; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}.ndjson"`)
          .send(Readable.from(lines(messages, (message) => `${JSON.stringify({ type: 'message', ...message })}\n`)));
      }
      return reply
        .type('application/json; charset=utf-8')
        .header('content-disposition', `attachment; filename="${name}.json"`)
        .send(Readable.from(json(thread, threadId, messages)));
    },
  );
};

/** About 64 KiB per write: one socket write per message would be a system call per line. */
const WRITE_CHARS = 64 * 1024;

async function* lines<T>(source: AsyncIterable<T>, line: (item: T) => string): AsyncGenerator<string> {
  let pending: string[] = [];
  let size = 0;
  for await (const item of source) {
    const text = line(item);
    pending.push(text);
    size += text.length;
    if (size >= WRITE_CHARS) {
      yield pending.join('');
      pending = [];
      size = 0;
    }
  }
  if (pending.length > 0) yield pending.join('');
}

async function* markdown(thread: ThreadSummary | null, messages: AsyncIterable<ExportedMessage>): AsyncGenerator<string> {
  yield `# ${thread?.title ?? 'FixThread conversation'}\n\n`;
  yield* lines(messages, (message) => `### ${message.role === 'user' ? 'You' : 'FixThread'} · ${message.timestamp}\n\n${message.content}\n\n`);
}

async function* json(
  thread: ThreadSummary | null,
  threadId: string | undefined,
  messages: AsyncIterable<ExportedMessage>,
): AsyncGenerator<string> {
  yield `{"thread":${JSON.stringify(thread ?? { id: threadId ?? null })},"messages":[`;
  let first = true;
  yield* lines(messages, (message) => {
    const text = `${first ? '' : ','}${JSON.stringify(message)}`;
    first = false;
    return text;
  });
  yield ']}\n';
}
