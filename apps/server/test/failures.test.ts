import { testDrivers, type TestDatabase } from '@fixthread/core/testing';
import { TRPCClientError } from '@trpc/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../src/client';
import { FAKE_REPLY, startHarness, type Harness } from './support/harness';
import { request, streamChat, type ErrorResponseBody } from './support/http';
import { connect, streamViaTrpc } from './support/trpc';

describe.each(testDrivers())('LLM outage on $name', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver);
  });
  afterAll(() => h.close());
  afterEach(() => h.openai.setDefaultReply({ text: FAKE_REPLY }));

  const assistantRowsOf = async (userId: string) =>
    (await h.messages()).filter((m) => m.userId === userId && m.role === 'assistant');

  it('POST /chat is a 503 JSON error, keeps the question, stores no reply, and recovers', async () => {
    h.openai.setDefaultReply({ error: { status: 500, message: 'upstream exploded at db.internal:5432' } });
    const token = await h.token('outage-rest');
    const res = await request<ErrorResponseBody>(`${h.url}/chat`, { token, json: { message: 'still there?' } });
    expect(res.status).toBe(503);
    expect(res.body).toEqual({
      error: { code: 'UPSTREAM_UNAVAILABLE', message: 'The language model is unavailable right now. Please try again.' },
    });
    expect(JSON.stringify(res.body)).not.toMatch(/exploded|5432|\bat\b/);
    expect(await assistantRowsOf('outage-rest')).toEqual([]);
    expect((await h.messages()).filter((m) => m.userId === 'outage-rest').map((m) => m.content)).toEqual(['still there?']);

    h.openai.setDefaultReply({ text: FAKE_REPLY });
    const recovered = await request<{ response: string }>(`${h.url}/chat`, { token, json: { message: 'and now?' } });
    expect(recovered.status).toBe(200);
    expect(recovered.body.response).toBe(FAKE_REPLY);
    expect(await assistantRowsOf('outage-rest')).toHaveLength(1);
  });

  it('POST /chat/stream ends with an error event in the same data: format', async () => {
    h.openai.setDefaultReply({ error: { status: 503 } });
    const result = await streamChat(h.url, await h.token('outage-sse'), 'stream please');
    expect(result.status).toBe(200);
    // The error event has no id: it is not part of the turn's durable events, so nothing resumes after it.
    expect(result.raw).toMatch(/^(id: [^\n]+\n)?(data: \{[^\n]*\}\n\n)+$/);
    expect(result.events.at(-1)).toEqual({
      type: 'error',
      content: 'The language model is unavailable right now. Please try again.',
      code: 'UPSTREAM_UNAVAILABLE',
    });
    expect(result.events.some((e) => e.type === 'done')).toBe(false);
    expect(await assistantRowsOf('outage-sse')).toEqual([]);
  });

  it('tRPC maps the outage to SERVICE_UNAVAILABLE (HTTP 503) with the safe message', async () => {
    h.openai.setDefaultReply({ error: { status: 500 } });
    const client = connect(h.url, await h.token('outage-trpc'));
    try {
      const error = await client.trpc.chat.send.mutate({ message: 'hello?' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCClientError);
      const { data, message } = error as TRPCClientError<AppRouter>;
      expect(data).toMatchObject({ code: 'SERVICE_UNAVAILABLE', httpStatus: 503, errorCode: 'UPSTREAM_UNAVAILABLE' });
      expect(data).not.toHaveProperty('stack');
      expect(message).toBe('The language model is unavailable right now. Please try again.');

      const streamed = await streamViaTrpc(client, 'over ws?');
      expect(streamed.error?.data).toMatchObject({ code: 'SERVICE_UNAVAILABLE', errorCode: 'UPSTREAM_UNAVAILABLE' });
    } finally {
      await client.close();
    }
    expect(await assistantRowsOf('outage-trpc')).toEqual([]);
  });
});

describe.each(testDrivers())('token quota on $name', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver, { env: { TOKEN_QUOTA: '1' } });
  });
  afterAll(() => h.close());

  it('answers 429 on REST and SSE and TOO_MANY_REQUESTS on tRPC once the quota is spent, storing nothing', async () => {
    const token = await h.token('spender');
    expect((await request(`${h.url}/chat`, { token, json: { message: 'first' } })).status).toBe(200);
    const before = await h.messages();

    const rest = await request<ErrorResponseBody>(`${h.url}/chat`, { token, json: { message: 'second' } });
    expect(rest.status).toBe(429);
    expect(rest.body.error.code).toBe('QUOTA_EXCEEDED');
    const sse = await streamChat(h.url, token, 'third');
    expect(sse.status).toBe(429);
    expect(sse.contentType).toMatch(/^application\/json/);
    const client = connect(h.url, token);
    try {
      const error = await client.trpc.chat.send.mutate({ message: 'fourth' }).catch((e: unknown) => e);
      expect((error as TRPCClientError<AppRouter>).data).toMatchObject({ code: 'TOO_MANY_REQUESTS', httpStatus: 429 });
    } finally {
      await client.close();
    }
    expect(await h.messages()).toEqual(before);
  });
});

describe.each(testDrivers())('database failure on $name', (driver) => {
  let h: Harness;
  let database: TestDatabase;
  beforeAll(async () => {
    database = await driver.open();
    h = await startHarness(driver, { database });
  });
  afterAll(async () => {
    await h.close();
    // Already closed by the test; disposing still drops the Postgres test database. PGlite refuses a second close.
    await Promise.resolve(database[Symbol.asyncDispose]()).catch(() => {});
  });

  it('answers 500 with a fixed JSON message (no SQL, no stack) and /health turns 503', async () => {
    const token = await h.token('unlucky');
    await h.database.close();
    const res = await request<ErrorResponseBody>(`${h.url}/chat/history`, { token });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ error: { code: 'INTERNAL', message: 'Internal server error' } });
    const client = connect(h.url, token);
    try {
      const error = await client.trpc.chat.sessions.query().catch((e: unknown) => e);
      const { data, message } = error as TRPCClientError<AppRouter>;
      expect(data).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 });
      expect(data).not.toHaveProperty('stack');
      expect(message).toBe('Internal server error');
    } finally {
      await client.close();
    }
    const health = await request(`${h.url}/health`);
    expect(health.status).toBe(503);
    expect(health.body).toEqual({ status: 'unavailable', database: driver.name, redis: 'disabled' });
  });
});
