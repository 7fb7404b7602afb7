import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeIfixit, type FakeIfixit } from './fake-ifixit';
import { defaultIfixitCatalogue } from './ifixit-catalogue';

let fake: FakeIfixit;
beforeEach(async () => {
  fake = await startFakeIfixit();
});
afterEach(() => fake.close());

interface SearchBody {
  search: string;
  totalResults: number;
  moreResults: boolean;
  results: Array<Record<string, unknown>>;
}

const get = async (path: string, init?: RequestInit) => {
  const res = await fetch(`${fake.apiUrl}${path}`, {
    headers: { 'user-agent': 'FixThread-test/1.0' },
    ...init,
  });
  const body: unknown = await res.json();
  return { res, body };
};

describe('search', () => {
  it('returns guide summaries mixed with non-guide results', async () => {
    const { res, body } = await get('/search/iPhone%2012%20cracked%20screen?filter=guide&limit=10');
    expect(res.status).toBe(200);
    const search = body as SearchBody;
    expect(search.search).toBe('iPhone 12 cracked screen');
    const types = search.results.map((r) => r.dataType);
    expect(types[0]).toBe('wiki');
    expect(types).toEqual(expect.arrayContaining(['guide', 'wiki', 'device', 'question']));
    const guides = search.results.filter((r) => r.dataType === 'guide');
    expect(guides[0]).toMatchObject({
      guideid: 139184,
      title: 'iPhone 12 Screen Replacement',
      url: 'https://www.ifixit.com/Guide/iPhone+12+Screen+Replacement/139184',
      subject: 'Screen',
      category: 'iPhone 12',
      type: 'replacement',
      difficulty: 'Moderate',
      time_required_max: 7200,
    });
    expect(guides[0]).toHaveProperty('image.thumbnail');
    expect(guides[0]).not.toHaveProperty('steps');
    expect(search.totalResults).toBe(search.results.length);
  });

  it('ranks, pages with limit/offset and finds nothing for nonsense', async () => {
    const page = (await get('/search/ps5+hdmi?filter=guide&limit=2')).body as SearchBody;
    expect(page.results).toHaveLength(2);
    expect(page.moreResults).toBe(true);
    expect(page.results[1]).toMatchObject({ dataType: 'guide', guideid: 143570 });

    const plain = await startFakeIfixit({ mixedResults: false });
    try {
      const res = await fetch(`${plain.apiUrl}/search/macbook%20battery?filter=guide`);
      const body = (await res.json()) as SearchBody;
      expect(body.results.map((r) => r.title)[0]).toBe('MacBook Air 13" Late 2020 Battery Replacement');
      expect(body.results.every((r) => r.dataType === 'guide')).toBe(true);
    } finally {
      await plain.close();
    }

    const none = (await get('/search/xyzzy%20frobnicator?filter=guide')).body as SearchBody;
    expect(none).toMatchObject({ totalResults: 0, moreResults: false, results: [] });
  });

  it('can 404 the search endpoint so clients fall back to suggest', async () => {
    fake.configure({ searchReturns404: true });
    const { res, body } = await get('/search/ps5%20hdmi?filter=guide');
    expect(res.status).toBe(404);
    expect(body).toEqual({ message: 'Endpoint not found' });

    const suggest = await get('/suggest/ps5%20hdmi?doctypes=guide');
    expect(suggest.res.status).toBe(200);
    expect(suggest.body).toMatchObject({
      query: 'ps5 hdmi',
      results: [{ dataType: 'guide', guideid: 143570 }],
    });
  });
});

describe('suggest', () => {
  it('mixes device pages and guides by default and rejects invalid doctypes', async () => {
    const { body } = await get('/suggest/joy-con%20drift');
    const results = (body as { results: Array<Record<string, unknown>> }).results;
    expect(results.map((r) => r.dataType)).toEqual(['wiki', 'guide']);
    expect(results[0]).toMatchObject({ namespace: 'CATEGORY', title: 'Nintendo Switch' });
    const bad = await get('/suggest/x?doctypes=bogus');
    expect(bad.res.status).toBe(400);
  });
});

describe('guides', () => {
  it('returns a full guide with the heavy fields a client should drop', async () => {
    const { res, body } = await get('/guides/143570');
    expect(res.status).toBe(200);
    const guide = body as Record<string, unknown> & {
      steps: Array<Record<string, unknown>>;
      tools: unknown[];
    };
    expect(guide).toMatchObject({
      guideid: 143570,
      title: 'PlayStation 5 HDMI Port Replacement',
      difficulty: 'Very difficult',
      time_required: '2 - 3 hours',
      introduction_raw: expect.stringContaining('no signal') as unknown,
    });
    expect(guide.tools[0]).toMatchObject({
      text: 'Phillips #1 Screwdriver',
      url: expect.stringMatching(/^https:\/\/www\.ifixit\.com\/products\//) as unknown,
    });
    expect(guide.steps[2]).toMatchObject({
      orderby: 3,
      title: 'Remove the motherboard',
      lines: [
        { text_raw: 'Disconnect the fan, power supply and optical drive cables.', bullet: 'black', level: 0 },
        { bullet: 'red' },
      ],
      media: { type: 'image' },
    });
    expect(JSON.stringify(body).length).toBeGreaterThan(10_000);
    expect(guide).toHaveProperty('author.username');
    expect(guide).toHaveProperty('comments');
  });

  it('404s unknown guides and unknown endpoints', async () => {
    expect((await get('/guides/1')).res.status).toBe(404);
    expect((await get('/categories/iPhone/guides')).body).toEqual({ message: 'Endpoint not found' });
  });

  it('serves every catalogue guide', async () => {
    for (const seed of defaultIfixitCatalogue) {
      const { body } = await get(`/guides/${seed.guideid}`);
      expect((body as { steps: unknown[] }).steps).toHaveLength(seed.steps.length);
    }
  });
});

describe('failure modes and recording', () => {
  it('rate-limits the first n requests with Retry-After: 0', async () => {
    fake.configure({ rateLimitFirst: 2 });
    const first = await get('/guides/139184');
    expect(first.res.status).toBe(429);
    expect(first.res.headers.get('retry-after')).toBe('0');
    expect((await get('/guides/139184')).res.status).toBe(429);
    expect((await get('/guides/139184')).res.status).toBe(200);
  });

  it('fails with 500 and hangs on demand', async () => {
    fake.configure({ failWith500: true });
    expect((await get('/guides/139184')).res.status).toBe(500);
    fake.configure({ failWith500: false, hangMs: 5_000 });
    await expect(
      fetch(`${fake.apiUrl}/guides/139184`, { signal: AbortSignal.timeout(100) }),
    ).rejects.toThrow();
  });

  it('records method, path, query and headers', async () => {
    await get('/search/iPhone%2012?filter=guide&limit=5');
    expect(fake.requests[0]).toMatchObject({
      method: 'GET',
      path: '/api/2.0/search/iPhone%2012',
      query: { filter: 'guide', limit: '5' },
      headers: { 'user-agent': 'FixThread-test/1.0' },
    });
  });
});
