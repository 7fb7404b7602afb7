import { queryOf, readBodyText, sendJson, sleep, type RecordedRequest } from './http-io';
import { startHttpServer, toFakeServer, type FakeServer } from './http-server';

export interface SearxngResultSeed {
  url: string;
  title: string;
  content: string;
  engine?: string;
  score?: number;
  publishedDate?: string | null;
}

export interface FakeSearxngOptions {
  /** Fixed results, or computed per query. Default: three plausible forum/video hits built from the query. */
  results?: readonly SearxngResultSeed[] | ((query: string) => readonly SearxngResultSeed[]);
  /** Answer 403 to `format=json`, as a stock SearXNG does until `json` is added to `search.formats`. */
  jsonDisabled?: boolean;
  failWith500?: boolean;
  hangMs?: number;
}

export interface FakeSearxng extends FakeServer<RecordedRequest> {
  configure(options: Partial<FakeSearxngOptions>): void;
}

const slugOf = (q: string): string =>
  q
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

export function defaultSearxngResults(query: string): SearxngResultSeed[] {
  const s = slugOf(query);
  return [
    {
      url: `https://www.reddit.com/r/fixit/comments/1abc23/${s}/`,
      title: `${query} — r/fixit`,
      content: `I had the same issue (${query}). Reseating the connector fixed it for me.`,
      engine: 'duckduckgo',
    },
    {
      url: `https://forums.macrumors.com/threads/${s}.2400001/`,
      title: `${query} | MacRumors Forums`,
      content: `Thread discussing ${query}, with photos of the teardown.`,
      engine: 'bing',
    },
    {
      url: `https://www.youtube.com/watch?v=fake${s.slice(0, 6)}`,
      title: `How to: ${query} (step by step)`,
      content: `Video walkthrough of ${query}.`,
      engine: 'youtube',
      publishedDate: '2024-03-01T00:00:00',
    },
  ];
}

function wireResult(seed: SearxngResultSeed, index: number): Record<string, unknown> {
  const parsed = new URL(seed.url);
  const engine = seed.engine ?? 'duckduckgo';
  return {
    url: seed.url,
    title: seed.title,
    content: seed.content,
    engine,
    template: 'default.html',
    parsed_url: [
      parsed.protocol.replace(':', ''),
      parsed.host,
      parsed.pathname,
      '',
      parsed.search.replace('?', ''),
      '',
    ],
    img_src: '',
    thumbnail: '',
    priority: '',
    engines: [engine],
    positions: [index + 1],
    score: seed.score ?? Number((1 / (index + 1)).toFixed(3)),
    category: 'general',
    publishedDate: seed.publishedDate ?? null,
  };
}

/** SearXNG's `GET /search?q=…&format=json` API. */
export async function startFakeSearxng(options: FakeSearxngOptions = {}): Promise<FakeSearxng> {
  const config: FakeSearxngOptions = { ...options };
  const requests: RecordedRequest[] = [];

  const handle = await startHttpServer(async ({ req, res, url, signal }) => {
    await readBodyText(req);
    requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      query: queryOf(url),
      headers: req.headers,
    });
    if (config.hangMs && !(await sleep(config.hangMs, signal))) return;
    if (config.failWith500) {
      res
        .writeHead(500, { 'content-type': 'text/html; charset=utf-8' })
        .end('<h1>Internal Server Error</h1>');
      return;
    }
    if (url.pathname !== '/search') {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end('<h1>Not Found</h1>');
      return;
    }
    const format = url.searchParams.get('format') ?? 'html';
    if (format === 'json' && config.jsonDisabled) {
      res.writeHead(403, { 'content-type': 'text/html; charset=utf-8' }).end('<h1>Forbidden</h1>');
      return;
    }
    const query = url.searchParams.get('q') ?? '';
    if (format !== 'json') {
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end(`<!DOCTYPE html><title>${query} - SearXNG</title>`);
      return;
    }
    if (query.trim() === '') return sendJson(res, 400, { error: 'search error: empty query' });
    const source = config.results ?? defaultSearxngResults;
    const seeds = typeof source === 'function' ? source(query) : source;
    const results = seeds.map(wireResult);
    sendJson(res, 200, {
      query,
      number_of_results: results.length,
      results,
      answers: [],
      corrections: [],
      infoboxes: [],
      suggestions: [`${query} fix`, `${query} replacement`],
      unresponsive_engines: [],
    });
  });

  return toFakeServer(handle, requests, {
    configure: (next: Partial<FakeSearxngOptions>) => void Object.assign(config, next),
  });
}
