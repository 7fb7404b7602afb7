import { countTokens as countO200k } from 'gpt-tokenizer';

/** Tokens in a piece of text, with the o200k tokenizer used by current OpenAI models. */
export function countTokens(text: string): number {
  return text.length === 0 ? 0 : countO200k(text);
}

/** Per-message framing overhead of the chat format (role markers), as OpenAI's cookbook counts it. */
export const MESSAGE_OVERHEAD_TOKENS = 4;
