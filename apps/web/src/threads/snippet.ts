export interface SnippetPart {
  text: string;
  match: boolean;
}

/**
 * A search snippet as plain reading: answers are stored as Markdown, and a passage cut out of one shows its
 * markup raw (`**`, backticks, list numbers, line breaks). The marks stay on the words they were on.
 */
export function readableSnippet(parts: readonly SnippetPart[]): SnippetPart[] {
  const cleaned = parts.map((part) => ({
    match: part.match,
    text: part.text
      .replace(/\*\*|__|`/g, '')
      .replace(/(^|\n)\s*(#{1,6}\s+|>\s*|[-*+]\s+|\d+\.\s+)/g, '$1')
      .replace(/\s+/g, ' '),
  }));
  const first = cleaned[0];
  if (first) first.text = first.text.trimStart();
  const last = cleaned.at(-1);
  if (last) last.text = last.text.trimEnd();
  return cleaned.filter((part) => part.text !== '');
}
