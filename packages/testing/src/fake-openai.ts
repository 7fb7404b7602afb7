import { once } from 'node:events';
import { type ServerResponse } from 'node:http';
import {
  type ChatRequestBody,
  type FakeDropReply,
  type FakeErrorReply,
  type FakeOpenAIOptions,
  type FakeReply,
  type FakeResponder,
  type FakeTextReply,
  type FakeToolCallsReply,
  type RecordedChatRequest,
} from './fake-openai-types';
import { readBodyText, sendJson, sleep } from './http-io';
import { startHttpServer, toFakeServer, type FakeServer, type RequestContext } from './http-server';
import {
  chunk,
  completion,
  deltaChoice,
  errorBody,
  newCompletionMeta,
  randomId,
  splitText,
} from './openai-payloads';
import { planChunks, resolveReply } from './openai-stream-plan';

export interface FakeOpenAI extends FakeServer<RecordedChatRequest> {
  /** `${url}/v1`, ready for `new OpenAI({ baseURL })`. */
  readonly baseURL: string;
  /** Replies are consumed first-in first-out, one per chat request (SDK retries consume one each). */
  enqueue(...replies: FakeReply[]): void;
  /** Consulted only when the queue is empty. */
  setResponder(responder: FakeResponder | undefined): void;
  setDefaultReply(reply: FakeReply | undefined): void;
  /** What thread-title requests (header `x-fixthread-purpose: title`) get from now on. */
  setTitleReply(reply: FakeReply): void;
  /** Thread-title requests, kept apart from `requests`. */
  readonly titleRequests: RecordedChatRequest[];
  /** Replies still queued. */
  readonly pending: number;
  /** Empties the queue and the request log. */
  reset(): void;
}

const openaiHeaders = (): Record<string, string> => ({
  'x-request-id': randomId('req_', 32),
  'openai-version': '2020-10-01',
  'openai-processing-ms': '1',
});

function sendError(res: ServerResponse, reply: Extract<FakeReply, { error: unknown }>): void {
  const headers = openaiHeaders();
  if (reply.error.status === 429 && reply.error.retryAfterMs !== undefined) {
    headers['retry-after-ms'] = String(reply.error.retryAfterMs);
  }
  sendJson(res, reply.error.status, errorBody(reply.error), headers);
}

async function writeSse(res: ServerResponse, payload: string): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (!res.write(`data: ${payload}\n\n`)) await once(res, 'drain').catch(() => undefined);
  return !res.destroyed;
}

function openSse(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, must-revalidate',
    ...openaiHeaders(),
  });
  res.flushHeaders();
}

async function streamChunks(
  ctx: RequestContext,
  chunks: Array<Record<string, unknown>>,
  pacing: number,
  stopAt: { index: number; then: 'drop' | { error: Record<string, unknown> } } | undefined,
): Promise<void> {
  const { res, signal } = ctx;
  openSse(res);
  for (let i = 0; i < chunks.length; i++) {
    if (stopAt && i === stopAt.index) break;
    if (i > 0 && !(await sleep(pacing, signal))) return;
    if (!(await writeSse(res, JSON.stringify(chunks[i])))) return;
  }
  if (stopAt?.then === 'drop') {
    // Give the written bytes a moment to leave before the reset, like a proxy dying mid-response.
    await sleep(5, signal);
    res.socket?.destroy();
    return;
  }
  if (stopAt) {
    await writeSse(res, JSON.stringify(stopAt.then));
    res.end();
    return;
  }
  await writeSse(res, '[DONE]');
  res.end();
}

async function serveContent(
  ctx: RequestContext,
  reply: FakeTextReply | FakeToolCallsReply,
  body: ChatRequestBody,
) {
  const meta = newCompletionMeta(body);
  const resolved = resolveReply(reply, body);
  const midStreamError = 'midStreamError' in reply ? reply.midStreamError : undefined;
  if (body.stream !== true) {
    if (midStreamError) {
      sendError(ctx.res, { error: { status: 500, ...midStreamError, code: midStreamError.code ?? null } });
      return;
    }
    sendJson(
      ctx.res,
      200,
      completion(
        meta,
        { content: resolved.content, toolCalls: resolved.toolCalls },
        resolved.finishReason,
        resolved.usage,
      ),
      openaiHeaders(),
    );
    return;
  }
  const chunks = planChunks(reply, resolved, body, meta);
  const stopAt = midStreamError
    ? {
        index: midStreamError.afterChunks,
        then: {
          error: errorBody({ status: 500, ...midStreamError, code: midStreamError.code ?? null }).error,
        },
      }
    : undefined;
  await streamChunks(ctx, chunks, reply.delayMsBetweenChunks ?? 0, stopAt);
}

async function serveDrop(ctx: RequestContext, reply: FakeDropReply, body: ChatRequestBody) {
  if (body.stream !== true) {
    ctx.res.socket?.destroy();
    return;
  }
  const meta = newCompletionMeta(body);
  const chunks = [
    chunk(meta, [deltaChoice({ role: 'assistant', content: '', refusal: null })], undefined),
    ...splitText(reply.text, reply.chunkSize).map((piece) =>
      chunk(meta, [deltaChoice({ content: piece })], undefined),
    ),
  ];
  await streamChunks(ctx, chunks, reply.delayMsBetweenChunks ?? 0, {
    index: reply.dropAfterChunks,
    then: 'drop',
  });
}

