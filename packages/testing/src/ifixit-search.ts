import { type IfixitGuideSeed } from './ifixit-catalogue';

// Words that appear in nearly every query or title and would make every guide match.
const STOPWORDS = new Set([
  'a',
  'an',
  'and',
  'the',
  'my',
  'is',
  'it',
  'i',
  'to',
  'of',
  'for',
  'on',
  'in',
  'with',
  'how',
  'do',
  'fix',
  'fixing',
  'repair',
  'replace',
  'replacing',
  'replacement',
  'guide',
]);

const normalise = (word: string): string =>
  word.length > 3 && word.endsWith('s') ? word.slice(0, -1) : word;

export function tokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '' && !STOPWORDS.has(w))
    .map(normalise);
}

/**
 * Loose relevance like the real search: a guide matches when at least half of the query's
 * meaningful words occur in its title, device, component or keywords; best matches first.
 */
export function searchCatalogue(catalogue: readonly IfixitGuideSeed[], query: string): IfixitGuideSeed[] {
  const wanted = [...new Set(tokens(query))];
  if (wanted.length === 0) return [];
  const threshold = Math.ceil(wanted.length / 2);
  return catalogue
    .map((seed, order) => {
      const hay = new Set(
        tokens([seed.title, seed.category, seed.subject, ...(seed.keywords ?? [])].join(' ')),
      );
      const score = wanted.filter((w) => hay.has(w)).length;
      return { seed, score, order };
    })
    .filter((hit) => hit.score >= threshold)
    .sort((a, b) => b.score - a.score || a.order - b.order)
    .map((hit) => hit.seed);
}
