import type { Source } from '../db/schema';
import type { ProjectedGuide } from './tools/ifixit';

/** How many guides an offline answer lists, and how many steps of the best one it shows. */
export const OFFLINE_GUIDES = 3;
const FIRST_STEPS = 3;

const CONNECT_A_MODEL =
  'To connect one, set `OPENAI_API_KEY` and restart the server; for Ollama or another OpenAI-compatible server, ' +
  'set `OPENAI_BASE_URL` and `OPENAI_MODEL` too (see “Connecting a language model” in the README).';

const FROM_GUIDES_NOTE = `_These answers come from iFixit guides because no language model is configured. ${CONNECT_A_MODEL}_`;

/** Opens an answer to a question that came with photos. */
export const PHOTOS_UNSEEN = 'I can’t look at photos without a language model, so this answer goes by your words alone.';

/** The best guides for the question, with the first steps of the best one when its details could be read. */
export function guidesAnswer(query: string, guides: Source[], best: ProjectedGuide | undefined): string {
  const lines = [`These iFixit guides best match **${inline(query)}**:`, ''];
  guides.slice(0, OFFLINE_GUIDES).forEach((guide, index) => lines.push(`${index + 1}. ${guideLine(guide)}`));
  const top = guides[0];
  if (top) lines.push('', ...firstSteps(top, best));
  lines.push('', '---', '', FROM_GUIDES_NOTE);
  return lines.join('\n');
}

export function noGuidesAnswer(query: string): string {
  return [
    `I couldn’t find an iFixit guide for **${inline(query)}**. Try the device’s exact model and the part or symptom, ` +
      'for example “iPhone 12 screen” or “PS5 HDMI port”.',
    '',
    '---',
    '',
    FROM_GUIDES_NOTE,
  ].join('\n');
}

export function unreachableAnswer(): string {
  return [
    'I can’t answer right now: no language model is configured, and iFixit, where answers come from without one, ' +
      'could not be reached either. Your message is saved; ask again once the server can reach iFixit.',
    '',
    CONNECT_A_MODEL,
  ].join('\n');
}

/** For a message with nothing to search for ("hi"): what offline mode does, and what to ask. */
export function greetingAnswer(): string {
  return [
    'Hi! FixThread is running without a language model, so I answer from iFixit’s repair guides.',
    '',
    'Tell me the device and what’s wrong with it, for example “iPhone 12 cracked screen” or “PS5 no HDMI signal”, ' +
      'and I’ll find the best guides and their first steps.',
    '',
    '---',
    '',
    `_${CONNECT_A_MODEL}_`,
  ].join('\n');
}

function guideLine(guide: Source): string {
  const device = guide.device && guide.subject ? `${guide.device} (${guide.subject})` : (guide.device ?? guide.subject);
  const facts = [
    device && inline(device),
    guide.difficulty && `Difficulty: ${inline(guide.difficulty)}`,
    guide.time_required && `Time: ${inline(guide.time_required)}`,
  ].filter(Boolean);
  return `${link(guide.title, guide.url)}${facts.length > 0 ? ` — ${facts.join(' · ')}` : ''}`;
}

function firstSteps(top: Source, guide: ProjectedGuide | undefined): string[] {
  if (!guide || guide.steps.length === 0) {
    return [`I couldn’t load the steps of “${inline(top.title)}” just now: ${link('open the guide on iFixit', top.url)} for them.`];
  }
  const lines = [`**How “${inline(guide.title ?? top.title)}” starts**`, ''];
  if (guide.tools.length > 0) lines.push(`Tools: ${guide.tools.map(inline).join(', ')}`, '');
  guide.steps.slice(0, FIRST_STEPS).forEach((step, index) => {
    lines.push(`${index + 1}. **${inline(step.title || `Step ${index + 1}`)}**`);
    for (const text of step.lines) lines.push(`   - ${inline(text)}`);
  });
  const rest = guide.steps.length > FIRST_STEPS ? `The guide has ${guide.steps.length} steps in all: ` : 'Photos and details: ';
  lines.push('', `${rest}${link('read it on iFixit', guide.url ?? top.url)}.`);
  return lines;
}

/** A link whose URL cannot end the Markdown early: only http(s), with its parentheses and spaces encoded. */
function link(text: string, url: string): string {
  if (!/^https?:\/\//i.test(url)) return inline(text);
  const safe = url.replace(/[()\s<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return `[${inline(text)}](${safe})`;
}

/**
 * Third-party or user text as one line of literal Markdown: iFixit's own wiki markup (`[product|id|text]`,
 * `'''bold'''`) reduced to its text, and whatever Markdown would act on escaped.
 */
function inline(text: string): string {
  return text
    .replace(/\[[^\]|]*\|(?:[^\]|]*\|)?([^\]|]+)\]/g, '$1')
    .replace(/'''|''/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[\\`*_[\]<>~|]/g, (c) => `\\${c}`);
}
