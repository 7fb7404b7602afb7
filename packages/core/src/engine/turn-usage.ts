import type OpenAI from 'openai';
import type { ModelCallUsage } from '../store/ledger';
import { countTokens, MESSAGE_OVERHEAD_TOKENS } from '../tokens';
import type { ChatMessage, ToolCallRequest } from './llm/chat-message';

/**
 * All token accounting of a turn: what each model call cost, as the provider reported it or, where it
 * reported nothing (a stopped or cut-off stream), as the tokenizer estimates it; an offline reply, which no
 * model wrote, costs nothing (`noModelUsage`). Each
 * call is charged as it completes, so a crash later in the turn cannot lose the charge, and the ledger's
 * unique (turn, round) makes charging twice impossible.
 */
export class TurnUsage {
  private readonly calls: ModelCallUsage[] = [];
  private unchargedCall: ModelCallUsage | undefined;

  constructor(private readonly charge: (usage: ModelCallUsage) => Promise<unknown>) {}

  /** Charges a call at once: one the turn goes on after (tool rounds). */
  async record(usage: ModelCallUsage): Promise<void> {
    if (!this.add(usage)) return;
    await this.charge(usage);
  }

  /**
   * Counts a call whose charge goes into the transaction that closes the turn, a moment later (the last call);
   * should the process die in between, recovery charges what it streamed as estimated.
   */
  recordAtClose(usage: ModelCallUsage): void {
    if (this.add(usage)) this.unchargedCall = usage;
  }

  /**
   * The call left for the closing transaction to charge. Charging it again is harmless (the ledger's unique
   * turn and round), so a closing transaction that rolled back can simply be retried.
   */
  get uncharged(): ModelCallUsage | undefined {
    return this.unchargedCall;
  }

  private add(usage: ModelCallUsage): boolean {
    if (this.calls.some((call) => call.round === usage.round)) return false;
    this.calls.push(usage);
    return true;
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

/**
 * A round answered without a model (the offline responder): it spent nothing, and that is a known figure,
 * not an estimate.
 */
export function noModelUsage(round: number): ModelCallUsage {
  return { round, promptTokens: 0, completionTokens: 0, totalTokens: 0, cachedTokens: null, estimated: false };
}

/**
 * Prompt + completion counted with the tokenizer, for calls the provider reported nothing for; the prompt's
 * images, which the tokenizer cannot read, as the caller metered them.
 */
export function estimatedUsage(
  round: number,
  messages: ChatMessage[],
  completion: string,
  toolCalls: ToolCallRequest[] = [],
  imageTokens = 0,
): ModelCallUsage {
  let completionTokens = countTokens(completion);
  for (const call of toolCalls) completionTokens += countTokens(call.name) + countTokens(call.arguments);
  let promptTokens = imageTokens;
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
