import { describe, expect, it } from 'vitest';
import { imageTokens } from './image-tokens';

describe('imageTokens, tile-metered models (the vision guide\'s worked examples)', () => {
  it('1024 × 1024 at high detail on GPT-4o: shrunk to 768 × 768, 4 tiles, 170 × 4 + 85 = 765', () => {
    expect(imageTokens('gpt-4o', 1024, 1024, 'high')).toEqual({ tokens: 765, estimated: false });
  });

  it('2048 × 4096 at high detail: 1024 × 2048, then 768 × 1536, 6 tiles = 1105', () => {
    expect(imageTokens('gpt-4o', 2048, 4096, 'high')).toEqual({ tokens: 1105, estimated: false });
    expect(imageTokens('gpt-4.1', 4096, 2048, 'high')).toEqual({ tokens: 1105, estimated: false });
  });

  it('low detail is the base cost whatever the size', () => {
    expect(imageTokens('gpt-4o', 4096, 8192, 'low')).toEqual({ tokens: 85, estimated: false });
    expect(imageTokens('gpt-4o-mini', 4096, 8192, 'low')).toEqual({ tokens: 2833, estimated: false });
  });

  it('gpt-4o-mini bills the same tiles at 2833 + 5667 each', () => {
    expect(imageTokens('gpt-4o-mini', 1024, 1024, 'high')).toEqual({ tokens: 2833 + 4 * 5667, estimated: false });
    // A stored 4:3 photo: 2048 × 1536 shrinks to 1024 × 768, 4 tiles: 25,501 tokens, a long conversation's worth.
    expect(imageTokens('gpt-4o-mini-2024-07-18', 2048, 1536, 'high')).toEqual({ tokens: 25_501, estimated: false });
    expect(imageTokens('gpt-4o-mini', 768, 1537, 'high').tokens).toBe(2833 + 8 * 5667);
  });

  it('never enlarges a small image: 128 × 64 is one tile (as the API bills it)', () => {
    expect(imageTokens('gpt-4o', 128, 64, 'high').tokens).toBe(85 + 170);
    expect(imageTokens('gpt-4o-mini', 128, 64, 'high').tokens).toBe(2833 + 5667);
  });

  it('rounds scaled sides as the API does at the edges: 2049 × 513 is 8 tiles, 2050 × 513 is 4', () => {
    expect(imageTokens('gpt-4.1', 2049, 513, 'high').tokens).toBe(85 + 8 * 170);
    expect(imageTokens('gpt-4.1', 2050, 513, 'high').tokens).toBe(85 + 4 * 170);
  });

  it('uses each family\'s base and tile figures', () => {
    expect(imageTokens('gpt-5', 1024, 1024, 'high').tokens).toBe(70 + 4 * 140);
    expect(imageTokens('gpt-5-chat-latest', 1024, 1024, 'low').tokens).toBe(70);
    expect(imageTokens('o3', 1024, 1024, 'high').tokens).toBe(75 + 4 * 150);
    expect(imageTokens('o1-pro-2025-03-19', 1024, 1024, 'high').tokens).toBe(75 + 4 * 150);
    expect(imageTokens('computer-use-preview', 1024, 1024, 'high').tokens).toBe(65 + 4 * 129);
  });
});

describe('imageTokens, patch-metered models', () => {
  it('1024 × 1024 is 1024 patches, times the model\'s multiplier, whatever the detail', () => {
    expect(imageTokens('gpt-4.1-mini', 1024, 1024, 'high')).toEqual({ tokens: Math.ceil(1024 * 1.62), estimated: false });
    expect(imageTokens('gpt-4.1-mini', 1024, 1024, 'low').tokens).toBe(Math.ceil(1024 * 1.62));
    expect(imageTokens('gpt-4.1-nano', 1024, 1024, 'high').tokens).toBe(Math.ceil(1024 * 2.46));
    expect(imageTokens('o4-mini', 1024, 1024, 'high').tokens).toBe(Math.ceil(1024 * 1.72));
    expect(imageTokens('gpt-5-mini', 1024, 1024, 'high').tokens).toBe(Math.ceil(1024 * 1.62));
  });

  it('1800 × 2400 is scaled down to 1056 × 1408: 33 × 44 = 1452 patches', () => {
    expect(imageTokens('gpt-5-nano', 1800, 2400, 'high').tokens).toBe(Math.ceil(1452 * 2.46));
    expect(imageTokens('gpt-4.1-mini', 1800, 2400, 'high').tokens).toBe(Math.ceil(1452 * 1.62));
  });

  it('never exceeds 1536 patches, whatever the shape', () => {
    for (const [width, height] of [
      [4000, 1474],
      [2048, 2048],
      [12_000, 300],
      [5000, 4999],
    ] as const) {
      expect(imageTokens('gpt-4.1-mini', width, height, 'high').tokens).toBeLessThanOrEqual(Math.ceil(1536 * 1.62));
    }
  });
});

describe('imageTokens, estimates', () => {
  it('counts a model the guide does not list as GPT-4o would, marked as an estimate', () => {
    expect(imageTokens('gpt-5.1', 1024, 1024, 'high')).toEqual({ tokens: 765, estimated: true });
    expect(imageTokens('llava-13b', 1024, 1024, 'low')).toEqual({ tokens: 85, estimated: true });
  });

  it('matches a family by its name, not by a prefix that happens to fit', () => {
    // `gpt-4o-mini` is not GPT-4o, `gpt-4.1-mini` is not GPT-4.1, and a router's `openai/` prefix is ignored.
    expect(imageTokens('gpt-4o-mini', 512, 512, 'high').tokens).toBe(2833 + 5667);
    expect(imageTokens('openai/gpt-4o-mini', 512, 512, 'high').tokens).toBe(2833 + 5667);
    expect(imageTokens('GPT-4o-2024-08-06', 512, 512, 'high')).toEqual({ tokens: 255, estimated: false });
    expect(imageTokens('gpt-4.1-mini-2025-04-14', 512, 512, 'high').tokens).toBe(Math.ceil(256 * 1.62));
    expect(imageTokens('gpt-4oops', 512, 512, 'high').estimated).toBe(true);
  });

  it('counts auto detail as high, marked as an estimate: the model may choose low', () => {
    expect(imageTokens('gpt-4o', 1024, 1024, 'auto')).toEqual({ tokens: 765, estimated: true });
    expect(imageTokens('gpt-4o', 1024, 1024)).toEqual({ tokens: 765, estimated: true });
  });
});
