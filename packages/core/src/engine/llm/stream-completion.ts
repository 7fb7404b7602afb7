import { SpanKind, type Span } from '@opentelemetry/api';
import type OpenAI from 'openai';
import { ModelCannotSeeImages, UpstreamUnavailable } from '../../errors';
import type { ModelCallUsage } from '../../store/ledger';
import { TextRun } from '../text-run';
import { estimatedUsage, reportedUsage } from '../turn-usage';
import type { ChatMessage, CompletionResult, ToolCallRequest, ToolDefinition } from './chat-message';
import { refusedImages } from './image-refusal';
import { StreamedTextCleaner } from '../../storable-text';
import { inSpan } from '../../tracing';

export interface CompletionRequest {
  /** Which model call of the turn this is (0 first): its ledger row. */
  round: number;
  model: string;
  messages: ChatMessage[];
  /** Prompt tokens of the messages' images, which the tokenizer cannot count: added to estimates. */
  imageTokens?: number;
  tools: ToolDefinition[];
  signal: AbortSignal;
  /** Longest silence allowed between chunks. The SDK's own timeout only covers the wait for headers. */
  idleTimeoutMs: number;
}

/**
 * One streamed Chat Completions call. Text deltas go to `onToken` as they arrive; tool-call fragments are
 * joined by `index` and only parsed by the caller once complete. Tolerates the usual provider quirks: usage in
 * a chunk with empty `choices`, no usage at all, a whole tool call in one chunk, and `finish_reason: 'stop'`
 * alongside tool calls.
 */
export function streamCompletion(
  client: OpenAI,
  request: CompletionRequest,
  onToken: (text: string) => void,
): Promise<CompletionResult> {
  // GenAI semantic conventions: `chat {model}`; usage and finish reason are set once, at the end.
  const server = new URL(client.baseURL);
  const attributes = {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': request.model,
    'server.address': server.hostname,
    'server.port': Number(server.port) || (server.protocol === 'https:' ? 443 : 80),
    'fixthread.model_call.round': request.round,
    'fixthread.model_call.tools_offered': request.tools.length,
  };
  return inSpan(
    `chat ${request.model}`,
    { kind: SpanKind.CLIENT, attributes },
    async (span) => {
      try {
        const result = await streamOneCompletion(client, request, onToken);
        recordUsage(span, result.usage);
        span.setAttributes({ 'gen_ai.response.finish_reasons': [result.finishReason], 'fixthread.model_call.tool_calls': result.toolCalls.length });
        return result;
      } catch (error) {
        if (error instanceof TurnAborted) {
          recordUsage(span, error.spent);
          span.setAttribute('fixthread.model_call.stopped', true);
        }
        throw error;
      }
    },
    (error) => !(error instanceof TurnAborted),
  );
}

function recordUsage(span: Span, usage: ModelCallUsage): void {
  span.setAttributes({
    'gen_ai.usage.input_tokens': usage.promptTokens,
    'gen_ai.usage.output_tokens': usage.completionTokens,
    'fixthread.usage.estimated': usage.estimated,
  });
}

async function streamOneCompletion(
  client: OpenAI,
  request: CompletionRequest,
  onToken: (text: string) => void,
): Promise<CompletionResult> {
  const text = new TextRun();
  const cleaner = new StreamedTextCleaner();
  const emit = (piece: string) => {
    if (piece === '') return;
    text.append(piece);
    onToken(piece);
  };
  let finishReason: string | undefined;
  let reported: OpenAI.CompletionUsage | undefined;
  let chunks = 0;
  const calls: ToolCallRequest[] = [];
  const idle = new AbortController();
  const idleTimer = setTimeout(() => idle.abort(), request.idleTimeoutMs);
  const spentSoFar = () => estimatedUsage(request.round, request.messages, text.toString(), calls, request.imageTokens);
  const failed = (cause: unknown, message?: string) =>
    new UpstreamUnavailable(message, { cause }, chunks > 0 ? spentSoFar() : null);
  try {
    const stream = await client.chat.completions.create(
      {
        model: request.model,
        messages: request.messages,
        ...(request.tools.length > 0 ? { tools: request.tools } : {}),
        stream: true,
        stream_options: { include_usage: true },
      },
      { signal: AbortSignal.any([request.signal, idle.signal]) },
    );
    for await (const chunk of stream) {
      chunks++;
      // One timer restarted per chunk, not a new one: a long reply is hundreds of thousands of chunks.
      idleTimer.refresh();
      if (chunk.usage) reported = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      const delta = choice.delta;
      if (delta?.content) emit(cleaner.clean(delta.content));
      for (const fragment of delta?.tool_calls ?? []) {
        const call = (calls[fragment.index] ??= { id: '', name: '', arguments: '' });
        if (fragment.id) call.id = fragment.id;
        // Some servers repeat the name in every fragment; the first one is the whole name.
        if (fragment.function?.name && !call.name) call.name = fragment.function.name;
        if (fragment.function?.arguments) call.arguments += fragment.function.arguments;
      }
      if (choice.finish_reason) finishReason = choice.finish_reason;
    }
  } catch (error) {
    if (!request.signal.aborted && refusedImages(error, request.messages)) throw new ModelCannotSeeImages(undefined, { cause: error });
    if (!request.signal.aborted) throw failed(error);
  } finally {
    clearTimeout(idleTimer);
    emit(cleaner.flush());
  }
  // The SDK ends the iteration quietly on abort instead of throwing, so check rather than rely on a catch.
  if (request.signal.aborted) throw new TurnAborted(spentSoFar());
  if (idle.signal.aborted) throw failed(undefined, 'The language model stopped responding. Please try again.');
  // A stream that closes without a finish reason was cut off (proxy timeout, upstream crash), not finished.
  if (finishReason === undefined) throw failed(undefined);
  const toolCalls = calls.filter(Boolean).map((call, index) => ({ ...call, id: call.id || `call_${index}` }));
  return {
    text,
    toolCalls,
    finishReason: toolCalls.length > 0 ? 'tool_calls' : finishReason,
    usage:
      reported === undefined
        ? estimatedUsage(request.round, request.messages, text.toString(), toolCalls, request.imageTokens)
        : reportedUsage(request.round, reported),
  };
}

/** The turn was stopped mid-call: carries the estimated cost of what had streamed so far. */
export class TurnAborted extends Error {
  constructor(readonly spent: ModelCallUsage) {
    super('turn stopped');
    this.name = 'TurnAborted';
  }
}
