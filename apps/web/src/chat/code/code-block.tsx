import { memo, useEffect, useRef, useState } from 'react';
import { useScrollsSideways } from '../markdown/use-scrolls-sideways';
import { copyText } from './copy-text';
import { codeLanguage } from './languages';
import { useHighlighted } from './use-highlighted';
import './code-block.css';

/** How long "Copied" shows before the button reads "Copy" again. */
const FEEDBACK_MS = 2000;

type CopyState = 'idle' | 'copied' | 'failed';

const FEEDBACK: Record<CopyState, string> = { idle: 'Copy', copied: 'Copied', failed: 'Copy failed' };
/** What the status region says, so a screen reader hears the outcome of a press. */
const ANNOUNCED: Record<CopyState, string> = {
  idle: '',
  copied: 'Copied to clipboard',
  failed: 'Couldn’t copy',
};

function CopyButton({ code, name }: { code: string; name: string | null }) {
  const [state, setState] = useState<CopyState>('idle');
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);

  const copy = async () => {
    let outcome: CopyState;
    try {
      await copyText(code);
      outcome = 'copied';
    } catch {
      outcome = 'failed';
    }
    setState(outcome);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setState('idle'), FEEDBACK_MS);
  };

  return (
    <>
      <button
        type="button"
        className={`code-block-copy copy-${state}`}
        aria-label={name ? `Copy ${name} code` : 'Copy code'}
        onClick={() => void copy()}
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" width="14" height="14">
          {state === 'copied' ? (
            <path
              d="M5 12.5l4.5 4.5L19 7.5"
              fill="none"
              stroke="currentColor"
              strokeWidth="2.2"
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          ) : (
            <path
              d="M9 9h10v10H9zM5 15V5h10"
              fill="none"
              stroke="currentColor"
              strokeWidth="2"
              strokeLinecap="round"
              strokeLinejoin="round"
            />
          )}
        </svg>
        <span aria-hidden="true">{FEEDBACK[state]}</span>
      </button>
      <span className="visually-hidden" role="status">
        {ANNOUNCED[state]}
      </span>
    </>
  );
}

interface CodeBlockProps {
  /** The code, without the newline Markdown ends a block with. */
  code: string;
  /** The fence's language as written (`bash`, `Shell`, `rust`…), if any. Strings only, so memo holds. */
  language: string | undefined;
}

/**
 * A fenced block of an answer: its language and a copy button above the code. It shows at once as plain
 * monospace text and is coloured in place when the highlighter arrives, with no change of layout.
 */
export const CodeBlock = memo(function CodeBlock({ code, language: written }: CodeBlockProps) {
  const language = codeLanguage(written);
  const html = useHighlighted(code, language.id);
  const preRef = useRef<HTMLPreElement>(null);
  const scrolls = useScrollsSideways(preRef);
  return (
    <div className="code-block" role="group" aria-label={language.name ? `${language.name} code` : 'Code'}>
      <div className="code-block-header">
        <span className="code-block-language" aria-hidden="true">
          {language.name ?? 'Code'}
        </span>
        <CopyButton code={code} name={language.name} />
      </div>
      <pre ref={preRef} tabIndex={scrolls ? 0 : undefined}>
        {html === null ? (
          <code key="plain">{code}</code>
        ) : (
          // Safe: highlight.js escapes all of the code and adds only its own spans (see highlighter.ts).
          <code
            key="highlighted"
            className={`hljs language-${language.id}`}
            dangerouslySetInnerHTML={{ __html: html }}
          />
        )}
      </pre>
    </div>
  );
});
