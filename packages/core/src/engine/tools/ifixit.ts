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
  subject?: string;
  type?: string;
  difficulty?: string;
  time_required?: string;
  summary?: string;
}

interface GuideDetail {
  guideid?: number;
  title?: string;
  url?: string;
  difficulty?: string;
  time_required?: string;
  introduction_raw?: string;
  tools?: { text?: string }[];
  parts?: { text?: string }[];
  steps?: { orderby?: number; title?: string; lines?: { text_raw?: string; level?: number }[] }[];
}

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
          name: 'search_ifixit_guides',
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
            guides: guides.map((g) => ({
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
          name: 'get_ifixit_guide',
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
  const projected = {
    guideid: guide.guideid,
    title: guide.title,
    url: guide.url,
    difficulty: guide.difficulty,
    time_required: guide.time_required,
    introduction: guide.introduction_raw?.slice(0, 500),
    tools: (guide.tools ?? []).map((t) => t.text).filter(Boolean),
    parts: (guide.parts ?? []).map((p) => p.text).filter(Boolean),
    steps,
  };
  let text = JSON.stringify(projected);
  while (text.length > MAX_GUIDE_CHARS && projected.steps.length > 1) {
    projected.steps.pop();
    text = JSON.stringify({ ...projected, truncated: 'later steps omitted; link the guide URL for the rest' });
  }
  return text.slice(0, MAX_GUIDE_CHARS);
}

function toSource(item: { title?: string; url?: string }): Source {
  return { kind: 'ifixit', title: item.title ?? 'iFixit guide', url: item.url ?? 'https://www.ifixit.com' };
}
