import { type IfixitGuideSeed, type IfixitItemSeed } from './ifixit-catalogue';

/** Shapes follow live iFixit API 2.0 responses (guide 1220 and /search, /suggest samples). */
const IMAGE_SIZES = [
  'mini',
  'thumbnail',
  '140x105',
  '200x150',
  'standard',
  '440x330',
  'medium',
  'large',
  'huge',
] as const;

const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

export const guideUrl = (seed: Pick<IfixitGuideSeed, 'guideid' | 'title'>): string =>
  `https://www.ifixit.com/Guide/${encodeURIComponent(seed.title).replace(/%20/g, '+')}/${seed.guideid}`;

export const deviceUrl = (category: string): string =>
  `https://www.ifixit.com/Device/${encodeURIComponent(category.replace(/ /g, '_'))}`;

export function imageObject(id: number): Record<string, unknown> {
  const guid = `fake${id.toString(36).padStart(12, '0')}`;
  const out: Record<string, unknown> = { id, guid };
  for (const size of IMAGE_SIZES) out[size] = `https://guide-images.cdn.ifixit.com/igi/${guid}.${size}`;
  out.original = `https://guide-images.cdn.ifixit.com/igi/${guid}.full`;
  return out;
}

function item(seed: string | IfixitItemSeed, kind: 'tools' | 'parts'): Record<string, unknown> {
  const s = typeof seed === 'string' ? { text: seed } : seed;
  return {
    type: '',
    quantity: s.quantity ?? 1,
    text: s.text,
    notes: null,
    url: s.url ?? `https://www.ifixit.com/products/${slug(s.text)}`,
    thumbnail: `https://cart-products.cdn.ifixit.com/cart-products/${kind}-${slug(s.text)}.thumbnail`,
    isoptional: s.isoptional ?? false,
    featured: false,
  };
}

const escapeHtml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const author = {
  userid: 2718,
  username: 'Fake Fixer',
  unique_username: 'fakefixer',
  join_date: 1_356_998_400,
  image: imageObject(9001),
  reputation: 31_415,
  url: 'https://www.ifixit.com/User/2718/fakefixer',
  teams: [],
};

/** Long, irrelevant community chatter: a client that forwards whole payloads to the LLM will show up in token counts. */
function comments(guideid: number, count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    commentid: guideid * 10 + i,
    locale: 'en',
    parentid: null,
    author: { userid: 5000 + i, username: `commenter${i}`, unique_username: `commenter${i}`, image: null },
    title: '',
    text_raw: `Worked for me, thanks! A few extra notes from my repair (#${i}): `.padEnd(
      600,
      'lorem ipsum dolor sit amet ',
    ),
    text_rendered: `<p>Worked for me, thanks! (#${i})</p>`,
    rating: 0,
    date: 1_700_000_000 + i,
    modified_date: 1_700_000_000 + i,
    status: 'public',
    replies: [],
  }));
}

/** What `/search` and `/suggest` return for a guide (no tools, parts or steps). */
export function buildIfixitGuideSummary(seed: IfixitGuideSeed): Record<string, unknown> {
  return {
    dataType: 'guide',
    guideid: seed.guideid,
    locale: 'en',
    revisionid: seed.guideid * 3,
    modified_date: 1_700_000_000,
    prereq_modified_date: 0,
    url: guideUrl(seed),
    type: seed.type,
    category: seed.category,
    subject: seed.subject,
    title: seed.title,
    summary: seed.summary,
    difficulty: seed.difficulty,
    time_required_max: seed.timeRequiredMax,
    public: true,
    userid: author.userid,
    username: author.username,
    flags: ['GUIDE_STARRED'],
    image: imageObject(seed.guideid),
  };
}

