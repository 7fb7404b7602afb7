import type OpenAI from 'openai';
import { UpstreamUnavailable } from '../../errors';
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from '../../tokens';
import { TextRun } from '../text-run';
import type { ChatMessage, CompletionResult, ToolCallRequest, ToolDefinition } from './chat-message';
import { StreamedTextCleaner } from '../../storable-text';

export interface CompletionRequest {
  model: string;
  messages: ChatMessage[];
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
export async function streamCompletion(
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
  let reportedTokens: number | undefined;
  let chunks = 0;
  const calls: ToolCallRequest[] = [];
  const idle = new AbortController();
  let idleTimer = setTimeout(() => idle.abort(), request.idleTimeoutMs);
  const failed = (cause: unknown, message?: string) =>
    new UpstreamUnavailable(message, { cause }, chunks > 0 ? estimateTokens(request.messages, text.toString(), calls) : 0);
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
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => idle.abort(), request.idleTimeoutMs);
      if (chunk.usage) reportedTokens = chunk.usage.total_tokens;
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
    if (!request.signal.aborted) throw failed(error);
  } finally {
    clearTimeout(idleTimer);
    emit(cleaner.flush());
  }
  // The SDK ends the iteration quietly on abort instead of throwing, so check rather than rely on a catch.
  if (request.signal.aborted) throw new TurnAborted(estimateTokens(request.messages, text.toString(), calls));
  if (idle.signal.aborted) throw failed(undefined, 'The language model stopped responding. Please try again.');
  // A stream that closes without a finish reason was cut off (proxy timeout, upstream crash), not finished.
  if (finishReason === undefined) throw failed(undefined);
  const toolCalls = calls.filter(Boolean).map((call, index) => ({ ...call, id: call.id || `call_${index}` }));
  return {
    text,
    toolCalls,
    finishReason: toolCalls.length > 0 ? 'tool_calls' : finishReason,
    usage:
      reportedTokens === undefined
        ? { totalTokens: estimateTokens(request.messages, text.toString(), toolCalls), estimated: true }
        : { totalTokens: reportedTokens, estimated: false },
  };
}

/** The turn was stopped mid-call: carries the estimated cost of what had streamed so far. */
export class TurnAborted extends Error {
  constructor(readonly estimatedTokens: number) {
    super('turn stopped');
    this.name = 'TurnAborted';
  }
}

/** Prompt + completion counted with the tokenizer, for providers that report no usage. */
export function estimateTokens(messages: ChatMessage[], completion: string, toolCalls: ToolCallRequest[] = []): number {
  let total = countTokens(completion);
  for (const call of toolCalls) total += countTokens(call.name) + countTokens(call.arguments);
  for (const message of messages) total += MESSAGE_OVERHEAD_TOKENS + countTokens(messageText(message));
  return total;
}

function messageText(message: ChatMessage): string {
  const content = message.content;
  let text = typeof content === 'string' ? content : (content ?? []).map((part) => ('text' in part ? part.text : '')).join('');
  if (message.role === 'assistant') {
    for (const call of message.tool_calls ?? []) {
      if (call.type === 'function') text += call.function.name + call.function.arguments;
    }
  }
  return text;
}
