import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, test } from 'vitest';
import { MarkdownAnswer, StreamingMarkdown } from './markdown-answer';
import { markdownBlocks } from './markdown-blocks';

const answer = [
  "Here's how I'd approach **a dead charger**:",
  '',
  '1. Power the device off.',
  '',
  '2. Check the cable.',
  '',
  '   Look at both ends.',
  '',
  '```sh',
  'upower -i /org/freedesktop/UPower/devices/battery_BAT0',
  '',
  'dmesg | grep -i power',
  '```',
  '',
  '| Part | Price |',
  '| --- | --- |',
  '| Charger | $20 |',
  '',
  '> Never open a swollen battery.',
  '',
  '    indented code',
  '',
  '## Next',
  'See [the guide](https://www.ifixit.com/Guide/1) ~~today~~.',
].join('\n');

const html = (component: typeof MarkdownAnswer | typeof StreamingMarkdown, text: string) =>
  renderToStaticMarkup(createElement(component, { text })).replace(/\n/g, '');

describe('markdownBlocks', () => {
  test('cuts between top-level blocks, losing nothing', () => {
    const blocks = markdownBlocks(answer);
    expect(blocks.join('')).toBe(answer);
    expect(blocks.map((block) => block.split('\n')[0])).toEqual([
      "Here's how I'd approach **a dead charger**:",
      '```sh',
      '| Part | Price |',
      '> Never open a swollen battery.',
      '## Next',
    ]);
  });

  test('keeps fenced code with blank lines, a loose list and its indented paragraphs in one block', () => {
    const blocks = markdownBlocks(answer);
    expect(blocks[0]).toContain('2. Check the cable.\n\n   Look at both ends.');
    expect(blocks[1]).toContain('dmesg');
    expect(blocks[3]).toContain('    indented code');
    expect(markdownBlocks('~~~\na\n\nb\n~~~~\n\nafter\n')).toEqual(['~~~\na\n\nb\n~~~~\n\n', 'after\n']);
    // The last line decides nothing until it is complete.
    expect(markdownBlocks('para\n\nafter')).toEqual(['para\n\nafter']);
    expect(markdownBlocks('````\n```\n\nstill code')).toHaveLength(1);
  });

  test('renders the same as the whole text parsed at once', () => {
    expect(html(StreamingMarkdown, answer)).toBe(html(MarkdownAnswer, answer));
  });

  test('while the text grows, only the last block ever changes', () => {
    const final = markdownBlocks(answer);
    for (let end = 0; end <= answer.length; end++) {
      const blocks = markdownBlocks(answer.slice(0, end));
      expect(blocks.slice(0, -1)).toEqual(final.slice(0, blocks.length - 1));
    }
  });
});
