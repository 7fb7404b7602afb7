import { describe, expect, test } from 'vitest';
import { dispositionFileName, displayTitle, exportFileName, formatActivity } from './thread-format';

describe('thread titles', () => {
  test('fall back by what the thread holds', () => {
    expect(displayTitle({ title: 'iPhone 12 cracked screen', message_count: 2 })).toBe('iPhone 12 cracked screen');
    expect(displayTitle({ title: null, message_count: 0 })).toBe('New conversation');
    expect(displayTitle({ title: null, message_count: 2 })).toBe('Untitled conversation');
    expect(displayTitle(undefined)).toBe('New conversation');
  });
});

describe('formatActivity', () => {
  const now = new Date(2025, 11, 15, 15, 0, 0);
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();

  test('reads as a list of conversations would', () => {
    expect(formatActivity(ago(10_000), now)).toBe('Just now');
    expect(formatActivity(ago(5 * 60_000), now)).toBe('5 min ago');
    expect(formatActivity(ago(3 * 3_600_000), now)).toBe('3 h ago');
    expect(formatActivity(new Date(2025, 11, 14, 9).toISOString(), now)).toBe('Yesterday');
    expect(formatActivity(new Date(2025, 2, 3).toISOString(), now, 'en-GB')).toBe('3 Mar');
    expect(formatActivity(new Date(2023, 2, 3).toISOString(), now, 'en-GB')).toBe('3 Mar 2023');
    expect(formatActivity(null, now)).toBe('');
    expect(formatActivity('not a date', now)).toBe('');
  });
});

describe('export file names', () => {
  test('are safe everywhere', () => {
    expect(exportFileName('iPhone 12: cracked screen / Ärger', 'markdown')).toBe('fixthread-iphone-12-cracked-screen-arger.md');
    expect(exportFileName(null, 'json')).toBe('fixthread-conversation.json');
    expect(exportFileName('🔧🔧', 'json')).toBe('fixthread-conversation.json');
  });

  test('come from Content-Disposition when the server names the file', () => {
    expect(dispositionFileName('attachment; filename="thread.md"')).toBe('thread.md');
    expect(dispositionFileName("attachment; filename=\"x.md\"; filename*=UTF-8''%C3%A4rger.md")).toBe('ärger.md');
    expect(dispositionFileName('attachment; filename=plain.json')).toBe('plain.json');
    expect(dispositionFileName('attachment')).toBeNull();
    expect(dispositionFileName(null)).toBeNull();
  });
});
