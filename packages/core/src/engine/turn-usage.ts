import type OpenAI from 'openai';
import type { ModelCallUsage } from '../store/ledger';
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from '../tokens';
import type { ChatMessage, ToolCallRequest } from './llm/chat-message';

/**
 * All token accounting of a turn: what each model call cost, as the provider reported it or, where it
 * reported nothing (a stopped or cut-off stream, the offline responder), as the tokenizer estimates it. Each
 * call is charged as it completes, so a crash later in the turn cannot lose the charge, and the ledger's
 * unique (turn, round) makes charging twice impossible.
 */
export class TurnUsage {
  private readonly calls: ModelCallUsage[] = [];

  constructor(private readonly charge: (usage: ModelCallUsage) => Promise<unknown>) {}

  async record(usage: ModelCallUsage): Promise<void> {
    if (this.calls.some((call) => call.round === usage.round)) return;
    this.calls.push(usage);
    await this.charge(usage);
  }

  get totalTokens(): number {
    return this.calls.reduce((sum, call) => sum + call.totalTokens, 0);
  }

  get estimated(): boolean {
    return this.calls.some((call) => call.estimated);
  }
}

/** The provider's figures from the stream's usage chunk. */
export function reportedUsage(round: number, usage: OpenAI.CompletionUsage): ModelCallUsage {
  return {
    round,
    promptTokens: usage.prompt_tokens,
    completionTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? null,
    estimated: false,
  };
}

/** Prompt + completion counted with the tokenizer, for calls the provider reported nothing for. */
export function estimatedUsage(
  round: number,
  messages: ChatMessage[],
  completion: string,
  toolCalls: ToolCallRequest[] = [],
): ModelCallUsage {
  let completionTokens = countTokens(completion);
  for (const call of toolCalls) completionTokens += countTokens(call.name) + countTokens(call.arguments);
  let promptTokens = 0;
  for (const message of messages) promptTokens += MESSAGE_OVERHEAD_TOKENS + countTokens(messageText(message));
  return {
    round,
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    cachedTokens: null,
    estimated: true,
  };
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
