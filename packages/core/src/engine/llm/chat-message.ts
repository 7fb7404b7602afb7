import type OpenAI from 'openai';
import type { ModelCallUsage } from '../../store/ledger';
import type { TextRun } from '../text-run';

export type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;
export type ToolDefinition = OpenAI.Chat.Completions.ChatCompletionFunctionTool;

export interface ToolCallRequest {
  id: string;
  name: string;
  /** Raw JSON text as the model produced it; parsed only once the call is complete. */
  arguments: string;
}

export interface CompletionResult {
  /** The round's text, already streamed; kept compact since a single-round reply can be very long. */
  text: TextRun;
  toolCalls: ToolCallRequest[];
  usage: ModelCallUsage;
  finishReason: string;
}
