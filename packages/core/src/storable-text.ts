/**
 * Model output made storable before anyone sees it, so what streamed is exactly what is saved: Postgres
 * refuses NUL in text and jsonb, and its UTF-8 encoder would turn a lone surrogate (a model can send one as a
 * JSON `\ud800` escape) into U+FFFD. Both become U+FFFD here instead.
 */
export function storableText(text: string): string {
  return text.replaceAll('\u0000', '\uFFFD').toWellFormed();
}

/** Like `storableText` for every string inside a JSON value (tool-call arguments). */
export function storableJson(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storableJson);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [storableText(key), storableJson(inner)]));
  }
  return value;
}

/**
 * Cleans streamed text chunk by chunk. A surrogate pair can arrive split across two chunks (one JSON escape in
 * each), so a high surrogate that ends a chunk waits for the next one instead of being replaced.
 */
export class StreamedTextCleaner {
  private held = '';

  clean(chunk: string): string {
    let text = this.held + chunk;
    this.held = '';
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.held = text.slice(-1);
      text = text.slice(0, -1);
    }
    return storableText(text);
  }

  /** What is still held when the stream ends: a high surrogate nothing completed. */
  flush(): string {
    const held = this.held;
    this.held = '';
    return held === '' ? '' : storableText(held);
  }
}
