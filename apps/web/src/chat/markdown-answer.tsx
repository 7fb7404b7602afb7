import { memo } from 'react';
import Markdown, { type Components } from 'react-markdown';
import remarkGfm from 'remark-gfm';
import { CodeBlock } from './code/code-block';
import { languageFromClassName } from './code/languages';
import { hastText, tableHeaders, tableLabel } from './markdown/hast';
import { TableScroll } from './markdown/table-scroll';
import { markdownBlocks } from './markdown-blocks';

/**
 * No rehype-raw: HTML in an answer is dropped rather than injected, and react-markdown's default URL
 * filter removes `javascript:` and similar links.
 */
const components: Components = {
  a: ({ node: _node, ...props }) => <a {...props} target="_blank" rel="noopener noreferrer" />,
  // Every block of code, fenced or indented, is a `pre` holding one `code`: read from the syntax tree, so the
  // block gets the code as written, not as rendered.
  pre: ({ node, children }) => {
    const code = node?.children.find((child) => child.type === 'element' && child.tagName === 'code');
    if (code?.type !== 'element') return <pre>{children}</pre>;
    // Markdown ends a block's code with a newline that is not part of it (nor of what a copy should get).
    const text = hastText(code).replace(/\n$/, '');
    return <CodeBlock code={text} language={languageFromClassName(code.properties.className)} />;
  },
  table: ({ node, ...props }) => (
    <TableScroll label={tableLabel(tableHeaders(node))}>
      <table {...props} />
    </TableScroll>
  ),
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