/** What `GET /guides/{guideid}` returns, including the heavy fields a client should drop. */
export function buildIfixitGuide(seed: IfixitGuideSeed): Record<string, unknown> {
  let lineId = seed.guideid * 100;
  const steps = seed.steps.map((step, index) => ({
    stepid: seed.guideid * 100 + index,
    guideid: seed.guideid,
    revisionid: seed.guideid * 7 + index,
    orderby: index + 1,
    title: step.title,
    lines: step.lines.map((line) => {
      const l = typeof line === 'string' ? { text: line } : line;
      return {
        text_raw: l.text,
        text_rendered: escapeHtml(l.text),
        bullet: l.bullet ?? 'black',
        level: l.level ?? 0,
        lineid: lineId++,
      };
    }),
    media: {
      type: 'image',
      data: Array.from({ length: Math.min(3, step.images ?? 1) }, (_, i) =>
        imageObject(seed.guideid * 1000 + index * 3 + i),
      ),
    },
    comments: index === 0 ? comments(seed.guideid + index, 2) : [],
    comment_count: index === 0 ? 2 : 0,
  }));
  return {
    conclusion_raw: seed.conclusion ?? '',
    conclusion_rendered: seed.conclusion ? `<p>${escapeHtml(seed.conclusion)}</p>` : '',
    difficulty: seed.difficulty,
    documents: [],
    flags: ['GUIDE_STARRED'],
    guideid: seed.guideid,
    image: imageObject(seed.guideid),
    introduction_raw: seed.introduction,
    introduction_rendered: seed.introduction
      .split('\n\n')
      .map((p) => `<p>${escapeHtml(p)}</p>`)
      .join(''),
    featured_document_embed_url: null,
    featured_document_thumbnail_url: null,
    locale: 'en',
    parts: seed.parts.map((p) => item(p, 'parts')),
    prerequisites: [],
    steps,
    subject: seed.subject,
    summary: seed.summary,
    time_required: seed.timeRequired,
    time_required_min: seed.timeRequiredMin,
    time_required_max: seed.timeRequiredMax,
    title: seed.title,
    tools: seed.tools.map((t) => item(t, 'tools')),
    type: seed.type,
    revisionid: seed.guideid * 3,
    created_date: 1_600_000_000,
    published_date: 1_600_000_000,
    modified_date: 1_700_000_000,
    prereq_modified_date: 0,
    public: true,
    comments: comments(seed.guideid, 6),
    category: seed.category,
    url: guideUrl(seed),
    patrol_threshold: 0,
    can_edit: false,
    favorited: false,
    author,
    langid: 'en',
    available_langids: ['en', 'de', 'fr', 'es', 'it', 'ja'],
    featured_documentid: null,
    intro_video_url: null,
    intro_video: null,
    completed: false,
  };
}

/** A device page hit; `/search` without a working filter and `/suggest` mix these in with guides. */
export function buildIfixitWikiResult(category: string, wikiid: number): Record<string, unknown> {
  return {
    dataType: 'wiki',
    wikiid,
    namespace: 'CATEGORY',
    langid: 'en',
    title: category,
    display_title: category,
    summary: `Repair guides and support for the ${category}.`,
    text: `The ${category} can be identified by its model number. `.repeat(4),
    url: deviceUrl(category),
    modified_date: 1_700_000_000,
    author,
    image: imageObject(wikiid),
  };
}

/** Answers-forum hit: another type a client must skip. */
export function buildIfixitQuestionResult(category: string, postid: number): Record<string, unknown> {
  return {
    dataType: 'question',
    postid,
    langid: 'en',
    title: `Why does my ${category} keep doing this?`,
    raw_text: 'It started after I dropped it. Any ideas?',
    url: `https://www.ifixit.com/Answers/View/${postid}/Why+does+my+${encodeURIComponent(category)}`,
    username: 'someone',
    date: 1_700_000_000,
    answer_count: 2,
    accepted_answerid: null,
  };
}

/** Older-style device hit; kept so clients filter on `dataType === 'guide'` rather than excluding known types. */
export function buildIfixitDeviceResult(category: string): Record<string, unknown> {
  return {
    dataType: 'device',
    title: category,
    display_title: category,
    url: deviceUrl(category),
    image: imageObject(category.length * 7919),
  };
}
