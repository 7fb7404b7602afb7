import { randomUUID } from 'node:crypto';
import { queryOf, readBodyText, sendJson, sleep, type RecordedRequest } from './http-io';
import { startHttpServer, toFakeServer, type FakeServer } from './http-server';

export interface TavilyResultSeed {
  title: string;
  url: string;
  content: string;
  score?: number;
}

export interface FakeTavilyOptions {
  /** When set, only this key is accepted (body `api_key` or `Authorization: Bearer`); otherwise any non-empty key. */
  apiKey?: string;
  /** Fixed results, or computed per query. Default: a handful of repair-site hits built from the query. */
  results?: readonly TavilyResultSeed[] | ((query: string) => readonly TavilyResultSeed[]);
  /** Answer text returned when the request sets `include_answer`. */
  answer?: string | ((query: string) => string);
  /** Every request fails with this status and Tavily's `{"detail":{"error":…}}` body. */
  failWith?: 400 | 401 | 429 | 432 | 433 | 500;
  hangMs?: number;
}

export interface FakeTavily extends FakeServer<RecordedRequest> {
  configure(options: Partial<FakeTavilyOptions>): void;
}

export function defaultTavilyResults(query: string): TavilyResultSeed[] {
  return [
    {
      title: `${query} - iFixit`,
      url: 'https://www.ifixit.com/Answers/View/700001/fake',
      content: `Community answer about ${query}.`,
      score: 0.91,
    },
    {
      title: `${query}: causes and fixes`,
      url: 'https://www.example-repair.com/blog/fake-article',
      content: `Common causes of ${query} and how to fix them.`,
      score: 0.84,
    },
    {
      title: `${query} | Reddit`,
      url: 'https://www.reddit.com/r/techsupport/comments/2def45/fake/',
      content: `Thread about ${query}.`,
      score: 0.62,
    },
    {
      title: `Why ${query} happens`,
      url: 'https://www.example-news.com/how-to/fake',
      content: `Explainer on ${query}.`,
      score: 0.55,
    },
    {
      title: `${query} video guide`,
      url: 'https://www.youtube.com/watch?v=fakeTavily1',
      content: `Video: ${query}.`,
      score: 0.41,
    },
    {
      title: `${query} parts`,
      url: 'https://www.example-parts.com/p/fake',
      content: `Replacement parts for ${query}.`,
      score: 0.3,
    },
  ];
}

const failureMessages: Record<number, string> = {
  400: 'Invalid request.',
  401: 'Unauthorized: missing or invalid API key.',
  429: 'Your request has been blocked due to excessive requests. Please reduce rate of requests.',
  432: "This request exceeds your plan's set usage limit. Please upgrade your plan or contact support@tavily.com",
  433: 'This request exceeds the pay-as-you-go limit. You can increase your limit on the Tavily dashboard.',
  500: 'Internal Server Error',
};

const detail = (status: number, message?: string) => ({
  detail: { error: message ?? failureMessages[status] ?? 'Error' },
});

/** Tavily's `POST /search` API. */
export async function startFakeTavily(options: FakeTavilyOptions = {}): Promise<FakeTavily> {
  const config: FakeTavilyOptions = { ...options };
  const requests: RecordedRequest[] = [];

  const handle = await startHttpServer(async ({ req, res, url, signal }) => {
    const started = performance.now();
    const text = await readBodyText(req);
    let body: unknown;
    try {
      body = text.trim() === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    requests.push({
      method: req.method ?? 'POST',
      path: url.pathname,
      query: queryOf(url),
      headers: req.headers,
      body: body ?? text,
    });
    if (config.hangMs && !(await sleep(config.hangMs, signal))) return;
    if (req.method !== 'POST' || url.pathname !== '/search')
      return sendJson(res, 404, { detail: 'Not Found' });
    if (config.failWith) return sendJson(res, config.failWith, detail(config.failWith));
    if (typeof body !== 'object' || body === null)
      return sendJson(res, 400, detail(400, 'Invalid JSON body.'));

    const b = body as Record<string, unknown>;
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const key = bearer ?? (typeof b.api_key === 'string' ? b.api_key : undefined);
    if (!key || (config.apiKey !== undefined && key !== config.apiKey))
      return sendJson(res, 401, detail(401));
    const query = typeof b.query === 'string' ? b.query : '';
    if (query.trim() === '') return sendJson(res, 400, detail(400, 'Query is missing.'));

    const maxResults = Math.min(20, Math.max(0, typeof b.max_results === 'number' ? b.max_results : 5));
    const source = config.results ?? defaultTavilyResults;
    const seeds = (typeof source === 'function' ? source(query) : source).slice(0, maxResults);
    const wantsAnswer =
      b.include_answer === true || b.include_answer === 'basic' || b.include_answer === 'advanced';
    const answer =
      typeof config.answer === 'function'
        ? config.answer(query)
        : (config.answer ?? `A short answer about ${query}.`);
    sendJson(res, 200, {
      query,
      follow_up_questions: null,
      answer: wantsAnswer ? answer : null,
      images: [],
      results: seeds.map((s, i) => ({
        url: s.url,
        title: s.title,
        content: s.content,
        score: s.score ?? Number((0.9 - i * 0.1).toFixed(2)),
        raw_content: b.include_raw_content ? `${s.title}\n\n${s.content}` : null,
      })),
      response_time: Number(((performance.now() - started) / 1000).toFixed(2)),
      request_id: randomUUID(),
    });
  });

  return toFakeServer(handle, requests, {
    configure: (next: Partial<FakeTavilyOptions>) => void Object.assign(config, next),
  });
}
