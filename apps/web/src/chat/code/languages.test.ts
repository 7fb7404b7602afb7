import { describe, expect, test } from 'vitest';
import { codeLanguage, HIGHLIGHT_LANGUAGES, languageFromClassName } from './languages';

describe('codeLanguage', () => {
  test('maps what answers write to a registered grammar and a label', () => {
    expect(codeLanguage('bash')).toEqual({ id: 'bash', name: 'Bash' });
    expect(codeLanguage('sh')).toEqual({ id: 'bash', name: 'Shell' });
    expect(codeLanguage('shell')).toEqual({ id: 'bash', name: 'Shell' });
    expect(codeLanguage('console')).toEqual({ id: 'shell', name: 'Console' });
    expect(codeLanguage('js')).toEqual({ id: 'javascript', name: 'JavaScript' });
    expect(codeLanguage('tsx')).toEqual({ id: 'typescript', name: 'TSX' });
    expect(codeLanguage('py')).toEqual({ id: 'python', name: 'Python' });
    expect(codeLanguage('c++')).toEqual({ id: 'cpp', name: 'C++' });
    expect(codeLanguage('yml')).toEqual({ id: 'yaml', name: 'YAML' });
    expect(codeLanguage('toml')).toEqual({ id: 'ini', name: 'TOML' });
    expect(codeLanguage('patch')).toEqual({ id: 'diff', name: 'Diff' });
    expect(codeLanguage('ps1')).toEqual({ id: 'powershell', name: 'PowerShell' });
    expect(codeLanguage('cmd')).toEqual({ id: 'dos', name: 'Command Prompt' });
  });

  test('ignores case and surrounding space', () => {
    expect(codeLanguage('  JSON ')).toEqual({ id: 'json', name: 'JSON' });
    expect(codeLanguage('Python')).toEqual({ id: 'python', name: 'Python' });
  });

  test('plain text is labelled but not highlighted', () => {
    for (const written of ['text', 'txt', 'plaintext', 'plain']) {
      expect(codeLanguage(written)).toEqual({ id: null, name: 'Text' });
    }
  });

  test('an unknown language stays plain and keeps its name as written', () => {
    expect(codeLanguage('rust')).toEqual({ id: null, name: 'rust' });
    expect(codeLanguage('GCode')).toEqual({ id: null, name: 'GCode' });
    // Names of Object.prototype are not languages.
    expect(codeLanguage('constructor')).toEqual({ id: null, name: 'constructor' });
    expect(codeLanguage('__proto__')).toEqual({ id: null, name: '__proto__' });
  });

  test('no language: no name, no highlighting', () => {
    expect(codeLanguage(undefined)).toEqual({ id: null, name: null });
    expect(codeLanguage(null)).toEqual({ id: null, name: null });
    expect(codeLanguage('   ')).toEqual({ id: null, name: null });
  });

  test('a long name is cut for the label', () => {
    const { id, name } = codeLanguage('a'.repeat(100));
    expect(id).toBeNull();
    expect(name).toHaveLength(24);
    expect(name?.endsWith('…')).toBe(true);
  });

  test('every grammar an alias names is one the highlighter registers', () => {
    const written = [
      'bash',
      'console',
      'powershell',
      'bat',
      'json',
      'js',
      'ts',
      'py',
      'c',
      'cpp',
      'yaml',
      'ini',
      'diff',
    ];
    const ids = new Set(written.map((name) => codeLanguage(name).id));
    expect([...ids].sort()).toEqual([...HIGHLIGHT_LANGUAGES].sort());
  });
});

describe('languageFromClassName', () => {
  test('reads the language react-markdown puts on a fenced block', () => {
    expect(languageFromClassName(['language-bash'])).toBe('bash');
    expect(languageFromClassName(['other', 'language-c++'])).toBe('c++');
    expect(languageFromClassName('language-python extra')).toBe('python');
  });

  test('none when the block names no language', () => {
    expect(languageFromClassName(undefined)).toBeUndefined();
    expect(languageFromClassName([])).toBeUndefined();
    expect(languageFromClassName(['language-'])).toBeUndefined();
    expect(languageFromClassName([42, null])).toBeUndefined();
  });
});
