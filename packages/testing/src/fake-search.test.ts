import { describe, expect, it } from 'vitest';
import { startFakeSearxng } from './fake-searxng';
import { startFakeTavily } from './fake-tavily';

describe('fake SearXNG', () => {
  it('answers format=json with the SearXNG shape and records the request', async () => {
    await using searx = await startFakeSearxng();
    const res = await fetch(`${searx.url}/search?q=${encodeURIComponent('ps5 no hdmi signal')}&format=json`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      query: string;
      number_of_results: number;
      results: Array<Record<string, unknown>>;
    };
    expect(body).toMatchObject({
      query: 'ps5 no hdmi signal',
      answers: [],
      suggestions: expect.any(Array) as unknown,
    });
    expect(body.results.length).toBe(3);
    expect(body.results[0]).toMatchObject({ engine: 'duckduckgo', score: 1, category: 'general' });
    expect(body.results[0]).toHaveProperty('url');
    expect(body.results[0]).toHaveProperty('title');
    expect(body.results[0]).toHaveProperty('content');
    expect(searx.requests[0]).toMatchObject({
      path: '/search',
      query: { q: 'ps5 no hdmi signal', format: 'json' },
    });
  });

  it('uses scripted results and mimics json-disabled instances', async () => {
    await using searx = await startFakeSearxng({
      results: [{ url: 'https://a.example/x', title: 'A', content: 'a' }],
    });
    const ok = (await (await fetch(`${searx.url}/search?q=x&format=json`)).json()) as { results: unknown[] };
    expect(ok.results).toHaveLength(1);
    searx.configure({ jsonDisabled: true });
    expect((await fetch(`${searx.url}/search?q=x&format=json`)).status).toBe(403);
  });
});

describe('fake Tavily', () => {
  const search = (url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}/search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('accepts api_key in the body or a Bearer header and honours max_results/include_answer', async () => {
    await using tavily = await startFakeTavily({ apiKey: 'tvly-test' });
    const a = await search(tavily.url, {
      api_key: 'tvly-test',
      query: 'iphone 12 screen flicker',
      max_results: 2,
      include_answer: true,
    });
    expect(a.status).toBe(200);
    const body = (await a.json()) as {
      query: string;
      answer: string | null;
      results: Array<Record<string, unknown>>;
      response_time: number;
    };
    expect(body.query).toBe('iphone 12 screen flicker');
    expect(body.answer).toEqual(expect.any(String));
    expect(body.results).toHaveLength(2);
    expect(Object.keys(body.results[0]!)).toEqual(
      expect.arrayContaining(['title', 'url', 'content', 'score']),
    );
    expect(body.response_time).toEqual(expect.any(Number));

    const b = await search(tavily.url, { query: 'x' }, { authorization: 'Bearer tvly-test' });
    expect((await b.json()) as { answer: unknown; results: unknown[] }).toMatchObject({
      answer: null,
      results: expect.any(Array) as unknown,
    });
    expect(tavily.requests[1]).toMatchObject({
      method: 'POST',
      body: { query: 'x' },
      headers: { authorization: 'Bearer tvly-test' },
    });
  });

  it('rejects bad keys and missing queries with Tavily error bodies', async () => {
    await using tavily = await startFakeTavily({ apiKey: 'tvly-test' });
    const unauthorised = await search(tavily.url, { api_key: 'nope', query: 'x' });
    expect(unauthorised.status).toBe(401);
    expect(await unauthorised.json()).toEqual({
      detail: { error: 'Unauthorized: missing or invalid API key.' },
    });
    expect((await search(tavily.url, { api_key: 'tvly-test' })).status).toBe(400);
    tavily.configure({ failWith: 429 });
    expect((await search(tavily.url, { api_key: 'tvly-test', query: 'x' })).status).toBe(429);
  });
});
