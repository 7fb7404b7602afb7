import { type IncomingHttpHeaders } from 'node:http';

export interface FakeUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** Knobs shared by every reply that streams. */
export interface StreamPacing {
  /** Milliseconds to wait between SSE chunks (default 0). */
  delayMsBetweenChunks?: number;
}

/** An OpenAI-shaped error delivered inside the SSE stream after some chunks (HTTP status stays 200). */
export interface FakeMidStreamError {
  afterChunks: number;
  message?: string;
  type?: string;
  code?: string | null;
}

export interface FakeTextReply extends StreamPacing {
  text: string;
  /**
   * Omitted: estimated from the request (≈4 chars per token). `'none'`: no usage anywhere, even
   * when `stream_options.include_usage` is set (some compatible providers behave that way).
   */
  usage?: FakeUsage | 'none';
  /** Characters (code points) per content chunk. Omitted: one word-ish token per chunk. */
  chunkSize?: number;
  /** Default `'stop'`; `'length'` and `'content_filter'` are the other real values. */
  finishReason?: string;
  /**
   * Default `true`: usage arrives in an extra final chunk with `choices: []` (real OpenAI).
   * `false`: usage rides on the chunk carrying `finish_reason` (a common provider quirk).
   */
  usageInEmptyChoicesChunk?: boolean;
  midStreamError?: FakeMidStreamError;
}

export interface FakeToolCall {
  name: string;
  /** JSON text, exactly as the model would emit it (may deliberately be invalid JSON). */
  arguments: string;
  /** Default: a generated `call_…` id. */
  id?: string;
}

export interface FakeToolCallsReply extends StreamPacing {
  toolCalls: FakeToolCall[];
  /** Optional assistant text streamed before the tool calls. */
  text?: string;
  usage?: FakeUsage | 'none';
  /** `'fragments'` (default) splits each arguments string across chunks; `'whole'` sends it at once. */
  split?: 'fragments' | 'whole';
  /** Default `'tool_calls'`; `'stop'` reproduces providers that report tool calls with the wrong reason. */
  finishReason?: 'tool_calls' | 'stop';
  usageInEmptyChoicesChunk?: boolean;
}

export interface FakeErrorReply {
  error: {
    status: 429 | 500 | 503 | 400 | 401 | 404;
    message?: string;
    /** Defaults follow the status: `requests`, `server_error`, `invalid_request_error`, … */
    type?: string;
    code?: string | null;
    /** The request field at fault, as OpenAI names it (`messages.[1].content.[1].type`); null by default. */
    param?: string | null;
    /** 429 only: sent as the `retry-after-ms` header, which the openai SDK honours. */
    retryAfterMs?: number;
  };
}

export interface FakeDropReply extends StreamPacing {
  /** Number of SSE chunks written before the socket is destroyed (0 = before any byte of body). */
  dropAfterChunks: number;
  text: string;
  chunkSize?: number;
}

export interface FakeHangReply {
  hangMs: number;
  /** Served after the hang if the client is still there. Default `{ text: 'late reply' }`. */
  then?: FakeReply;
}

export type FakeReply = FakeTextReply | FakeToolCallsReply | FakeErrorReply | FakeDropReply | FakeHangReply;

/** The request body as the fake sees it: loosely typed so the package does not depend on openai types. */
export interface ChatRequestMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool' | (string & {});
  content?: unknown;
  tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
  name?: string;
  [key: string]: unknown;
}

export interface ChatRequestBody {
  model: string;
  messages: ChatRequestMessage[];
  tools?: Array<{ type: string; function: { name: string; description?: string; parameters?: unknown } }>;
  tool_choice?: unknown;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  [key: string]: unknown;
}

export interface RecordedChatRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: ChatRequestBody;
  /** Which reply answered it (after queue/responder/default resolution). */
  reply: FakeReply | undefined;
}

/**
 * Decides the reply for a request when the queue is empty. `index` counts chat requests from 0.
 * Returning `undefined` falls through to `defaultReply`.
 */
export type FakeResponder = (
  body: ChatRequestBody,
  ctx: { index: number; headers: IncomingHttpHeaders },
) => FakeReply | undefined | Promise<FakeReply | undefined>;

export interface FakeOpenAIOptions {
  /** Served when the queue is empty and no responder answered. Omitted: 500 "script exhausted". */
  defaultReply?: FakeReply;
  responder?: FakeResponder;
  /** Replies to enqueue up front. */
  script?: FakeReply[];
  /** Model ids listed by `GET /v1/models` (default `['gpt-4o-mini']`). */
  models?: string[];
  /** When set, requests whose `Authorization` is not `Bearer <apiKey>` get a 401 like the real API. */
  apiKey?: string;
  /** Default `true`. Turn off for long benchmarks so request bodies are not retained. */
  record?: boolean;
  /** What requests marked `x-fixthread-purpose: title` get (default: a short title with a small usage). */
  titleReply?: FakeReply;
  /**
   * Default `true`. `false` answers like a text-only model (gpt-3.5-turbo): any request with an `image_url`
   * content part gets OpenAI's 400, without taking a scripted reply. Such requests are still recorded.
   */
  acceptsImages?: boolean;
}
