import { memo } from 'react';
import Markdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';
import { markdownBlocks } from './markdown-blocks';

/**
 * No rehype-raw: HTML in an answer is dropped rather than injected, and react-markdown's default URL
 * filter removes `javascript:` and similar links.
 */
const components: Components = {
  a: ({ node: _node, ...props }) => <a {...props} target="_blank" rel="noopener noreferrer" />,
};

const remarkPlugins = [remarkGfm];

const ParsedMarkdown = memo(function ParsedMarkdown({ text }: { text: string }) {
  return (
    <Markdown remarkPlugins={remarkPlugins} components={components}>
      {text}
    </Markdown>
  );
});

export const MarkdownAnswer = memo(function MarkdownAnswer({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ParsedMarkdown text={text} />
    </div>
  );
});

/**
 * An answer that grows every frame: it is parsed a block at a time and only the last block, the one still
 * growing, is parsed again, so each update costs the size of that block rather than of the whole answer.
 */
export function StreamingMarkdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      {markdownBlocks(text).map((block, index) => (
        <ParsedMarkdown key={index} text={block} />
      ))}
    </div>
  );
}
