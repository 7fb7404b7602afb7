import type { Source } from '../db/schema';

/** One link per URL, first mention first: several tool calls often find the same guide. */
export function uniqueSources(sources: Source[]): Source[] {
  const seen = new Set<string>();
  return sources.filter((source) => !seen.has(source.url) && seen.add(source.url));
}
