import type OpenAI from 'openai';

export type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;
export type ToolDefinition = OpenAI.Chat.Completions.ChatCompletionFunctionTool;

export interface ToolCallRequest {
  id: string;
  name: string;
  /** Raw JSON text as the model produced it; parsed only once the call is complete. */
  arguments: string;
}

export interface CompletionUsage {
  totalTokens: number;
  estimated: boolean;
}

export interface CompletionResult {
  text: string;
  toolCalls: ToolCallRequest[];
  usage: CompletionUsage;
  finishReason: string;
}