async function serve(ctx: RequestContext, reply: FakeReply, body: ChatRequestBody): Promise<void> {
  if ('hangMs' in reply) {
    if (!(await sleep(reply.hangMs, ctx.signal))) return;
    return serve(ctx, reply.then ?? { text: 'late reply' }, body);
  }
  if ('error' in reply) return sendError(ctx.res, reply);
  if ('dropAfterChunks' in reply) return serveDrop(ctx, reply, body);
  return serveContent(ctx, reply, body);
}

const TITLE_PURPOSE_HEADER = 'x-fixthread-purpose';
const DEFAULT_TITLE_REPLY: FakeReply = { text: 'Device repair help', usage: { prompt_tokens: 60, completion_tokens: 4 } };

/**
 * What OpenAI answers a text-only model (gpt-3.5-turbo) sent an image: a 400 naming the first image part.
 * Undefined when the request has none.
 */
function imageRefusal(body: ChatRequestBody): FakeErrorReply | undefined {
  for (const [m, message] of body.messages.entries()) {
    if (!Array.isArray(message.content)) continue;
    const p = message.content.findIndex((part) => (part as { type?: unknown } | null)?.type === 'image_url');
    if (p < 0) continue;
    return {
      error: {
        status: 400,
        message: 'Invalid content type. image_url is only supported by certain models.',
        type: 'invalid_request_error',
        param: `messages.[${m}].content.[${p}].type`,
        code: null,
      },
    };
  }
  return undefined;
}

function isChatBody(value: unknown): value is ChatRequestBody {
  return (
    typeof value === 'object' && value !== null && Array.isArray((value as { messages?: unknown }).messages)
  );
}

/**
 * An OpenAI-compatible Chat Completions server scripted per request. Serves
 * `POST /v1/chat/completions` (SSE when `stream: true`, JSON otherwise), `GET /v1/models`
 * and `GET /v1/models/{id}`.
 */
export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const queue: FakeReply[] = [...(options.script ?? [])];
  const requests: RecordedChatRequest[] = [];
  // A client's side calls (FixThread's thread titles) are told apart by a header, and answered and recorded
  // on their own, so they never take a scripted reply or show up among the conversation's requests.
  const titleRequests: RecordedChatRequest[] = [];
  let titleReply: FakeReply = options.titleReply ?? DEFAULT_TITLE_REPLY;
  let responder = options.responder;
  let defaultReply = options.defaultReply;
  let chatCount = 0;
  const models = options.models ?? ['gpt-4o-mini'];

  const handle = await startHttpServer(async (ctx) => {
    const { req, res, url } = ctx;
    const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
    const text = await readBodyText(req);

    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendError(res, { error: { status: 401 } });
    }
    if (route === 'GET /v1/models') {
      const data = models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'system' }));
      return sendJson(res, 200, { object: 'list', data }, openaiHeaders());
    }
    const modelMatch = /^GET \/v1\/models\/(.+)$/.exec(route);
    if (modelMatch) {
      const id = decodeURIComponent(modelMatch[1]!);
      if (!models.includes(id))
        return sendError(res, {
          error: {
            status: 404,
            message: `The model \`${id}\` does not exist or you do not have access to it.`,
          },
        });
      return sendJson(
        res,
        200,
        { id, object: 'model', created: 1_700_000_000, owned_by: 'system' },
        openaiHeaders(),
      );
    }
    if (route !== 'POST /v1/chat/completions') {
      return sendError(res, {
        error: { status: 404, code: null, message: `Invalid URL (${req.method} ${url.pathname})` },
      });
    }

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return sendError(res, {
        error: { status: 400, message: 'We could not parse the JSON body of your request.' },
      });
    }
    if (!isChatBody(body)) {
      return sendError(res, {
        error: {
          status: 400,
          message: "Missing required parameter: 'messages'.",
          code: 'missing_required_parameter',
        },
      });
    }

    if (req.headers[TITLE_PURPOSE_HEADER] === 'title') {
      titleRequests.push({ method: req.method ?? 'POST', path: url.pathname, headers: req.headers, body, reply: titleReply });
      return serve(ctx, titleReply, body);
    }
    const index = chatCount++;
    const record: RecordedChatRequest = {
      method: req.method ?? 'POST',
      path: url.pathname,
      headers: req.headers,
      body,
      reply: undefined,
    };
    if (options.record !== false) requests.push(record);
    const reply =
      (options.acceptsImages === false ? imageRefusal(body) : undefined) ??
      queue.shift() ??
      (await responder?.(body, { index, headers: req.headers })) ??
      defaultReply;
    record.reply = reply;
    if (!reply) {
      return sendError(res, {
        error: {
          status: 500,
          type: 'fake_script_exhausted',
          message: `Fake OpenAI script exhausted: no reply queued for chat request #${index}.`,
        },
      });
    }
    await serve(ctx, reply, body);
  });

  return toFakeServer(handle, requests, {
    baseURL: `${handle.url}/v1`,
    enqueue: (...replies: FakeReply[]) => void queue.push(...replies),
    setResponder: (next: FakeResponder | undefined) => void (responder = next),
    setDefaultReply: (next: FakeReply | undefined) => void (defaultReply = next),
    setTitleReply: (next: FakeReply) => void (titleReply = next),
    titleRequests,
    get pending() {
      return queue.length;
    },
    reset: () => {
      queue.length = 0;
      requests.length = 0;
      titleRequests.length = 0;
    },
  });
}
