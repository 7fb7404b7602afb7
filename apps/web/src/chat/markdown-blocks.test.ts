import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, test } from 'vitest';
import { loadHighlighter } from './code/use-highlighted';
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

describe('code blocks and tables in an answer', () => {
  const fenced = (language: string, code: string) => `Run this:\n\n\`\`\`${language}\n${code}\n\`\`\`\n`;
  // Newlines kept: they are part of the code.
  const render = (text: string) => renderToStaticMarkup(createElement(MarkdownAnswer, { text }));
  const codeOf = (markup: string) => /<pre[^>]*><code[^>]*>([\s\S]*?)<\/code><\/pre>/.exec(markup)?.[1];

  test('a fenced block shows its language and a copy button, its code at once as plain text', () => {
    const markup = render(fenced('bash', 'sudo smartctl -a /dev/sda\necho "<done>"'));
    expect(markup).toContain('<div class="code-block" role="group" aria-label="Bash code">');
    expect(markup).toContain('<span class="code-block-language" aria-hidden="true">Bash</span>');
    expect(markup).toMatch(
      /<button type="button" class="code-block-copy copy-idle" aria-label="Copy Bash code">/,
    );
    // Before the highlighter arrives: the code as written (escaped), without Markdown's closing newline.
    expect(codeOf(markup)).toBe('sudo smartctl -a /dev/sda\necho &quot;&lt;done&gt;&quot;');
  });

  test('a block with no language, or one the highlighter lacks, is labelled and stays plain', async () => {
    await loadHighlighter();
    const unnamed = render('    indented code\n');
    expect(unnamed).toContain('aria-label="Copy code"');
    expect(unnamed).toContain('>Code</span>');
    expect(codeOf(unnamed)).toBe('indented code');
    const rust = render(fenced('rust', 'fn main() {}'));
    expect(rust).toContain('>rust</span>');
    expect(codeOf(rust)).toBe('fn main() {}');
  });

  test('once the highlighter is loaded, a block is highlighted in its first render', async () => {
    await loadHighlighter();
    const markup = html(MarkdownAnswer, fenced('sh', 'if [ -f x ]; then echo "<done>"; fi'));
    expect(markup).toContain('<code class="hljs language-bash">');
    expect(markup).toContain('<span class="hljs-keyword">if</span>');
    expect(markup).toContain('&lt;done&gt;');
    expect(markup).not.toContain('<done>');
  });

  test('a table scrolls in a region named by its columns', () => {
    const markup = html(MarkdownAnswer, '| Part | Price |\n| --- | --- |\n| Charger | $20 |\n');
    expect(markup).toMatch(
      /^<div class="markdown"><div class="table-scroll" role="region" aria-label="Table: Part, Price"><table>/,
    );
    expect(markup).toContain('<th>Part</th>');
  });

  test('streamed and whole answers still render alike with the highlighter loaded', async () => {
    await loadHighlighter();
    expect(html(StreamingMarkdown, answer)).toBe(html(MarkdownAnswer, answer));
    expect(html(MarkdownAnswer, answer)).toContain('hljs');
  });
});
