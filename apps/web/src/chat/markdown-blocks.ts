const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const CLOSING_FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*$/;
/** A list item: kept with what came before, so a loose list stays one list (its spacing and numbering). */
const LIST_ITEM = /^([-*+]|\d{1,9}[.)])([ \t]|$)/;

/**
 * Splits Markdown into top-level blocks that parse the same apart as together: each cut is before a line that
 * starts a new block at the left margin after a blank line, outside fenced code, and is not a list item. Cuts
 * are decided by complete lines only, so as streamed text grows only the last block changes: a renderer can
 * keep the others and parse just the last one, instead of the whole answer on every update.
 */
export function markdownBlocks(text: string): string[] {
  const blocks: string[] = [];
  let start = 0;
  let fence: string | null = null;
  let afterBlank = false;
  for (let pos = 0; pos < text.length;) {
    const newline = text.indexOf('\n', pos);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(pos, end);
    if (fence !== null) {
      const closing = CLOSING_FENCE.exec(line)?.[1];
      if (closing && closing[0] === fence[0] && closing.length >= fence.length) fence = null;
      afterBlank = false;
    } else {
      const blank = line.trim() === '';
      // Only a whole line decides a cut: "1" may yet become "1.", and the cut must not move once made.
      const whole = newline !== -1;
      if (whole && afterBlank && !blank && pos > start && /^\S/.test(line) && !LIST_ITEM.test(line)) {
        blocks.push(text.slice(start, pos));
        start = pos;
      }
      fence = FENCE.exec(line)?.[1] ?? null;
      afterBlank = blank;
    }
    if (newline === -1) break;
    pos = newline + 1;
  }
  blocks.push(text.slice(start));
  return blocks;
}
