import { describe, expect, it } from 'vitest';
import { StreamedTextCleaner, storableJson, storableText } from './storable-text';

describe('storableText', () => {
  it('replaces NUL and lone surrogates with U+FFFD and keeps everything else', () => {
    expect(storableText('a\u0000b\ud800c\udfffd 😀')).toBe('a\ufffdb\ufffdc\ufffdd 😀');
  });

  it('cleans every string inside JSON, keys included', () => {
    expect(storableJson({ 'k\u0000': ['\ud800', 1, null, { x: 'ok' }] })).toEqual({ 'k\ufffd': ['\ufffd', 1, null, { x: 'ok' }] });
  });
});

describe('StreamedTextCleaner', () => {
  it('rejoins a surrogate pair split across two chunks', () => {
    const cleaner = new StreamedTextCleaner();
    const emoji = '😀';
    expect(cleaner.clean(`hi ${emoji[0]!}`)).toBe('hi ');
    expect(cleaner.clean(`${emoji[1]!}!`)).toBe(`${emoji}!`);
    expect(cleaner.flush()).toBe('');
  });

  it('replaces a high surrogate nothing completed, when the stream ends', () => {
    const cleaner = new StreamedTextCleaner();
    expect(cleaner.clean('end \ud83d')).toBe('end ');
    expect(cleaner.flush()).toBe('\ufffd');
  });
});
