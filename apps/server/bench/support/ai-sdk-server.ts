/**
 * Child-process entry for the peer (forked by peer-server.ts): the chat route a Vercel AI SDK app would write.
 * POST /chat/stream {user, message}: postgres.js inserts the question and reads the thread's newest messages,
 * `streamText` (ai 6, @ai-sdk/openai's chat model) streams the reply from the same fake model as a UI message
 * stream (SSE), and `onFinish` saves the reply and adds its usage in one transaction. No tools, ledger, turn
 * record or resumable events: FixThread does all of those as well.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOpenAI } from '@ai-sdk/openai';
import { threadIdFor } from '@fixthread/core';
import { streamText, type ModelMessage } from 'ai';
import postgres from 'postgres';

export type PeerRequest = { type: 'start'; databaseUrl: string; openaiBaseUrl: string; model: string; system: string } | { type: 'exit' };
export type PeerReply = { type: 'ready'; url: string } | { type: 'error'; message: string };

async function readJson(request: IncomingMessage): Promise<{ user: string; message: string }> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as { user: string; message: string };
}

async function start(options: Extract<PeerRequest, { type: 'start' }>): Promise<string> {
  const sql = postgres(options.databaseUrl, { max: 10, onnotice: () => {}, connection: { TimeZone: 'UTC' } });
  const model = createOpenAI({ baseURL: options.openaiBaseUrl, apiKey: 'bench-key' }).chat(options.model);
  const server = createServer((request, response) => {
    const handle = async () => {
      const { user, message } = await readJson(request);
      const threadId = threadIdFor(user);
      await sql`insert into conversations (user_id, thread_id, role, content) values (${user}, ${threadId}, 'user', ${message})`;
      const rows = await sql<Array<{ role: 'user' | 'assistant'; content: string }>>`
        select role, content from (select id, role, content from conversations where thread_id = ${threadId}
        order by id desc limit 20) newest order by id asc`;
      const messages: ModelMessage[] = rows.map((row) => ({ role: row.role, content: row.content }));
      const result = streamText({
        model,
        system: options.system,
        messages,
        onFinish: async ({ text, totalUsage }) => {
          const total = totalUsage.totalTokens ?? 0;
          await sql.begin(async (tx) => {
            await tx`insert into conversations (user_id, thread_id, role, content, usage_tokens, finish_reason)
              values (${user}, ${threadId}, 'assistant', ${text}, ${total}, 'stop')`;
            await tx`insert into user_usage (user_id, total_tokens) values (${user}, ${total})
              on conflict (user_id) do update set total_tokens = user_usage.total_tokens + excluded.total_tokens, updated_at = now()`;
          });
        },
      });
      await result.pipeUIMessageStreamToResponse(response);
    };
    handle().catch((error: unknown) => {
      response.statusCode = 500;
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

process.on('message', (message: PeerRequest) => {
  const handle = async (): Promise<PeerReply> => {
    if (message.type === 'start') return { type: 'ready', url: await start(message) };
    process.exit(0);
  };
  handle()
    .then((reply) => process.send?.(reply))
    .catch((error: unknown) => {
      process.send?.({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    });
});
process.on('disconnect', () => process.exit(0));
