import { defaultIfixitCatalogue, type IfixitGuideSeed } from './ifixit-catalogue';
import {
  buildIfixitDeviceResult,
  buildIfixitGuide,
  buildIfixitGuideSummary,
  buildIfixitQuestionResult,
  buildIfixitWikiResult,
} from './ifixit-payloads';
import { searchCatalogue } from './ifixit-search';
import { queryOf, readBodyText, sendJson, sleep, type RecordedRequest } from './http-io';
import { startHttpServer, toFakeServer, type FakeServer } from './http-server';

export interface FakeIfixitOptions {
  /** Guides the fake knows (default `defaultIfixitCatalogue`). */
  guides?: readonly IfixitGuideSeed[];
  /** `/search/…` answers 404 `{"message":"Endpoint not found"}` so clients must fall back to `/suggest`. */
  searchReturns404?: boolean;
  /** The first n requests (any endpoint) get 429 with `Retry-After: 0`. */
  rateLimitFirst?: number;
  /** Delay before every response, for client timeout tests. */
  hangMs?: number;
  /** Every request gets 500. */
  failWith500?: boolean;
  /**
   * Default `true`: search results also contain wiki/device/question hits even with
   * `filter=guide`, so a client must filter on `dataType` itself.
   */
  mixedResults?: boolean;
}

export interface FakeIfixit extends FakeServer<RecordedRequest> {
  /** `${url}/api/2.0` — the value for IFIXIT_API_URL. */
  readonly apiUrl: string;
  /** Changes behaviour mid-test (e.g. start failing after the first successful call). */
  configure(options: Partial<FakeIfixitOptions>): void;
}

/** Path segment as iFixit reads it: `+` and `%20` both mean a space. */
const decodeQuery = (segment: string): string => decodeURIComponent(segment.replace(/\+/g, ' '));

function searchResults(guides: IfixitGuideSeed[], mixed: boolean): Array<Record<string, unknown>> {
  const summaries = guides.map(buildIfixitGuideSummary);
  const first = guides[0];
  if (!mixed || !first) return summaries;
  // A device page first and Q&A last, as real unfiltered results interleave them.
  return [
    buildIfixitWikiResult(first.category, first.guideid + 1),
    ...summaries,
    buildIfixitDeviceResult(first.category),
    buildIfixitQuestionResult(first.category, first.guideid + 2),
  ];
}

/**
 * Mimics the parts of iFixit API 2.0 the assistant uses: `/search/{q}`, `/suggest/{q}` and
 * `/guides/{id}` under `/api/2.0`. Unknown routes 404 like the real API.
 */
export async function startFakeIfixit(options: FakeIfixitOptions = {}): Promise<FakeIfixit> {
  const config: FakeIfixitOptions = { ...options };
  const requests: RecordedRequest[] = [];
  let served = 0;

  const handle = await startHttpServer(async ({ req, res, url, signal }) => {
    await readBodyText(req);
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: queryOf(url),
      headers: req.headers,
    });
    const count = served++;
    if (config.hangMs && !(await sleep(config.hangMs, signal))) return;
    if (count < (config.rateLimitFirst ?? 0)) {
      return sendJson(res, 429, { error: true, message: 'Too Many Requests' }, { 'retry-after': '0' });
    }
    if (config.failWith500) return sendJson(res, 500, { error: true, message: 'Internal Server Error' });
    if (req.method !== 'GET') return sendJson(res, 405, { error: true, message: 'Method not allowed' });

    const catalogue = config.guides ?? defaultIfixitCatalogue;
    const route = /^\/api\/2\.0\/(search|suggest|guides)\/([^/]+)\/?$/.exec(url.pathname);
    if (!route) return sendJson(res, 404, { message: 'Endpoint not found' });
    const endpoint = route[1]!;
    const arg = route[2]!;

    if (endpoint === 'guides') {
      const seed = /^\d+$/.test(arg) ? catalogue.find((g) => g.guideid === Number(arg)) : undefined;
      if (!seed) return sendJson(res, 404, { error: true, message: 'Guide not found' });
      return sendJson(res, 200, buildIfixitGuide(seed));
    }

    const query = decodeQuery(arg);
    const matches = searchCatalogue(catalogue, query);
    if (endpoint === 'search') {
      if (config.searchReturns404) return sendJson(res, 404, { message: 'Endpoint not found' });
      const all = searchResults(matches, config.mixedResults !== false);
      const limit = Math.min(100, Math.max(1, Number(url.searchParams.get('limit') ?? 20) || 20));
      const offset = Math.max(0, Number(url.searchParams.get('offset') ?? 0) || 0);
      return sendJson(res, 200, {
        search: query,
        offset,
        limit,
        totalResults: all.length,
        moreResults: offset + limit < all.length,
        results: all.slice(offset, offset + limit),
      });
    }

    // /suggest: doctypes device/category/topic are aliases for device pages; guide for guides.
    const doctypes = (url.searchParams.get('doctypes') ?? 'all').split(',').map((d) => d.trim());
    const wantGuides = doctypes.includes('guide') || doctypes.includes('all');
    const wantTopics = ['device', 'category', 'topic', 'all'].some((d) => doctypes.includes(d));
    if (!wantGuides && !wantTopics)
      return sendJson(res, 400, { error: true, message: 'No valid doctypes specified' });
    const results: Array<Record<string, unknown>> = [];
    if (wantTopics) {
      for (const category of new Set(matches.map((g) => g.category)))
        results.push(buildIfixitWikiResult(category, category.length * 104_729));
    }
    if (wantGuides) results.push(...matches.map(buildIfixitGuideSummary));
    return sendJson(res, 200, { query, results: results.slice(0, 10) });
  });

  return toFakeServer(handle, requests, {
    apiUrl: `${handle.url}/api/2.0`,
    configure: (next: Partial<FakeIfixitOptions>) => void Object.assign(config, next),
  });
}
