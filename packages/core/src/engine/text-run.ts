/** Pieces kept apart before they are joined: joining is linear, so this bounds the work per token. */
const PIECES_PER_SEGMENT = 256;

/**
 * Strings are joined with `Array.prototype.join`, never `+`: V8 may keep a `+` result as a tree of its parts,
 * which would hold every piece alive, while `join` always produces one flat string.
 *
 * Append-only text built from many small pieces (streamed tokens) that stays close to the size of the text
 * itself. A piece per token costs a string header and an array slot each, several times the token's own
 * bytes; `+=` builds a rope of one node per token. Here recent pieces are joined into flat segments as they
 * accumulate, and segments are merged pairwise as they pile up, so memory is the text plus a few hundred
 * small pieces, and `append` is amortised O(log n) per character.
 */
export class TextRun {
  /** Flat segments, oldest first; each at least as long as the sum of those after it. */
  private segments: string[] = [];
  private pieces: string[] = [];
  private total = 0;

  constructor(initial = '') {
    if (initial !== '') this.append(initial);
  }

  get length(): number {
    return this.total;
  }

  append(piece: string): void {
    if (piece === '') return;
    this.pieces.push(piece);
    this.total += piece.length;
    if (this.pieces.length >= PIECES_PER_SEGMENT) this.seal();
  }

  /**
   * The text from `start` (in UTF-16 code units) to the end, as one flat string. Walks from the end, so a
   * reader that keeps up (asking only for the newest piece) costs O(1).
   */
  slice(start = 0): string {
    if (start >= this.total) return '';
    const parts: string[] = [];
    let position = this.total;
    for (const list of [this.pieces, this.segments]) {
      for (let index = list.length - 1; index >= 0 && position > start; index--) {
        const part = list[index]!;
        position -= part.length;
        parts.push(position >= start ? part : part.slice(start - position));
      }
    }
    parts.reverse();
    return parts.length === 1 ? parts[0]! : parts.join('');
  }

  toString(): string {
    return this.slice(0);
  }

  private seal(): void {
    if (this.pieces.length === 0) return;
    this.segments.push(this.pieces.join(''));
    this.pieces = [];
    // Merge while the newest segment is as long as the one before it, like a binary counter: few segments, and
    // each character is copied O(log n) times in all.
    while (this.segments.length > 1) {
      const newest = this.segments.at(-1)!;
      const previous = this.segments.at(-2)!;
      if (newest.length < previous.length) break;
      this.segments.splice(-2, 2, [previous, newest].join(''));
    }
  }
}

