import { validateMessage } from '@fixthread/core';
import { testDrivers } from '@fixthread/core/testing';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../src/client';
import { startHarness, type Harness } from './support/harness';
import { request, type ErrorResponseBody } from './support/http';
import { connect, streamViaTrpc } from './support/trpc';

const MAX_MESSAGE_CHARS = 100;
const BODY_LIMIT_BYTES = 4096;

describe.each(testDrivers())('bad input on $name', (driver) => {
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    h = await startHarness(driver, {
      env: { MAX_MESSAGE_CHARS: String(MAX_MESSAGE_CHARS), BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES) },
    });
    token = await h.token('tester');
  });
  afterAll(() => h.close());

  async function expectNothingStored() {
    expect(await h.messages()).toEqual([]);
    expect(await h.usage()).toEqual([]);
  }

  const invalidMessages: [string, unknown, RegExp][] = [
    ['a missing message', {}, /required/],
    ['an empty message', { message: '' }, /empty/],
    ['a whitespace-only message', { message: ' \n\t ' }, /empty/],
    ['a number', { message: 42 }, /string/],
    ['null', { message: null }, /string/],
    ['an array', { message: ['hi'] }, /string/],
    ['an object', { message: { text: 'hi' } }, /string/],
    ['a NUL character', { message: 'before\u0000after' }, /NUL/],
    ['a lone surrogate', { message: 'broken \ud800 text' }, /Unicode/],
    ['a message over MAX_MESSAGE_CHARS', { message: 'x'.repeat(MAX_MESSAGE_CHARS + 1) }, /at most 100/],
  ];

  /** What core's own check says about a message; the server must not word it differently. */
  function engineWordsFor(message: string): string {
    try {
      validateMessage(message, MAX_MESSAGE_CHARS);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('core accepts this message');
  }

  const contentProblems = invalidMessages.filter(([, json]) => typeof (json as { message?: unknown }).message === 'string');

  it.each(contentProblems)(
    'rejects %s in the engine’s words over REST, SSE and tRPC alike (one set of rules, in core)',
    async (_label, json) => {
      const { message } = json as { message: string };
      const expected = engineWordsFor(message);
      for (const path of ['/chat', '/chat/stream']) {
        const res = await request<ErrorResponseBody>(`${h.url}${path}`, { token, json });
        expect(res.body.error, path).toEqual({ code: 'VALIDATION', message: expected, details: { field: 'message' } });
      }
      const client = connect(h.url, token);
      try {
        const error = await client.trpc.chat.send.mutate({ message }).catch((e: unknown) => e);
        expect((error as TRPCClientError<AppRouter>).message).toBe(expected);
      } finally {
        await client.close();
      }
      await expectNothingStored();
    },
  );

  for (const path of ['/chat', '/chat/stream']) {
    it.each(invalidMessages)(`POST ${path} with %s is a 400 naming the field, nothing stored`, async (_label, json, problem) => {
      const res = await request<ErrorResponseBody>(`${h.url}${path}`, { token, json });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body.error.code).toBe('VALIDATION');
      expect(res.body.error.message).toMatch(problem);
      expect(res.body.error.details).toEqual({ field: 'message' });
      await expectNothingStored();
    });

    it.each([['a JSON string', '"hello"'], ['a JSON array', '["hello"]'], ['JSON null', 'null']])(
      `POST ${path} with %s as the body is a 400`,
      async (_label, body) => {
        const res = await request<ErrorResponseBody>(`${h.url}${path}`, { token, body, headers: { 'content-type': 'application/json' } });
        expect(res.status).toBe(400);
        expect(res.body.error).toMatchObject({ code: 'VALIDATION', message: 'body must be a JSON object' });
        await expectNothingStored();
      },
    );

    it(`POST ${path} with invalid JSON is a 400 INVALID_JSON`, async () => {
      const res = await request<ErrorResponseBody>(`${h.url}${path}`, {
        token,
        body: '{"message": "unterminated',
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual({ code: 'INVALID_JSON', message: 'Request body is not valid JSON' });
      await expectNothingStored();
    });

    it(`POST ${path} with an empty JSON body is a 400`, async () => {
      const res = await request<ErrorResponseBody>(`${h.url}${path}`, { token, body: '', headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_JSON');
      await expectNothingStored();
    });

    it(`POST ${path} with no body at all is a 400`, async () => {
      const res = await request<ErrorResponseBody>(`${h.url}${path}`, { token, method: 'POST' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION');
      await expectNothingStored();
    });

    it(`POST ${path} with a body over BODY_LIMIT_BYTES is a 413`, async () => {
      const res = await request<ErrorResponseBody>(`${h.url}${path}`, { token, json: { message: 'x'.repeat(BODY_LIMIT_BYTES) } });
      expect(res.status).toBe(413);
      expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      await expectNothingStored();
    });

    it(`POST ${path} with a text/plain body is a 415`, async () => {
      const res = await request<ErrorResponseBody>(`${h.url}${path}`, { token, body: 'hello', headers: { 'content-type': 'text/plain' } });
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      await expectNothingStored();
    });
  }

  it.each([['0'], ['201'], ['-1'], ['abc'], ['1.5'], [''], ['1e2'], ['50&limit=60']])(
    'GET /chat/history?limit=%s is a 400 naming limit',
    async (limit) => {
      const res = await request<ErrorResponseBody>(`${h.url}/chat/history?limit=${limit}`, { token });
      expect(res.status).toBe(400);
      expect(res.body.error).toEqual({
        code: 'VALIDATION',
        message: 'limit must be an integer between 1 and 200',
        details: { field: 'limit' },
      });
    },
  );

  it.each([['1'], ['200']])('GET /chat/history?limit=%s is accepted', async (limit) => {
    expect((await request(`${h.url}/chat/history?limit=${limit}`, { token })).status).toBe(200);
  });

  describe('over tRPC', () => {
    it.each(invalidMessages.filter(([, json]) => typeof (json as { message?: unknown }).message === 'string'))(
      'chat.send with %s is BAD_REQUEST naming the field, nothing stored',
      async (_label, json, problem) => {
        const client = connect(h.url, token);
        try {
          const error = await client.trpc.chat.send.mutate(json as { message: string }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(TRPCClientError);
          const { data, message } = error as TRPCClientError<AppRouter>;
          expect(data).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400, errorCode: 'VALIDATION', field: 'message' });
          expect(message).toMatch(problem);
        } finally {
          await client.close();
        }
        await expectNothingStored();
      },
    );

    it('chat.stream with a NUL character fails with BAD_REQUEST over the WebSocket, nothing stored', async () => {
      const client = connect(h.url, token);
      try {
        const outcome = await streamViaTrpc(client, 'nul \u0000 here');
        expect(outcome.events).toEqual([]);
        expect(outcome.error?.data).toMatchObject({ code: 'BAD_REQUEST', field: 'message' });
      } finally {
        await client.close();
      }
      await expectNothingStored();
    });

    it.each([[0], [201], [1.5]])('chat.history with limit %s is BAD_REQUEST', async (limit) => {
      const client = connect(h.url, token);
      try {
        const error = await client.trpc.chat.history.query({ limit }).catch((e: unknown) => e);
        expect((error as TRPCClientError<AppRouter>).data).toMatchObject({ code: 'BAD_REQUEST', field: 'limit' });
      } finally {
        await client.close();
      }
    });
  });
});
