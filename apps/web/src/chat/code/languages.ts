/**
 * The languages the lazily loaded highlighter registers (see highlighter.ts), by highlight.js name. Kept here,
 * outside that chunk, so the first screen can tell which blocks are worth loading it for.
 */
export const HIGHLIGHT_LANGUAGES = [
  'bash',
  'shell',
  'powershell',
  'dos',
  'json',
  'javascript',
  'typescript',
  'python',
  'c',
  'cpp',
  'yaml',
  'ini',
  'diff',
] as const;

export type HighlightLanguage = (typeof HIGHLIGHT_LANGUAGES)[number];

export interface CodeLanguage {
  /** What highlights it; null: shown as plain text (no language, plain text, or one not registered). */
  id: HighlightLanguage | null;
  /** What the block's label says; null when the answer named no language. */
  name: string | null;
}

/** A fence's language as written (lower-cased) → how it is highlighted and what its label says. */
const ALIASES: Record<string, { id: HighlightLanguage | null; name: string }> = {
  bash: { id: 'bash', name: 'Bash' },
  sh: { id: 'bash', name: 'Shell' },
  shell: { id: 'bash', name: 'Shell' },
  zsh: { id: 'bash', name: 'Zsh' },
  // A terminal session: `$ ` prompts and the output between them.
  console: { id: 'shell', name: 'Console' },
  terminal: { id: 'shell', name: 'Terminal' },
  'shell-session': { id: 'shell', name: 'Console' },
  shellsession: { id: 'shell', name: 'Console' },
  powershell: { id: 'powershell', name: 'PowerShell' },
  pwsh: { id: 'powershell', name: 'PowerShell' },
  ps1: { id: 'powershell', name: 'PowerShell' },
  ps: { id: 'powershell', name: 'PowerShell' },
  bat: { id: 'dos', name: 'Batch' },
  batch: { id: 'dos', name: 'Batch' },
  cmd: { id: 'dos', name: 'Command Prompt' },
  dos: { id: 'dos', name: 'Batch' },
  json: { id: 'json', name: 'JSON' },
  jsonc: { id: 'json', name: 'JSON' },
  json5: { id: 'json', name: 'JSON5' },
  js: { id: 'javascript', name: 'JavaScript' },
  javascript: { id: 'javascript', name: 'JavaScript' },
  mjs: { id: 'javascript', name: 'JavaScript' },
  cjs: { id: 'javascript', name: 'JavaScript' },
  jsx: { id: 'javascript', name: 'JSX' },
  node: { id: 'javascript', name: 'JavaScript' },
  ts: { id: 'typescript', name: 'TypeScript' },
  typescript: { id: 'typescript', name: 'TypeScript' },
  mts: { id: 'typescript', name: 'TypeScript' },
  cts: { id: 'typescript', name: 'TypeScript' },
  tsx: { id: 'typescript', name: 'TSX' },
  py: { id: 'python', name: 'Python' },
  python: { id: 'python', name: 'Python' },
  python3: { id: 'python', name: 'Python' },
  py3: { id: 'python', name: 'Python' },
  c: { id: 'c', name: 'C' },
  h: { id: 'c', name: 'C' },
  cpp: { id: 'cpp', name: 'C++' },
  'c++': { id: 'cpp', name: 'C++' },
  cc: { id: 'cpp', name: 'C++' },
  cxx: { id: 'cpp', name: 'C++' },
  hpp: { id: 'cpp', name: 'C++' },
  hxx: { id: 'cpp', name: 'C++' },
  // Arduino sketches are C++; highlight.js's own Arduino grammar only adds its library names, at 7 kB.
  arduino: { id: 'cpp', name: 'Arduino' },
  ino: { id: 'cpp', name: 'Arduino' },
  yaml: { id: 'yaml', name: 'YAML' },
  yml: { id: 'yaml', name: 'YAML' },
  ini: { id: 'ini', name: 'INI' },
  toml: { id: 'ini', name: 'TOML' },
  cfg: { id: 'ini', name: 'Config' },
  conf: { id: 'ini', name: 'Config' },
  diff: { id: 'diff', name: 'Diff' },
  patch: { id: 'diff', name: 'Diff' },
  text: { id: null, name: 'Text' },
  txt: { id: null, name: 'Text' },
  plain: { id: null, name: 'Text' },
  plaintext: { id: null, name: 'Text' },
};

/** A label stays a label: an info string can be anything a model wrote. */
const MAX_NAME_LENGTH = 24;

/**
 * What a fence's language (as written after the backticks: `bash`, `Shell`, `c++`, `rust`…) means for its
 * block. One the highlighter doesn't know keeps its name as written and stays plain.
 */
export function codeLanguage(written: string | null | undefined): CodeLanguage {
  const trimmed = written?.trim() ?? '';
  if (trimmed === '') return { id: null, name: null };
  const known = Object.hasOwn(ALIASES, trimmed.toLowerCase()) ? ALIASES[trimmed.toLowerCase()] : undefined;
  if (known) return known;
  const name = trimmed.length > MAX_NAME_LENGTH ? `${trimmed.slice(0, MAX_NAME_LENGTH - 1)}…` : trimmed;
  return { id: null, name };
}

/**
 * The language react-markdown put on a fenced block's `<code>` (`className: ['language-bash']`, from the first
 * word of the info string), if any.
 */
export function languageFromClassName(className: unknown): string | undefined {
  const classes = Array.isArray(className)
    ? className
    : typeof className === 'string'
      ? className.split(/\s+/)
      : [];
  for (const name of classes) {
    if (typeof name === 'string' && name.startsWith('language-') && name.length > 'language-'.length) {
      return name.slice('language-'.length);
    }
  }
  return undefined;
}
