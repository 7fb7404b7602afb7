import { randomBytes } from 'node:crypto';
import {
  type ChatRequestBody,
  type FakeErrorReply,
  type FakeToolCall,
  type FakeUsage,
} from './fake-openai-types';

/** Shape of `usage` objects as OpenAI sends them today, detail blocks included so clients must tolerate them. */
export interface WireUsage extends FakeUsage {
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details: {
    reasoning_tokens: number;
    audio_tokens: number;
    accepted_prediction_tokens: number;
    rejected_prediction_tokens: number;
  };
}

export function randomId(prefix: string, length = 24): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let out = prefix;
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

export function toWireUsage(usage: FakeUsage): WireUsage {
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

const tokensOf = (text: string): number => Math.ceil(text.length / 4);

/** Deterministic stand-in for a tokenizer: good enough for budget tests, never exact on purpose. */
export function estimateUsage(body: ChatRequestBody, completionText: string): FakeUsage {
  let prompt = 3;
  for (const message of body.messages) {
    const content =
      typeof message.content === 'string' ? message.content : JSON.stringify(message.content ?? '');
    prompt += 4 + tokensOf(content) + (message.tool_calls ? tokensOf(JSON.stringify(message.tool_calls)) : 0);
  }
  if (body.tools) prompt += tokensOf(JSON.stringify(body.tools));
  return { prompt_tokens: prompt, completion_tokens: Math.max(1, tokensOf(completionText)) };
}

/** Word-ish pieces (leading whitespace attached, like BPE tokens) or fixed-size code-point slices. */
export function splitText(text: string, chunkSize?: number): string[] {
  if (text === '') return [];
  if (chunkSize === undefined) return text.match(/\s*\S+|\s+/g) ?? [text];
  const size = Math.max(1, Math.floor(chunkSize));
  const points = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < points.length; i += size) out.push(points.slice(i, i + size).join(''));
  return out;
}

/** Arguments arrive in small slices that are not valid JSON on their own, as real models stream them. */
export function splitArguments(args: string): string[] {
  return args === '' ? [''] : splitText(args, 6);
}

export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
  systemFingerprint: string;
}

export function newCompletionMeta(body: ChatRequestBody): CompletionMeta {
  return {
    id: randomId('chatcmpl-', 29),
    created: Math.floor(Date.now() / 1000),
    model: typeof body.model === 'string' && body.model !== '' ? body.model : 'gpt-4o-mini',
    systemFingerprint: 'fp_fake0000',
  };
}

export interface ChunkChoice {
  index: number;
  delta: Record<string, unknown>;
  logprobs: null;
  finish_reason: string | null;
}

export function chunk(
  meta: CompletionMeta,
  choices: ChunkChoice[],
  usage: WireUsage | null | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    service_tier: 'default',
    system_fingerprint: meta.systemFingerprint,
    choices,
  };
  // With include_usage OpenAI puts `usage: null` on every chunk but the last; without it the key is absent.
  if (usage !== undefined) out.usage = usage;
  // Real streams carry random padding clients must ignore.
  out.obfuscation = randomId('', 4);
  return out;
}

export const deltaChoice = (
  delta: Record<string, unknown>,
  finishReason: string | null = null,
): ChunkChoice => ({
  index: 0,
  delta,
  logprobs: null,
  finish_reason: finishReason,
});

export interface ResolvedToolCall extends FakeToolCall {
  id: string;
}

export function resolveToolCalls(calls: FakeToolCall[]): ResolvedToolCall[] {
  return calls.map((call) => ({ ...call, id: call.id ?? randomId('call_') }));
}

export function completion(
  meta: CompletionMeta,
  message: { content: string | null; toolCalls?: ResolvedToolCall[] },
  finishReason: string,
  usage: WireUsage | undefined,
): Record<string, unknown> {
  const wireMessage: Record<string, unknown> = {
    role: 'assistant',
    content: message.content,
    refusal: null,
    annotations: [],
  };
  if (message.toolCalls && message.toolCalls.length > 0) {
    wireMessage.tool_calls = message.toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  const out: Record<string, unknown> = {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message: wireMessage, logprobs: null, finish_reason: finishReason }],
    service_tier: 'default',
    system_fingerprint: meta.systemFingerprint,
  };
  if (usage) out.usage = usage;
  return out;
}

const errorDefaults: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request (scripted by fake).' },
  401: {
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    message:
      'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
  },
  404: {
    type: 'invalid_request_error',
    code: 'model_not_found',
    message: 'The model does not exist or you do not have access to it.',
  },
  429: {
    type: 'requests',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached for requests on gpt-4o-mini. Please try again in 20ms.',
  },
  500: {
    type: 'server_error',
    code: null,
    message: 'The server had an error while processing your request. Sorry about that!',
  },
  503: {
    type: 'server_error',
    code: null,
    message: 'The engine is currently overloaded, please try again later.',
  },
};

export function errorBody(error: FakeErrorReply['error']): { error: Record<string, unknown> } {
  const fallback = errorDefaults[error.status] ?? errorDefaults[500]!;
  return {
    error: {
      message: error.message ?? fallback.message,
      type: error.type ?? fallback.type,
      param: error.param ?? null,
      code: error.code === undefined ? fallback.code : error.code,
    },
  };
}
