import type { Source } from '../../db/schema';
import type { WebSearchOptions } from '../options';
import { fetchJson } from './http-json';
import { stringArg, type Tool } from './tool';

interface WebResult {
  title: string;
  url: string;
  content: string;
}

const MAX_RESULTS = 5;

/** Web search through SearXNG's JSON API or Tavily, whichever is configured. */
export function webSearchTool(options: WebSearchOptions, userAgent: string): Tool {
  return {
    status: '🌐 Searching the web...',
    definition: {
      type: 'function',
      function: {
        name: 'web_search',
        description:
          'Search the web for repair information iFixit lacks: manufacturer support pages, error codes, part numbers, recalls.',
        parameters: {
          type: 'object',
          properties: { query: { type: 'string', description: 'Search query' } },
          required: ['query'],
        },
      },
    },
    run: async (args, signal) => {
      const query = stringArg(args, 'query');
      const results = options.provider === 'searxng'
        ? await searxng(options.url, query, userAgent, signal)
        : await tavily(options.apiKey, options.url, query, userAgent, signal);
      if (results.length === 0) return { result: 'No web results.', sources: [] };
      return {
        result: JSON.stringify(results.map((r) => ({ title: r.title, url: r.url, snippet: r.content.slice(0, 400) }))),
        sources: results.map((r): Source => ({ kind: 'web', title: r.title, url: r.url })),
      };
    },
  };
}

async function searxng(base: string, query: string, userAgent: string, signal: AbortSignal): Promise<WebResult[]> {
  const url = new URL('search', base.endsWith('/') ? base : `${base}/`);
  url.searchParams.set('q', query);
  url.searchParams.set('format', 'json');
  const body = (await fetchJson(url.toString(), { signal, userAgent })) as { results?: Partial<WebResult>[] };
  return clean(body.results);
}

async function tavily(
  apiKey: string,
  base: string | undefined,
  query: string,
  userAgent: string,
  signal: AbortSignal,
): Promise<WebResult[]> {
  const url = `${(base ?? 'https://api.tavily.com').replace(/\/+$/, '')}/search`;
  const body = (await fetchJson(url, {
    signal,
    userAgent,
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}` },
    body: { query, max_results: MAX_RESULTS },
  })) as { results?: Partial<WebResult>[] };
  return clean(body.results);
}

function clean(results: Partial<WebResult>[] | undefined): WebResult[] {
  return (results ?? [])
    .filter((r): r is WebResult => typeof r.url === 'string' && typeof r.title === 'string')
    .map((r) => ({ title: r.title, url: r.url, content: typeof r.content === 'string' ? r.content : '' }))
    .slice(0, MAX_RESULTS);
}
