import { testDrivers } from '@fixthread/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_REPLY, startHarness, type Harness } from './support/harness';
import { request, streamChat } from './support/http';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/;

describe.each(testDrivers())('the design note REST/SSE contract on $name', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver);
  });
  afterAll(() => h.close());

  it('POST /chat answers {response, thread_id} and stores both messages', async () => {
    const token = await h.token('alice');
    const res = await request<{ response: string; thread_id: string }>(`${h.url}/chat`, {
      token,
      json: { message: 'How do I fix my iPhone screen?' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toEqual({ response: FAKE_REPLY, thread_id: 'user-alice' });
    const stored = (await h.messages()).filter((m) => m.userId === 'alice');
    expect(stored.map((m) => [m.role, m.content, m.threadId])).toEqual([
      ['user', 'How do I fix my iPhone screen?', 'user-alice'],
      ['assistant', FAKE_REPLY, 'user-alice'],
    ]);
  });

  it('POST /chat/stream sends `data: {json}\\n\\n` events: status, tokens, then done with thread_id', async () => {
    h.openai.enqueue(
      { toolCalls: [{ name: 'search_ifixit_guides', arguments: JSON.stringify({ query: 'iPhone screen' }) }] },
      // Spaced out so the reply arrives as several events: tokens that come faster than a database write are
      // stored, and sent, together.
      { text: FAKE_REPLY, delayMsBetweenChunks: 20 },
    );
    const result = await streamChat(h.url, await h.token('bob'), 'How do I fix my iPhone screen?');
    expect(result.status).toBe(200);
    expect(result.contentType).toMatch(/^text\/event-stream/);
    // Each event carries its durable id, the turn in base64url and the seq, which EventSource sends back as
    // Last-Event-ID.
    expect(result.raw).toMatch(/^(id: [A-Za-z0-9_-]{22}:\d+\ndata: \{[^\n]*\}\n\n)+$/);
    const frames = result.raw.split('\n\n').filter(Boolean);
    expect(frames.map((frame) => JSON.parse(frame.slice(frame.indexOf('data: ') + 'data: '.length)) as unknown)).toEqual(result.events);

    const [first, ...rest] = result.events;
    expect(first).toEqual({ type: 'status', content: expect.stringContaining('iFixit') as string });
    const done = rest.at(-1);
    expect(done).toMatchObject({ type: 'done', thread_id: 'user-bob', stopped: false });
    const tokens = rest.slice(0, -1);
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.every((e) => e.type === 'token')).toBe(true);
    expect(tokens.map((e) => (e.type === 'token' ? e.content : '')).join('')).toBe(FAKE_REPLY);
    expect(result.events.filter((e) => e.type === 'done')).toHaveLength(1);
  });

  it('GET /chat/history returns {thread_id, message_count, messages} oldest first with ISO 8601 UTC timestamps', async () => {
    const token = await h.token('carol');
    for (const message of ['first question', 'second question']) {
      expect((await request(`${h.url}/chat`, { token, json: { message } })).status).toBe(200);
    }
    const res = await request<{ thread_id: string; message_count: number; messages: { role: string; content: string; timestamp: string }[] }>(
      `${h.url}/chat/history?limit=50`,
      { token },
    );
    expect(res.status).toBe(200);
    expect(res.body.thread_id).toBe('user-carol');
    expect(res.body.message_count).toBe(4);
    expect(res.body.messages.map((m) => [m.role, m.content])).toEqual([
      ['user', 'first question'],
      ['assistant', FAKE_REPLY],
      ['user', 'second question'],
      ['assistant', FAKE_REPLY],
    ]);
    for (const message of res.body.messages) expect(message.timestamp).toMatch(ISO_UTC);
    const stamps = res.body.messages.map((m) => Date.parse(m.timestamp));
    expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);
    expect(Math.abs(Date.now() - stamps.at(-1)!)).toBeLessThan(60_000);

    const latestTwo = await request<{ message_count: number; messages: { content: string }[] }>(`${h.url}/chat/history?limit=2`, { token });
    expect(latestTwo.body.message_count).toBe(2);
    expect(latestTwo.body.messages.map((m) => m.content)).toEqual(['second question', FAKE_REPLY]);

    const byDefault = await request<{ message_count: number }>(`${h.url}/chat/history`, { token });
    expect(byDefault.body.message_count).toBe(4);
  });

  it('DELETE /chat/history answers {success, message, thread_id} and empties only that thread', async () => {
    const dave = await h.token('dave');
    const erin = await h.token('erin');
    await request(`${h.url}/chat`, { token: dave, json: { message: 'dave asks' } });
    await request(`${h.url}/chat`, { token: erin, json: { message: 'erin asks' } });
    const res = await request(`${h.url}/chat/history`, { method: 'DELETE', token: dave });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, message: 'Chat history cleared successfully', thread_id: 'user-dave' });
    const remaining = await h.messages();
    expect(remaining.filter((m) => m.userId === 'dave')).toEqual([]);
    expect(remaining.filter((m) => m.userId === 'erin')).toHaveLength(2);
  });

  it('GET /chat/sessions reports the note fields for the caller only', async () => {
    const token = await h.token('frank');
    const empty = await request(`${h.url}/chat/sessions`, { token });
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({
      user_id: 'frank',
      thread_id: 'user-frank',
      total_messages: 0,
      total_tokens: 0,
      estimated_tokens: 0,
      total_tokens_used: 0,
      session_start: null,
      last_activity: null,
      limits: { token_quota: null, daily_tokens: null, requests_per_minute: null },
    });

    await request(`${h.url}/chat`, { token, json: { message: 'hello' } });
    const res = await request<Record<string, unknown>>(`${h.url}/chat/sessions`, { token });
    const usage = (await h.usage()).find((u) => u.userId === 'frank');
    expect(usage?.totalTokens).toBeGreaterThan(0);
    expect(res.body).toEqual({
      user_id: 'frank',
      thread_id: 'user-frank',
      total_messages: 2,
      total_tokens: usage?.totalTokens,
      estimated_tokens: 0,
      total_tokens_used: usage?.totalTokens,
      session_start: expect.stringMatching(ISO_UTC) as string,
      last_activity: expect.stringMatching(ISO_UTC) as string,
      limits: { token_quota: null, daily_tokens: null, requests_per_minute: null },
    });
    expect(Date.parse(res.body.last_activity as string)).toBeGreaterThanOrEqual(Date.parse(res.body.session_start as string));
  });

  it('GET /health checks the database, names the driver, and says Redis is not in use', async () => {
    const res = await request(`${h.url}/health`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: driver.name, redis: 'disabled' });
  });

  it('every response carries a request id, and an incoming x-request-id is kept', async () => {
    const generated = await request(`${h.url}/health`);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await request(`${h.url}/health`, { headers: { 'x-request-id': 'trace-123' } });
    expect(echoed.headers.get('x-request-id')).toBe('trace-123');
  });

  it('unknown routes answer a JSON 404', async () => {
    const res = await request(`${h.url}/nope`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});
