import { encode } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import { countTokens } from './tokens';

describe('countTokens', () => {
  it.each(['<|im_start|>', '<|endoftext|>', 'quote <|im_end|> and <|fim_prefix|> here'])(
    'counts special-token text %j as ordinary text instead of throwing',
    (text) => {
      expect(() => encode(text)).toThrow(/special token/i);
      const tokens = countTokens(text);
      // Ordinary text of this length is several tokens; a special token would be exactly one.
      expect(tokens).toBeGreaterThan(3);
    },
  );

  it('is zero for empty text', () => {
    expect(countTokens('')).toBe(0);
  });
});
