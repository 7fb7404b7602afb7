import { createServer as createNetServer } from 'node:net';
import { countTokens, type TurnEvent } from '@fixthread/core';
import { testDrivers } from '@fixthread/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_REPLY, startHarness, type Harness } from './support/harness';
import { BodyReader, request, streamChat, type StreamEvent } from './support/http';
import { connect, streamViaTrpc } from './support/trpc';

const METRICS_TOKEN = 'scrape-me-0123456789abcdef';

/** Prometheus text exposition, one sample per line: `name{label="value",…} number`. */
type Samples = Map<string, number>;

function parseExposition(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
    samples.set(key(match[1]!, labels), Number(match[3]));
  }
  return samples;
}

function key(name: string, labels: Record<string, string> = {}): string {
  const sorted = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return `${name}{${sorted.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}

function sample(samples: Samples, name: string, labels?: Record<string, string>): number {
  const value = samples.get(key(name, labels));
  if (value === undefined) throw new Error(`no sample ${key(name, labels)}`);
  return value;
}

function tokensOf(events: (TurnEvent | StreamEvent)[]): string {
  return events.map((e) => (e.type === 'token' ? e.content : '')).join('');
}

function doneOf(events: (TurnEvent | StreamEvent)[]) {
  const done = events.at(-1);
  if (done?.type !== 'done') throw new Error(`the turn did not end with done: ${JSON.stringify(done)}`);
  return done;
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each(testDrivers())('/metrics on $name', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver, { env: { METRICS_TOKEN } });
  });
  afterAll(() => h.close());

  const scrapeText = async () => {
    const response = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return response.text();
  };
  const scrape = async () => parseExposition(await scrapeText());

  it('counts turns over REST and tRPC: outcomes, time to first token, tokens streamed, usage as reported', async () => {
    const before = await scrape();

    h.openai.enqueue(
      {
        toolCalls: [{ name: 'search_ifixit_guides', arguments: JSON.stringify({ query: 'iPhone screen' }) }],
        usage: { prompt_tokens: 120, completion_tokens: 15 },
      },
      { text: FAKE_REPLY, usage: { prompt_tokens: 210, completion_tokens: 14 } },
    );
    const rest = await streamChat(h.url, await h.token('m-rest'), 'My iPhone screen cracked');
    expect(rest.events[0]).toMatchObject({ type: 'status' });
    expect(tokensOf(rest.events)).toBe(FAKE_REPLY);
    expect(doneOf(rest.events).usage).toEqual({ total_tokens: 135 + 224, estimated: false });

    const reply = 'Hold the power button for ten seconds, then let go.';
    h.openai.enqueue({ text: reply, usage: { prompt_tokens: 50, completion_tokens: 12 } });
    const client = connect(h.url, await h.token('m-trpc'));
    let during: Samples;
    try {
      const ws = await streamViaTrpc(client, 'It will not turn on');
      expect(ws.error).toBeUndefined();
      expect(tokensOf(ws.events)).toBe(reply);
      during = await scrape();
    } finally {
      await client.close();
    }

    // One turn whose provider sends no usage: charged as the tokenizer estimates it.
    h.openai.enqueue({ text: 'No usage from this provider.', usage: 'none' });
    const unreported = await streamChat(h.url, await h.token('m-estimated'), 'Estimate me');
    const estimated = doneOf(unreported.events).usage;
    expect(estimated.estimated).toBe(true);

    const after = await scrape();
    const moved = (name: string, labels?: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(moved('fixthread_turns_total', { outcome: 'completed' })).toBe(3);
    expect(moved('fixthread_turns_total', { outcome: 'failed' })).toBe(0);
    expect(moved('fixthread_turn_time_to_first_token_seconds_count')).toBe(3);
    expect(moved('fixthread_turn_time_to_first_token_seconds_sum')).toBeGreaterThan(0);
    expect(moved('fixthread_turn_duration_seconds_count', { outcome: 'completed' })).toBe(3);
    const received = [tokensOf(rest.events), reply, tokensOf(unreported.events)];
    expect(moved('fixthread_streamed_tokens_total')).toBe(received.reduce((sum, text) => sum + countTokens(text), 0));
    // Exactly the fake's usage chunks: both model calls of the tool turn, and the tRPC turn's one.
    expect(moved('fixthread_usage_tokens_total', { kind: 'reported' })).toBe(135 + 224 + 62);
    expect(moved('fixthread_usage_tokens_total', { kind: 'estimated' })).toBe(estimated.total_tokens);
    expect(sample(after, 'fixthread_turns_running')).toBe(0);

    // While the tRPC client was connected its socket was counted; its subscription had already ended.
    expect(sample(during, 'fixthread_websocket_connections')).toBe(1);
    expect(sample(after, 'fixthread_websocket_connections')).toBe(0);
    expect(moved('fixthread_websocket_connections_opened_total')).toBe(1);
    expect(sample(after, 'fixthread_active_streams', { transport: 'trpc' })).toBe(0);
    expect(sample(after, 'fixthread_active_streams', { transport: 'sse' })).toBe(0);
  });

  it('counts a stopped and a failed turn by their outcome, and an SSE stream while it is open', async () => {
    const before = await scrape();
    const token = await h.token('m-outcomes');
    const slow = Array.from({ length: 60 }, (_, i) => `step${i}`).join(' ');
    h.openai.enqueue({ text: slow, delayMsBetweenChunks: 25 });
    const response = await fetch(`${h.url}/chat/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'Go slowly' }),
    });
    const reader = new BodyReader(response);
    let head = '';
    while (!head.includes('"type":"token"')) head += await reader.next();
    const streaming = await scrape();
    expect(sample(streaming, 'fixthread_active_streams', { transport: 'sse' })).toBe(1);
    expect(sample(streaming, 'fixthread_turns_running')).toBe(1);
    expect((await request(`${h.url}/chat/stop`, { token, json: {} })).status).toBe(200);
    expect(head + (await reader.rest())).toContain('"stopped":true');

    h.openai.enqueue({ error: { status: 503 } });
    const failed = await streamChat(h.url, token, 'This one fails');
    expect(failed.events.at(-1)).toMatchObject({ type: 'error', code: 'UPSTREAM_UNAVAILABLE' });

    const after = await scrape();
    const moved = (name: string, labels?: Record<string, string>) => sample(after, name, labels) - sample(before, name, labels);
    expect(moved('fixthread_turns_total', { outcome: 'stopped' })).toBe(1);
    expect(moved('fixthread_turns_total', { outcome: 'failed' })).toBe(1);
    expect(moved('fixthread_turns_total', { outcome: 'completed' })).toBe(0);
    // The failed turn never streamed, so only the stopped one had a first token.
    expect(moved('fixthread_turn_time_to_first_token_seconds_count')).toBe(1);
    expect(sample(after, 'fixthread_active_streams', { transport: 'sse' })).toBe(0);
  });

  it('reports the database pool honestly, event-loop lag, and only fixthread_ names', async () => {
    const samples = await scrape();
    const pool = { driver: driver.name };
    expect(sample(samples, 'fixthread_db_pool_max_connections', pool)).toBe(driver.name === 'pglite' ? 1 : 10);
    expect(sample(samples, 'fixthread_db_operations_in_flight', pool)).toBeGreaterThanOrEqual(0);
    expect(sample(samples, 'fixthread_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(samples, 'fixthread_process_resident_memory_bytes')).toBeGreaterThan(0);
    expect([...samples.keys()].filter((name) => !name.startsWith('fixthread_'))).toEqual([]);
  });

  it('refuses a scrape without the token or with a wrong one: 401 JSON, no metrics, nothing stored', async () => {
    const stored = (await h.messages()).length;
    const attempts: (Record<string, string> | undefined)[] = [
      undefined,
      { authorization: 'Bearer wrong-token-0123456789abcdef' },
      { authorization: `Bearer ${METRICS_TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`metrics:${METRICS_TOKEN}`).toString('base64')}` },
      { authorization: METRICS_TOKEN },
    ];
    for (const headers of attempts) {
      const response = await fetch(`${h.url}/metrics`, { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = await response.text();
      expect(JSON.parse(body)).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      expect(body).not.toContain('fixthread_');
    }
    expect((await h.messages()).length).toBe(stored);
  });
});

describe('/metrics on a separate loopback port (METRICS_PORT)', () => {
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    h = await startHarness(testDrivers()[0]!, { env: { METRICS_PORT: String(port) } });
  });
  afterAll(() => h.close());

  it('serves /metrics there without a token, and not at all on the main port', async () => {
    const scraped = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(scraped.status).toBe(200);
    const samples = parseExposition(await scraped.text());
    expect(sample(samples, 'fixthread_turns_total', { outcome: 'completed' })).toBe(0);
    expect(sample(samples, 'fixthread_db_pool_max_connections', { driver: 'pglite' })).toBe(1);

    const main = await fetch(`${h.url}/metrics`);
    expect(main.status).toBe(404);
    expect(await main.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const other = await fetch(`http://127.0.0.1:${port}/chat`, { method: 'POST', body: '{}' });
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('closes the metrics port with the server', async () => {
    await h.close();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
    h = await startHarness(testDrivers()[0]!, { env: { METRICS_PORT: String(port) } });
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
  });
});
