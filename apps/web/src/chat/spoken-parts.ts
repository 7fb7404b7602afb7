/** A blank line (and any whitespace after it) ends a paragraph. */
const PARAGRAPH_BREAK = /\n[ \t]*\n\s*/g;

/** Markdown syntax a screen reader would otherwise read out: markers are dropped, a link keeps its text. */
function plainText(markdown: string): string {
  return markdown
    .replace(/^\s*```.*$/gm, '')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^\s{0,3}(#{1,6}|>|[-*+])\s+/gm, '')
    .replace(/(\*\*|__|\*|`|~~)/g, '')
    .trim();
}

/**
 * How much of an answer a screen reader should have heard: up to the end of its last complete paragraph (the
 * next one has begun) while it streams, all of it once it is finished. This changes only when a paragraph
 * completes, not on every frame.
 */
export function spokenSoFar(text: string, finished: boolean): string {
  if (finished) return text;
  let end = 0;
  for (const match of text.matchAll(PARAGRAPH_BREAK)) end = match.index;
  return text.slice(0, end);
}

/**
 * The paragraphs of `spokenSoFar`, as plain text. Streamed text only grows, so the list only grows too:
 * announcing its new items reads the answer a paragraph at a time.
 */
export function spokenParts(spoken: string): string[] {
  return spoken
    .split(PARAGRAPH_BREAK)
    .map(plainText)
    .filter((part) => part !== '');
}
