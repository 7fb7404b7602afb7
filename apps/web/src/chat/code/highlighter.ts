/**
 * The syntax highlighter: highlight.js's core with only the languages an answer about a repair is likely to
 * show. Never imported statically: load-highlighter.ts imports it on demand, so it is a chunk of its own and
 * the first screen doesn't wait for it.
 */
import type { LanguageFn } from 'highlight.js';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import cpp from 'highlight.js/lib/languages/cpp';
import diff from 'highlight.js/lib/languages/diff';
import dos from 'highlight.js/lib/languages/dos';
import ini from 'highlight.js/lib/languages/ini';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import powershell from 'highlight.js/lib/languages/powershell';
import python from 'highlight.js/lib/languages/python';
import shell from 'highlight.js/lib/languages/shell';
import typescript from 'highlight.js/lib/languages/typescript';
import yaml from 'highlight.js/lib/languages/yaml';
import type { HighlightLanguage } from './languages';

// Typed by HighlightLanguage, so a language the first screen expects can't be missing here.
const grammars: Record<HighlightLanguage, LanguageFn> = {
  bash,
  shell,
  powershell,
  dos,
  json,
  javascript,
  typescript,
  python,
  c,
  cpp,
  yaml,
  ini,
  diff,
};

// Our own instance: nothing else on the page configures or registers into it.
const highlighter = hljs.newInstance();
for (const [name, grammar] of Object.entries(grammars)) highlighter.registerLanguage(name, grammar);

/**
 * The code as HTML: every character of it escaped, inside highlight.js's `<span class="hljs-…">` elements and
 * nothing else, so it is safe to set as innerHTML. `ignoreIllegals`: code the grammar doesn't expect (a
 * half-streamed block, a model's typo) is still shown, highlighted as far as it goes.
 */
export function highlight(code: string, language: HighlightLanguage): string {
  return highlighter.highlight(code, { language, ignoreIllegals: true }).value;
}
