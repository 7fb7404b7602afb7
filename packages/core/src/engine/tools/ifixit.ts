import type { Source } from '../../db/schema';
import { fetchJson, HttpStatusError } from './http-json';
import { stringArg, type Tool } from './tool';

interface IfixitOptions {
  baseUrl: string;
  userAgent: string;
}

interface SearchResult {
  dataType?: string;
  guideid?: number;
  title?: string;
  url?: string;
  category?: string;
  subject?: string;
  type?: string;
  difficulty?: string;
  time_required?: string;
  time_required_min?: number;
  time_required_max?: number;
  summary?: string;
}

interface GuideDetail {
  guideid?: number;
  title?: string;
  url?: string;
  category?: string;
  subject?: string;
  difficulty?: string;
  time_required?: string;
  time_required_min?: number;
  time_required_max?: number;
  introduction_raw?: string;
  tools?: { text?: string }[];
  parts?: { text?: string }[];
  steps?: { orderby?: number; title?: string; lines?: { text_raw?: string; level?: number }[] }[];
}

/** What `search_ifixit_guides` tells the model about each guide it found. */
export interface ProjectedGuideSummary {
  guideid?: number;
  title?: string;
  url?: string;
  subject?: string;
  difficulty?: string;
  time_required?: string;
  summary?: string;
}

/** What `get_ifixit_guide` tells the model about one guide. */
export interface ProjectedGuide {
  guideid?: number;
  title?: string;
  url?: string;
  difficulty?: string;
  time_required?: string;
  introduction?: string;
  tools: string[];
  parts: string[];
  steps: { step: number; title?: string | undefined; lines: string[] }[];
}

export const SEARCH_IFIXIT_GUIDES = 'search_ifixit_guides';
export const GET_IFIXIT_GUIDE = 'get_ifixit_guide';

const MAX_GUIDES = 5;
const MAX_GUIDE_CHARS = 6000;

/** Repair guides from iFixit's public API v2.0, projected to what a model needs to answer and cite. */
export function ifixitTools(options: IfixitOptions): Tool[] {
  const base = options.baseUrl.replace(/\/+$/, '');
  return [
    {
      status: '🔍 Searching iFixit...',
      definition: {
        type: 'function',
        function: {
          name: SEARCH_IFIXIT_GUIDES,
          description:
            'Search iFixit for step-by-step repair guides. Use for any repair, teardown or replacement question. Returns guide ids, titles and URLs.',
          parameters: {
            type: 'object',
            properties: { query: { type: 'string', description: 'Device and problem, e.g. "iPhone 12 screen replacement"' } },
            required: ['query'],
          },
        },
      },
      run: async (args, signal) => {
        const guides = await searchGuides(base, stringArg(args, 'query'), options.userAgent, signal);
        if (guides.length === 0) return { result: 'No iFixit guides matched this query.', sources: [] };
        return {
          result: JSON.stringify({
            guides: guides.map((g): ProjectedGuideSummary => ({
              guideid: g.guideid,
              title: g.title,
              url: g.url,
              subject: g.subject,
              difficulty: g.difficulty,
              time_required: g.time_required,
              summary: g.summary?.slice(0, 240),
            })),
            hint: 'Call get_ifixit_guide with a guideid for its steps, tools and parts. Cite guides by title and URL.',
          }),
          sources: guides.map(toSource),
        };
      },
    },
    {
      status: '📖 Reading the iFixit guide...',
      definition: {
        type: 'function',
        function: {
          name: GET_IFIXIT_GUIDE,
          description: 'Fetch one iFixit guide: its tools, parts and numbered steps.',
          parameters: {
            type: 'object',
            properties: { guideid: { type: 'integer', description: 'guideid from search_ifixit_guides' } },
            required: ['guideid'],
          },
        },
      },
      run: async (args, signal) => {
        const id = Number(args.guideid);
        if (!Number.isInteger(id) || id <= 0) throw new Error('argument "guideid" must be a positive integer');
        const guide = (await fetchJson(`${base}/guides/${id}`, { signal, userAgent: options.userAgent })) as GuideDetail;
        return { result: projectGuide(guide), sources: guide.title && guide.url ? [toSource(guide)] : [] };
      },
    },
  ];
}

