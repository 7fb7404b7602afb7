/**
 * The baseline client: the real `openai` SDK, the very copy core's engine loads. apps/server does not depend
 * on `openai` itself (core does), so it is resolved from core's package rather than declared here; only the
 * slice of its API the baselines use is typed.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChatRequestBody } from '@fixthread/testing';

export interface SdkChunk {
  choices: Array<{ delta?: { content?: string | null } | null }>;
  usage?: { total_tokens: number } | null;
}

export interface SdkClient {
  chat: {
    completions: {
      create(
        body: Record<string, unknown>,
        options?: { signal?: AbortSignal },
      ): Promise<AsyncIterable<SdkChunk>>;
    };
  };
}

export type SdkConstructor = new (options: {
  apiKey: string;
  baseURL: string;
  maxRetries?: number;
  timeout?: number;
}) => SdkClient;

export async function loadOpenAI(): Promise<SdkConstructor> {
  const coreEntry = createRequire(import.meta.url).resolve('@fixthread/core');
  const commonJsEntry = createRequire(coreEntry).resolve('openai');
  // The package's ESM entry sits beside its CommonJS one; importing it by path yields the module core imports.
  const module = (await import(pathToFileURL(join(dirname(commonJsEntry), 'index.mjs')).href)) as {
    default: SdkConstructor;
  };
  return module.default;
}

/** Same settings as the engine's client (apps/server env defaults). */
export function sdkClient(OpenAI: SdkConstructor, baseURL: string): SdkClient {
  return new OpenAI({ apiKey: 'bench-key', baseURL, maxRetries: 2, timeout: 60_000 });
}

export interface SdkTurn {
  /** ms from `start` to the first non-empty content delta. */
  ttft: number;
  text: string;
  deltas: number;
  totalTokens: number;
  /** The first non-empty content delta. */
  firstContent: string;
}

/**
 * One streamed completion with the request the engine sent (model, messages, tools), consumed to the end as
 * the engine consumes it.
 */
export async function streamWithSdk(
  client: SdkClient,
  body: ChatRequestBody,
  start = performance.now(),
  onContent?: (content: string) => void,
): Promise<SdkTurn> {
  const stream = await client.chat.completions.create({
    model: body.model,
    messages: body.messages,
    ...(body.tools && body.tools.length > 0 ? { tools: body.tools } : {}),
    stream: true,
    stream_options: { include_usage: true },
  });
  let ttft = Number.NaN;
  let text = '';
  let deltas = 0;
  let totalTokens = 0;
  let firstContent = '';
  for await (const chunk of stream) {
    if (chunk.usage) totalTokens = chunk.usage.total_tokens;
    const content = chunk.choices[0]?.delta?.content;
    if (content) {
      if (deltas === 0) {
        ttft = performance.now() - start;
        firstContent = content;
      }
      onContent?.(content);
      deltas++;
      text += content;
    }
  }
  return { ttft, text, deltas, totalTokens, firstContent };
}
