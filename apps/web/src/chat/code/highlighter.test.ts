import { describe, expect, test } from 'vitest';
import { highlight } from './highlighter';
import { HIGHLIGHT_LANGUAGES, type HighlightLanguage } from './languages';
import { highlightCached } from './use-highlighted';

const samples: Record<(typeof HIGHLIGHT_LANGUAGES)[number], string> = {
  bash: 'if [ -f /etc/fstab ]; then echo "found"; fi # check',
  shell: '$ sudo smartctl -a /dev/sda\nSMART overall-health: PASSED',
  powershell: 'Get-Service -Name "Spooler" | Restart-Service',
  dos: '@echo off\nREM repair\nsfc /scannow',
  json: '{ "model": "A1466", "cycles": 312, "ok": true }',
  javascript: 'const volts = 5; function read() { return volts * 2; }',
  typescript: 'interface Part { name: string } const p: Part = { name: "fan" };',
  python: 'def check(v: float) -> bool:\n    return v > 3.3  # volts',
  c: '#include <stdio.h>\nint main(void) { return 0; }',
  cpp: '#include <vector>\nclass Fan { public: int rpm = 0; };',
  yaml: 'fan:\n  rpm: 1200\n  enabled: true',
  ini: '[display]\nbrightness = 80 ; percent',
  diff: '--- a/config\n+++ b/config\n-old = 1\n+new = 2',
};

describe('highlight', () => {
  test('every registered language colours its code with highlight.js spans, keeping its text', () => {
    for (const language of HIGHLIGHT_LANGUAGES) {
      const html = highlight(samples[language], language);
      expect(html, language).toMatch(/<span class="hljs-[a-z_]+/);
      const text = html
        .replace(/<[^>]+>/g, '')
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&')
        .replace(/&#x27;/g, "'");
      expect(text, language).toBe(samples[language]);
    }
  });

  test('escapes the code: markup in it is shown, never run', () => {
    const html = highlight('echo "<img src=x onerror=alert(1)>" && echo \'<script>x</script>\'', 'bash');
    expect(html).not.toMatch(/<(img|script)/);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;script&gt;');
  });

  test('code its grammar does not expect is still shown whole', () => {
    const half = '{ "model": "A14';
    expect(
      highlight(half, 'json')
        .replace(/<[^>]+>/g, '')
        .replace(/&quot;/g, '"'),
    ).toBe(half);
  });
});

describe('highlightCached', () => {
  test('highlights the same code in the same language once', () => {
    let calls = 0;
    const counting = (code: string, language: HighlightLanguage) => {
      calls++;
      return highlight(code, language);
    };
    const first = highlightCached(counting, 'ls -la', 'bash');
    expect(highlightCached(counting, 'ls -la', 'bash')).toBe(first);
    expect(calls).toBe(1);
    highlightCached(counting, 'ls -la', 'json');
    expect(calls).toBe(2);
  });
});
