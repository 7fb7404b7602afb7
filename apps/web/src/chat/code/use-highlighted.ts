import { useEffect, useMemo, useState } from 'react';
import type { HighlightLanguage } from './languages';

type Highlight = (code: string, language: HighlightLanguage) => string;

let loaded: Highlight | null = null;
let loading: Promise<Highlight> | null = null;

/**
 * The highlighter chunk, fetched once, the first time a block needs it. A failed fetch (offline, or a deploy
 * replaced the chunk) is forgotten, so a later block tries again; until then code stays plain.
 */
export function loadHighlighter(): Promise<Highlight> {
  loading ??= import('./highlighter').then(
    (module) => (loaded = module.highlight),
    (error: unknown) => {
      loading = null;
      throw error;
    },
  );
  return loading;
}

/** Highlighted HTML by language and code, most recently used last. */
const cache = new Map<string, string>();
/** Enough for every block of a long conversation; a streaming block adds one entry per frame, the oldest go. */
const CACHE_SIZE = 200;

/**
 * Highlights through a cache, so a block shown again (the finished answer replacing the streamed one, a
 * history refetch) is coloured in its first render instead of flashing plain.
 */
export function highlightCached(highlight: Highlight, code: string, language: HighlightLanguage): string {
  const key = `${language}\u0000${code}`;
  const hit = cache.get(key);
  if (hit !== undefined) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const html = highlight(code, language);
  cache.set(key, html);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value!);
  return html;
}

/**
 * The code as highlighted HTML, or null while it should show as plain text: its language isn't one the
 * highlighter knows, or the highlighter hasn't arrived yet (it is loaded on first need). Recomputed only when
 * the code or language changes, so a streaming answer's other renders cost nothing here.
 */
export function useHighlighted(code: string, language: HighlightLanguage | null): string | null {
  const [highlight, setHighlight] = useState<Highlight | null>(() => loaded);
  const needed = language !== null && highlight === null;

  useEffect(() => {
    if (!needed) return;
    let current = true;
    loadHighlighter().then(
      (loadedHighlight) => current && setHighlight(() => loadedHighlight),
      () => {}, // stays plain; the next block to mount tries again
    );
    return () => {
      current = false;
    };
  }, [needed]);

  return useMemo(() => {
    if (language === null || highlight === null) return null;
    try {
      return highlightCached(highlight, code, language);
    } catch {
      // highlight.js throws only on a bug of its own; the code is still worth showing.
      return null;
    }
  }, [highlight, code, language]);
}
