import { Readable } from 'node:stream';
import type { ChatEngine, ExportedMessage, ThreadSummary } from '@fixthread/core';
import type { FastifyPluginAsync } from 'fastify';
import { exportQuery, newThreadBody, parseInput, searchQuery, threadsQuery, titleBody } from '../validation';

/**
 * Threads, search and export. Registered inside the chat routes, so the same bearer-token hook guards them;
 * another user's thread is 404, like an unknown one. Thread ids hold a `/`: clients encode it in paths.
 */
export const threadRoutes: FastifyPluginAsync<{ engine: ChatEngine }> = async (app, { engine }) => {
  app.get('/chat/threads', async (request) => {
    const { cursor, limit } = parseInput(threadsQuery, request.query);
    return engine.listThreads(request.userId, { cursor, limit });
  });

  app.post('/chat/threads', async (request, reply) => {
    const body = parseInput(newThreadBody, request.body ?? undefined);
    return reply.status(201).send(await engine.createThread(request.userId, { title: body?.title }));
  });

  app.patch('/chat/threads/:threadId', async (request) => {
    const { threadId } = request.params as { threadId: string };
    const { title } = parseInput(titleBody, request.body);
    return engine.renameThread(request.userId, threadId, title);
  });

  app.delete('/chat/threads/:threadId', async (request) => {
    const { threadId } = request.params as { threadId: string };
    return engine.deleteThread(request.userId, threadId);
  });

  app.get('/chat/search', async (request) => {
    const { q, limit } = parseInput(searchQuery, request.query);
    return engine.search(request.userId, q, { limit });
  });

  // One thread as Markdown or JSON, or (ndjson without thread_id) every thread: streamed a page at a time
  // with backpressure, so memory stays flat however long the history is.
  app.get('/chat/export', async (request, reply) => {
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
  });
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
