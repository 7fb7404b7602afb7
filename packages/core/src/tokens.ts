import { countTokens as countO200k } from 'gpt-tokenizer';

/**
 * Special-token strings such as `<|endoftext|>` are ordinary text when users or models write them: the
 * tokenizer refuses them by default, which once turned a message quoting one into a 500.
 */
const SPECIAL_TOKENS_AS_TEXT = { disallowedSpecial: new Set<string>() };
/** A rough o200k average, used only if the tokenizer itself fails. */
const BYTES_PER_TOKEN = 4;

/**
 * Tokens in a piece of text, with the o200k tokenizer used by current OpenAI models. Never throws: counting
 * is bookkeeping, and a reply must not be lost because it could not be counted.
 */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  try {
    return countO200k(text, SPECIAL_TOKENS_AS_TEXT);
  } catch {
    return Math.ceil(Buffer.byteLength(text) / BYTES_PER_TOKEN);
  }
}

/** Per-message framing overhead of the chat format (role markers), as OpenAI's cookbook counts it. */
export const MESSAGE_OVERHEAD_TOKENS = 4;
