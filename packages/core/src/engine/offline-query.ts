/**
 * Words that carry no device or symptom: greetings, pronouns, auxiliaries, question words, and the asking
 * itself ("can you help me fix"). Left in, they make a keyword search like iFixit's match nothing.
 */
const FILLER = new Set(
  `a about after again all also am an and any anyone anything are as at be been before being but by can cannot
  could did do does doing done for from get gets getting go going got had has have having he hello help her hey
  hi hiya how i if im in into is it its just kind know let like many me might mine more much must my myself need
  needs no not now of ok okay on once one or other our out own please pls really she should so some someone
  something sort still such tell thank thanks than that the their them then there these they thing this those
  though thx to too try trying up us very want wanted wants was we were what when where which while who why will
  with would yeah yes you your fix fixed fixing repair repaired repairing always ago bit ever every few keep keeps
  kept lot lots since sometimes started starts suddenly today yesterday anymore`.split(/\s+/),
);

// Contractions reduce to their stem before the filler check: "won't" -> "won", "it's" -> "it".
const CONTRACTION = /['’](?:s|t|re|ve|ll|d|m)$/i;
const NEGATION_STEMS = new Set(['won', 'can', 'don', 'doesn', 'isn', 'aren', 'wasn', 'didn', 'couldn', 'shouldn', 'wouldn', 'haven', 'hasn']);

/** At most this many words go to iFixit: its search ranks a short device-and-part query best. */
const MAX_QUERY_WORDS = 6;

/**
 * The device and problem words of a message, in the order written, for iFixit's search: "My iPhone 12 screen
 * is cracked, how do I fix it?" becomes "iPhone 12 screen cracked". Undefined when nothing searchable is left
 * ("hi", "thanks!").
 */
export function searchQueryOf(message: string): string | undefined {
  const words = message
    .split(/[^\p{L}\p{N}'’+#-]+/u)
    .map((word) => word.replace(/^['’+#-]+|['’-]+$/g, ''))
    .filter((word) => word !== '' && !isFiller(word));
  const unique = words.filter((word, index) => words.findIndex((other) => other.toLowerCase() === word.toLowerCase()) === index);
  return unique.length > 0 ? unique.slice(0, MAX_QUERY_WORDS).join(' ') : undefined;
}

/**
 * The query to try once when the first found nothing: its first words, where people name the device. Undefined
 * when it is already as short as it gets.
 */
export function shorterQueryOf(query: string): string | undefined {
  const words = query.split(' ');
  const keep = Math.min(3, words.length - 1);
  return keep >= 1 ? words.slice(0, keep).join(' ') : undefined;
}

function isFiller(word: string): boolean {
  const lower = word.toLowerCase();
  if (FILLER.has(lower)) return true;
  if (!CONTRACTION.test(lower)) return false;
  const stem = lower.replace(CONTRACTION, '');
  return FILLER.has(stem) || NEGATION_STEMS.has(stem);
}
