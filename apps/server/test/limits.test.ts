import { nextUtcMidnight, type SessionStats } from '@fixthread/core';
import { testDrivers, type TestDatabase } from '@fixthread/core/testing';
import { createTRPCClient, createWSClient, TRPCClientError, wsLink } from '@trpc/client';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../src/client';
import { startHarness, type Harness } from './support/harness';
import { request } from './support/http';
import { redisServerBinary, startPrivateRedis, type PrivateRedis } from './support/private-redis';

type Sessions = SessionStats & { total_tokens_used: number };
type ErrorReply = { error: { code: string; message: string } };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let seq = 0;
const newUser = (name: string) => `${name}${Date.now().toString(36)}${seq++}`;

function wsTrpc(url: string, token: string) {
  const client = createWSClient({
    url: `${url.replace(/^http/, 'ws')}/trpc`,
    connectionParams: { token },
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  return { trpc: createTRPCClient<AppRouter>({ links: [wsLink({ client })] }), close: () => client.close() };
}

const haveRedis = redisServerBinary(process.env.REDIS_SERVER) !== undefined;
if (!haveRedis && process.env.REQUIRE_E2E) throw new Error('redis-server is needed for the rate-limit suite (REQUIRE_E2E is set)');

describe.runIf(haveRedis)('rate limit across two instances sharing Redis', () => {
  const PER_MINUTE = 5;
  let redis: PrivateRedis;
  let database: TestDatabase;
  let a: Harness;
  let b: Harness;
  const prefix = `limits-test-${process.pid}:`;
  beforeAll(async () => {
    redis = await startPrivateRedis({ binary: process.env.REDIS_SERVER });
    database = await testDrivers().at(-1)!.open();
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: String(PER_MINUTE) };
    a = await startHarness(testDrivers().at(-1)!, { database, env });
    b = await startHarness(testDrivers().at(-1)!, { database, env });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.[Symbol.asyncDispose]();
    await redis?.[Symbol.asyncDispose]();
  });

  it('counts one user’s requests on both instances, REST and tRPC over HTTP and WebSocket, as one', async () => {
    const user = newUser('shared');
    const token = await a.token(user);
    expect((await request(`${a.url}/chat/sessions`, { token })).status).toBe(200);
    expect((await request(`${b.url}/chat/history`, { token })).status).toBe(200);
    expect((await request(`${a.url}/trpc/chat.sessions`, { token })).status).toBe(200);
    const ws = wsTrpc(b.url, token);
    try {
      await ws.trpc.chat.sessions.query();
      // The fifth request, as the session sees it: this one included.
      const stats = (await request<Sessions>(`${b.url}/chat/sessions`, { token })).body;
      expect(stats.limits.requests_per_minute).toMatchObject({ limit: PER_MINUTE, used: 5 });
      const overRest = await request<ErrorReply>(`${a.url}/chat/sessions`, { token });
      expect(overRest.status).toBe(429);
      expect(overRest.body.error.code).toBe('RATE_LIMITED');
      expect(overRest.body.error.message).toMatch(/^Rate limit of 5 requests per minute reached; try again at \d\d:\d\d:\d\d UTC \(in \d+ s\)\.$/);
      const overTrpc = await request<{ error: { data: { code: string; errorCode: string } } }>(`${b.url}/trpc/chat.sessions`, { token });
      expect(overTrpc.status).toBe(429);
      expect(overTrpc.body.error.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', errorCode: 'RATE_LIMITED' });
      expect(Number(overTrpc.headers.get('retry-after'))).toBeGreaterThan(0);
      const overWs = await ws.trpc.chat.sessions.query().catch((error: unknown) => error);
      expect(overWs).toBeInstanceOf(TRPCClientError);
      expect((overWs as TRPCClientError<AppRouter>).data?.code).toBe('TOO_MANY_REQUESTS');
      expect((overWs as TRPCClientError<AppRouter>).message).toMatch(/^Rate limit of 5 requests per minute reached/);
    } finally {
      await ws.close();
    }
    // Other users, health checks and unauthenticated requests are not this user's budget.
    expect((await request(`${a.url}/chat/sessions`, { token: await a.token(newUser('other')) })).status).toBe(200);
    expect((await request(`${a.url}/health`)).status).toBe(200);
    expect((await request(`${b.url}/chat/sessions`)).status).toBe(401);
  });

  it('says in Retry-After when the window ends, and lets requests through once it has', async () => {
    const user = newUser('retry');
    const token = await a.token(user);
    for (let i = 0; i < PER_MINUTE; i++) expect((await request(`${i % 2 ? a.url : b.url}/chat/sessions`, { token })).status).toBe(200);
    const refused = await request<ErrorReply>(`${a.url}/chat/sessions`, { token });
    expect(refused.status).toBe(429);
    const key = `${prefix}ratelimit:${user}`;
    const ttlMs = Number(await redis.command('PTTL', key));
    const retryAfter = Number(refused.headers.get('retry-after'));
    // Whole seconds rounded up from what was left of the window when it answered.
    expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil(ttlMs / 1000));
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The window's end brought near, as if most of the minute had passed.
    await redis.command('PEXPIRE', key, '1500');
    const soon = await request<ErrorReply>(`${b.url}/chat/sessions`, { token });
    expect(soon.status).toBe(429);
    const wait = Number(soon.headers.get('retry-after'));
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(2);
    await sleep(wait * 1000);
    const after = await request<Sessions>(`${a.url}/chat/sessions`, { token });
    expect(after.status).toBe(200);
    expect(after.body.limits.requests_per_minute?.used).toBe(1);
  });

  it('lets requests through, without hanging, while Redis is down, and limits again once it is back', async () => {
    const user = newUser('outage');
    const token = await a.token(user);
    await redis.stop();
    try {
      for (let i = 0; i < PER_MINUTE + 3; i++) expect((await request(`${a.url}/chat/sessions`, { token })).status).toBe(200);
    } finally {
      await redis.start();
    }
    let status = 200;
    for (let i = 0; i < 40 && status !== 429; i++) {
      status = (await request(`${b.url}/chat/sessions`, { token })).status;
      if (status !== 429) await sleep(50);
    }
    expect(status).toBe(429);
  });
});

describe.each(testDrivers())('daily token budget over HTTP on $name', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver, { env: { DAILY_TOKEN_QUOTA: '2000' } });
  });
  afterAll(() => h.close());

  it('refuses with 429, the reset in Retry-After and the message, and shows the day in GET /chat/sessions', async () => {
    const user = newUser('daily');
    const token = await h.token(user);
    h.openai.enqueue({ text: 'Reseat it.', usage: { prompt_tokens: 1_800, completion_tokens: 400 } });
    expect((await request(`${h.url}/chat`, { token, json: { message: 'first' } })).status).toBe(200);
    const refused = await request<ErrorReply>(`${h.url}/chat`, { token, json: { message: 'second' } });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('QUOTA_EXCEEDED');
    expect(refused.body.error.message).toMatch(/^Daily token budget of 2000 tokens used up; it resets at 00:00 UTC/);
    const midnight = nextUtcMidnight(new Date());
    const expected = Math.ceil((midnight.getTime() - Date.now()) / 1000);
    expect(Math.abs(Number(refused.headers.get('retry-after')) - expected)).toBeLessThanOrEqual(2);

    const overTrpc = await request<{ error: { message: string; data: { code: string } } }>(`${h.url}/trpc/chat.send`, {
      token,
      json: { message: 'third' },
    });
    expect(overTrpc.status).toBe(429);
    expect(overTrpc.body.error.data.code).toBe('TOO_MANY_REQUESTS');
    expect(Math.abs(Number(overTrpc.headers.get('retry-after')) - expected)).toBeLessThanOrEqual(2);

    const stream = await fetch(`${h.url}/chat/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'fourth' }),
    });
    expect(stream.status).toBe(429);
    expect(stream.headers.get('retry-after')).not.toBeNull();

    const stats = await request<Sessions>(`${h.url}/chat/sessions`, { token });
    expect(stats.body.limits).toEqual({
      token_quota: null,
      daily_tokens: { limit: 2000, used: 2200, reserved: 0, resets_at: midnight.toISOString() },
      requests_per_minute: null,
    });
    const history = await request<{ messages: { content: string }[] }>(`${h.url}/chat/history`, { token });
    expect(history.body.messages.map((m) => m.content)).toEqual(['first', 'Reseat it.']);
  });
});
