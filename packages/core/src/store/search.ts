import { sql } from 'drizzle-orm';
import type { Db } from '../db/db';
import { rawRows } from '../db/raw-rows';
import { conversations, threads } from '../db/schema';
import type { Role } from './messages';

export interface SearchResult {
  thread_id: string;
  thread_title: string | null;
  message_id: number;
  role: Role;
  /** The matching passage, split so a client can mark the matched words without parsing markup. */
  snippet: { text: string; match: boolean }[];
  /** ISO 8601 UTC. */
  timestamp: string;
}

// Private-use characters: ts_headline marks matches with them, and no message text is expected to hold them.
const START = '\uE000';
const STOP = '\uE001';

/**
 * Full-text search over the user's own messages, every thread, newest first. `websearch_to_tsquery` takes
 * what people type (quotes, `or`, `-word`) and never fails on syntax. The `to_tsvector('english', content)`
 * expression is exactly the GIN index's, so the index answers it.
 */
export async function searchMessages(db: Db, userId: string, query: string, limit: number): Promise<SearchResult[]> {
  const rows = await rawRows<{
    id: number;
    thread_id: string;
    role: Role;
    created_at: string;
    title: string | null;
    headline: string;
  }>(
    db,
    sql`select c.id, c.thread_id, c.role, to_char(c.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_at, t.title,
          ts_headline('english', c.content, q, ${`StartSel=${START}, StopSel=${STOP}, MaxWords=24, MinWords=10, MaxFragments=2, FragmentDelimiter=" … "`}) as headline
        from ${conversations} c
        cross join websearch_to_tsquery('english', ${query}) q
        left join ${threads} t on t.id = c.thread_id and t.user_id = c.user_id
        where c.user_id = ${userId} and c.superseded_at is null and to_tsvector('english', c.content) @@ q
        order by c.id desc
        limit ${limit}`,
  );
  return rows.map((row) => ({
    thread_id: row.thread_id,
    thread_title: row.title,
    message_id: row.id,
    role: row.role,
    snippet: splitHeadline(row.headline),
    timestamp: row.created_at,
  }));
}

function splitHeadline(headline: string): { text: string; match: boolean }[] {
  const parts: { text: string; match: boolean }[] = [];
  for (const [i, piece] of headline.split(START).entries()) {
    const [matched, rest] = i === 0 ? [undefined, piece] : splitOnce(piece, STOP);
    if (matched) parts.push({ text: matched, match: true });
    if (rest) parts.push({ text: rest, match: false });
  }
  return parts;
}

function splitOnce(text: string, separator: string): [string, string] {
  const at = text.indexOf(separator);
  return at === -1 ? [text, ''] : [text.slice(0, at), text.slice(at + separator.length)];
}
