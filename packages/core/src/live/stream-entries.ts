import type { StreamedChunk } from '../store/turns';
import type { LiveBatch } from './live-events';

/** One Redis Streams entry per stored batch: `c` holds its chunks as `[seq, type, content]`, `e` marks the end. */
export type EntryFields = Record<string, string>;

export function encodeBatch(chunks: StreamedChunk[]): EntryFields {
  return { c: JSON.stringify(chunks.map(({ seq, type, content }) => [seq, type, content])) };
}

export const END_FIELDS: EntryFields = { e: '1' };

export function decodeEntry(fields: EntryFields): LiveBatch {
  if (fields.e === '1') return { chunks: [], end: true };
  const raw: unknown = JSON.parse(fields.c ?? '[]');
  const chunks: StreamedChunk[] = [];
  for (const item of Array.isArray(raw) ? raw : []) {
    if (!Array.isArray(item)) continue;
    const [seq, type, content] = item as unknown[];
    if (typeof seq !== 'number' || (type !== 'token' && type !== 'status') || typeof content !== 'string') continue;
    // Readers never need the round: it only matters to the ledger, which reads the database.
    chunks.push({ seq, round: 0, type, content });
  }
  return { chunks, end: false };
}
