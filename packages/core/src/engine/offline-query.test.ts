import { describe, expect, it } from 'vitest';
import { searchQueryOf, shorterQueryOf } from './offline-query';

describe('searchQueryOf', () => {
  it.each([
    ['My iPhone 12 screen is cracked, how do I fix it?', 'iPhone 12 screen cracked'],
    ["My phone won't charge anymore", 'phone charge'],
    ['Can you help me replace the battery in my MacBook Air?', 'replace battery MacBook Air'],
    ['PS5: no HDMI signal!!', 'PS5 HDMI signal'],
    ['Joy-Con drift, joy-con DRIFT', 'Joy-Con drift'],
    ['the screen on my Galaxy S21 flickers when it gets warm and the colours shift after a minute', 'screen Galaxy S21 flickers warm colours'],
  ])('keeps the device and problem of %j', (message, query) => {
    expect(searchQueryOf(message)).toBe(query);
  });

  it.each(['hi', 'Hello?', 'thanks!', 'ok, can you help me?', '...', '¿'])('finds nothing to search in %j', (message) => {
    expect(searchQueryOf(message)).toBeUndefined();
  });
});

describe('shorterQueryOf', () => {
  it('keeps the first words, where people name the device, and gives up at one word', () => {
    expect(shorterQueryOf('PS5 shows signal TV moved')).toBe('PS5 shows signal');
    expect(shorterQueryOf('toaster sparks')).toBe('toaster');
    expect(shorterQueryOf('toaster')).toBeUndefined();
  });
});