async function searchGuides(base: string, query: string, userAgent: string, signal: AbortSignal): Promise<SearchResult[]> {
  const q = encodeURIComponent(query);
  let body: unknown;
  try {
    body = await fetchJson(`${base}/search/${q}?filter=guide&limit=${MAX_GUIDES}`, { signal, userAgent });
  } catch (error) {
    // Some deployments answer 404 for search; suggest covers the same guides.
    if (!(error instanceof HttpStatusError && error.status === 404)) throw error;
    body = await fetchJson(`${base}/suggest/${q}?doctypes=guide`, { signal, userAgent });
  }
  const results = (body as { results?: SearchResult[] }).results ?? [];
  return results
    .filter((r) => r.dataType === 'guide' && typeof r.guideid === 'number' && r.title && r.url)
    .slice(0, MAX_GUIDES);
}

function projectGuide(guide: GuideDetail): string {
  const steps = (guide.steps ?? []).map((step, index) => ({
    step: step.orderby ?? index + 1,
    title: step.title || undefined,
    lines: (step.lines ?? []).map((line) => line.text_raw ?? '').filter(Boolean),
  }));
  const projected: ProjectedGuide = {
    guideid: guide.guideid,
    title: guide.title,
    url: guide.url,
    difficulty: guide.difficulty,
    time_required: guide.time_required,
    introduction: guide.introduction_raw?.slice(0, 500),
    tools: (guide.tools ?? []).map((t) => t.text ?? '').filter(Boolean),
    parts: (guide.parts ?? []).map((p) => p.text ?? '').filter(Boolean),
    steps,
  };
  let text = JSON.stringify(projected);
  while (text.length > MAX_GUIDE_CHARS && projected.steps.length > 1) {
    projected.steps.pop();
    text = JSON.stringify({ ...projected, truncated: 'later steps omitted; link the guide URL for the rest' });
  }
  return text.slice(0, MAX_GUIDE_CHARS);
}

/**
 * A guide as a source card: besides its link, what a reader weighs before opening it. The search API may give
 * the time only in seconds, so it is worded here the way iFixit words it.
 */
function toSource(item: SearchResult | GuideDetail): Source {
  const source: Source = { kind: 'ifixit', title: item.title ?? 'iFixit guide', url: item.url ?? 'https://www.ifixit.com' };
  const time = item.time_required || describeSeconds(item.time_required_min, item.time_required_max);
  if (item.category) source.device = item.category;
  if (item.subject) source.subject = item.subject;
  if (item.difficulty) source.difficulty = item.difficulty;
  if (time) source.time_required = time;
  return source;
}

/** `1 - 2 hours`, `15 - 30 minutes`, or `up to 2 hours` when only the upper bound is known. */
function describeSeconds(min: number | undefined, max: number | undefined): string | undefined {
  if (typeof max !== 'number' || !(max > 0)) return undefined;
  const [size, unit] = max >= 3600 ? [3600, 'hour'] : [60, 'minute'];
  const amount = (seconds: number) => String(Math.round((seconds / size) * 10) / 10);
  const upper = amount(max);
  if (typeof min === 'number' && min > 0 && min < max) return `${amount(min)} - ${upper} ${unit}s`;
  return `up to ${upper} ${unit}${upper === '1' ? '' : 's'}`;
}

/** The guides a `search_ifixit_guides` result told the model about; none when it found none. */
export function readSearchProjection(result: string): ProjectedGuideSummary[] {
  const parsed = parseObject(result);
  return Array.isArray(parsed?.guides) ? (parsed.guides as ProjectedGuideSummary[]) : [];
}

/** The guide a `get_ifixit_guide` result told the model about; undefined when it is not one (cut short). */
export function readGuideProjection(result: string): ProjectedGuide | undefined {
  const parsed = parseObject(result);
  return Array.isArray(parsed?.steps) ? (parsed as unknown as ProjectedGuide) : undefined;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
