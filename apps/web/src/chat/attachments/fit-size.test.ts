import { describe, expect, test } from 'vitest';
import { fitWithin } from './fit-size';

describe('fitWithin', () => {
  test('scales the long side down to the box, keeping the shape', () => {
    expect(fitWithin(2048, 1536, 160)).toEqual({ width: 160, height: 120 });
    expect(fitWithin(900, 1600, 160)).toEqual({ width: 90, height: 160 });
  });

  test('never enlarges, and never reaches zero', () => {
    expect(fitWithin(100, 50, 160)).toEqual({ width: 100, height: 50 });
    expect(fitWithin(4000, 10, 160)).toEqual({ width: 160, height: 1 });
  });

  test('a square box when the size is unknown', () => {
    expect(fitWithin(0, 0, 160)).toEqual({ width: 160, height: 160 });
  });
});
