/**
 * Property-based tests of every way in: the REST/SSE endpoints, tRPC over HTTP (single and batched) and tRPC
 * over the WebSocket, fed random JSON, wrong types, deep nesting, oversized and non-UTF-8 bodies, NUL, lone
 * surrogates, model control tokens, SQL and prompt injection, odd content types, wrong methods and junk tokens.
 *
 * The oracle is the same everywhere: an answer is either a 4xx in the transport's documented error shape
 * that stored nothing (no `conversations` row, no `user_usage` change), or a correct success that stored
 * exactly the user's message (byte for byte) and one assistant reply. Never a 5xx, never a hang, and the
 * server still answers /health afterwards.
 */
import { SignJWT } from 'jose';
import { testDrivers } from '@fixthread/core/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  arbitraryChatBody,
  BODY_LIMIT_BYTES,
  contentType,
  deepJsonBody,
  encodeJson,
  hasSpecialToken,
  HTTP_METHODS,
  invalidUtf8Body,
  labelled,
  isAcceptableMessage,
  isCertainlyInvalidLimit,
  isPlainValidLimit,
  longValidMessage,
  loneSurrogate,
  nonStringMessage,
  oversizedBody,
  rawLimitValue,
  REST_PATHS,
  REST_ROUTES,
  specialTokenMessage,
  unacceptableMessage,
  validMessage,
} from './support/arbitraries';
import { FAKE_REPLY, startHarness, type Harness } from './support/harness';
import { signToken } from './support/tokens';
import {
  rawRequest,
  RawTrpcSocket,
  sseEvents,
  sseFrames,
  tryJson as tryJsonOf,
  type RawResponse,
  type WsFrame,
} from './support/wire';

/** Asymmetric matchers typed as unknown, so they sit in object literals without `any` leaking in. */
const anyString: unknown = expect.any(String);
const anyNumber: unknown = expect.any(Number);
const anyBoolean: unknown = expect.any(Boolean);
const anyArray: unknown = expect.any(Array);
const anything: unknown = expect.anything();
const matching = (pattern: RegExp): unknown => expect.stringMatching(pattern);

/** Each property stops generating new cases after this long (a failure found by then is still reported and shrunk). */
const PROPERTY_TIME_LIMIT_MS = 20_000;
const PROPERTY_TEST_TIMEOUT_MS = 90_000;

/** `examples` always run first: inputs that broke something once, so the property never skips them by chance. */
function check<Ts extends [unknown, ...unknown[]]>(
  property: fc.IAsyncProperty<Ts>,
  numRuns: number,
  examples: Ts[] = [],
): Promise<void> {
  return fc.assert(property, {
    numRuns,
    examples,
    interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS,
    markInterruptAsFailure: false,
  });
}

const jsonHeaders = (token: string, type = 'application/json'): Record<string, string> => ({
  authorization: `Bearer ${token}`,
  'content-type': type,
});

interface StoreSnapshot {
  messages: number;
  /** Every usage row, so a changed total counts as a change. */
  usage: string;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Fastify refuses `__proto__` / `constructor.prototype` keys (prototype poisoning); a 400 for those is right. */
function hasPoisonKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasPoisonKey);
  if (!isPlainObject(value)) return false;
  return Object.keys(value).some(
    (key) => key === '__proto__' || key === 'constructor' || hasPoisonKey(value[key]),
  );
}

describe.each(testDrivers())('properties of every entry point on $name', (driver) => {
  let h: Harness;
  const errorLogs: string[] = [];
  let serial = 0;
  /** A user nobody has used yet, so "what did this request store" is "what rows does this user have". */
  const freshUser = (tag: string) => `${tag}-${++serial}`;

  beforeAll(async () => {
    h = await startHarness(driver, {
      env: { LOG_LEVEL: 'error' },
      logStream: {
        write(line: string) {
          errorLogs.push(line);
        },
      },
    });
  });
  afterAll(() => h?.close());

  async function snapshot(): Promise<StoreSnapshot> {
    const usage = (await h.usage()).map((u) => [u.userId, u.totalTokens]).sort();
    return { messages: (await h.messages()).length, usage: JSON.stringify(usage) };
  }

  async function expectNothingStored(before: StoreSnapshot, what: string) {
    expect(await snapshot(), `${what} was refused, so it must store nothing`).toEqual(before);
  }

  /** The REST error contract: 4xx, JSON `{"error":{"code","message"}}`, and `WWW-Authenticate` on 401. */
  function expectRestError(res: RawResponse, what: string, method = 'POST') {
    expect(res.status, `${what}: ${res.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
    expect(res.status, `${what}: ${res.text.slice(0, 300)}`).toBeLessThan(500);
    if (method === 'HEAD') return;
    expect(res.headers['content-type'], what).toMatch(/^application\/json/);
    expect(res.json, `${what}: ${res.text.slice(0, 300)}`).toMatchObject({
      error: { code: anyString, message: anyString },
    });
    if (res.status === 401) expect(res.headers['www-authenticate'], what).toBe('Bearer');
  }

  /** What a successful turn must have left: the message exactly as sent, one reply, and usage counted. */
  async function expectStoredTurn(
    userId: string,
    sent: string,
    reply: string,
    before: StoreSnapshot,
    what: string,
  ) {
    const rows = (await h.messages()).filter((m) => m.userId === userId);
    expect(
      rows.map((m) => [m.role, m.content, m.threadId]),
      `${what}: the user message byte-exact and one assistant reply`,
    ).toEqual([
      ['user', sent, `user-${userId}`],
      ['assistant', reply, `user-${userId}`],
    ]);
    expect(
      Buffer.from(rows[0]?.content ?? '', 'utf8').equals(Buffer.from(sent, 'utf8')),
      `${what}: bytes`,
    ).toBe(true);
    expect((await h.messages()).length, `${what}: no other rows`).toBe(before.messages + 2);
    const usage = (await h.usage()).find((u) => u.userId === userId);
    expect(usage?.totalTokens ?? 0, `${what}: usage counted`).toBeGreaterThan(0);
  }

  async function expectChatAnswered(
    res: RawResponse,
    userId: string,
    sent: string,
    before: StoreSnapshot,
    what: string,
  ) {
    expect(res.status, `${what}: ${res.text.slice(0, 300)}`).toBe(200);
    expect(res.json, what).toEqual({ response: FAKE_REPLY, thread_id: `user-${userId}` });
    await expectStoredTurn(userId, sent, FAKE_REPLY, before, what);
  }

  async function expectStreamAnswered(
    res: RawResponse,
    userId: string,
    sent: string,
    before: StoreSnapshot,
    what: string,
  ) {
    expect(res.status, `${what}: ${res.text.slice(0, 300)}`).toBe(200);
    expect(res.headers['content-type'], what).toMatch(/^text\/event-stream/);
    const events = (await sseEvents(res.text)) as {
      type?: string;
      content?: string;
      thread_id?: string;
      message_id?: number;
    }[];
    const done = events.at(-1);
    expect(done, `${what}: the stream ends with done: ${res.text.slice(-300)}`).toMatchObject({
      type: 'done',
      thread_id: `user-${userId}`,
      stopped: false,
    });
    expect(
      events.slice(0, -1).every((e) => e.type === 'status' || e.type === 'token'),
      `${what}: only status/token before done`,
    ).toBe(true);
    const streamed = events.map((e) => (e.type === 'token' ? (e.content ?? '') : '')).join('');
    expect(streamed, what).toBe(FAKE_REPLY);
    await expectStoredTurn(userId, sent, streamed, before, what);
    const assistant = (await h.messages()).find((m) => m.userId === userId && m.role === 'assistant');
    expect(done?.message_id, `${what}: done names the stored reply`).toBe(assistant?.id);
  }

  const post = async (path: string, token: string, body: Buffer | string, type = 'application/json') =>
    rawRequest(h.url, { method: 'POST', path, headers: jsonHeaders(token, type), body });

  // ---------------------------------------------------------------- REST / SSE

  describe('REST and SSE', () => {
    it(
      'POST /chat answers any acceptable message (any script, SQL and prompt injection, escaped or raw) and stores it byte-exact',
      async () => {
        await check(
          fc.asyncProperty(
            fc.oneof({ weight: 5, arbitrary: validMessage }, { weight: 1, arbitrary: longValidMessage }),
            fc.boolean(),
            async (message, escape) => {
              const user = freshUser('rest-valid');
              const before = await snapshot();
              const res = await post('/chat', await signToken(user), encodeJson({ message }, escape));
              await expectChatAnswered(res, user, message, before, 'POST /chat');
            },
          ),
          40,
          [
            ['\ufeffleading BOM', false],
            ["'; DROP TABLE conversations; --", true],
            ['\ud83d\udd27 fix \u00e9 e\u0301', true],
          ],
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'POST /chat/stream streams any acceptable message to a done event, and the saved reply is what was streamed',
      async () => {
        await check(
          fc.asyncProperty(validMessage, fc.boolean(), async (message, escape) => {
            const user = freshUser('sse-valid');
            const before = await snapshot();
            const res = await post('/chat/stream', await signToken(user), encodeJson({ message }, escape));
            await expectStreamAnswered(res, user, message, before, 'POST /chat/stream');
          }),
          25,
          [['\ufeffleading BOM', true]],
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'a message containing model control tokens (<|im_start|>, <|endoftext|>, …) is answered and stored like any other text',
      async () => {
        await check(
          fc.asyncProperty(
            specialTokenMessage,
            fc.constantFrom('/chat', '/chat/stream'),
            async (message, path) => {
              const user = freshUser('special');
              const before = await snapshot();
              const res = await post(path, await signToken(user), JSON.stringify({ message }));
              if (path === '/chat') await expectChatAnswered(res, user, message, before, `POST ${path}`);
              else await expectStreamAnswered(res, user, message, before, `POST ${path}`);
              const stored = (await h.messages()).find((m) => m.userId === user && m.role === 'user');
              expect(stored?.contentTokens ?? 0, 'content_tokens counted').toBeGreaterThan(0);
            },
          ),
          25,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'any JSON body on POST /chat and /chat/stream is either a 4xx that stored nothing or a correct answer',
      async () => {
        await check(
          fc.asyncProperty(
            arbitraryChatBody,
            fc.constantFrom('/chat', '/chat/stream'),
            async (body, path) => {
              const user = freshUser('json');
              const before = await snapshot();
              const res = await post(path, await signToken(user), JSON.stringify(body));
              const what = `POST ${path} ${JSON.stringify(body).slice(0, 120)}`;
              const message = isPlainObject(body) ? body.message : undefined;
              const mustSucceed =
                isPlainObject(body) &&
                isAcceptableMessage(message) &&
                !hasSpecialToken(message) &&
                !hasPoisonKey(body);
              if (mustSucceed) {
                if (path === '/chat') await expectChatAnswered(res, user, message, before, what);
                else await expectStreamAnswered(res, user, message, before, what);
                return;
              }
              if (!isPlainObject(body) || !isAcceptableMessage(message)) {
                expectRestError(res, what);
                expect(res.status, what).toBe(400);
                await expectNothingStored(before, what);
                return;
              }
              // Poisoned keys or control tokens: a 400 or a correct answer.
              if (res.status === 200) {
                if (path === '/chat') await expectChatAnswered(res, user, message, before, what);
                else await expectStreamAnswered(res, user, message, before, what);
              } else {
                expectRestError(res, what);
                await expectNothingStored(before, what);
              }
            },
          ),
          60,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'a message of the wrong type is a 400 VALIDATION naming message, and stores nothing',
      async () => {
        await check(
          fc.asyncProperty(
            nonStringMessage,
            fc.constantFrom('/chat', '/chat/stream'),
            async (message, path) => {
              const before = await snapshot();
              const res = await post(path, await signToken(freshUser('type')), JSON.stringify({ message }));
              const what = `POST ${path} message=${JSON.stringify(message)}`;
              expectRestError(res, what);
              expect(res.status, what).toBe(400);
              expect(res.json, what).toMatchObject({
                error: { code: 'VALIDATION', details: { field: 'message' } },
              });
              await expectNothingStored(before, what);
            },
          ),
          30,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'a blank message, NUL, a lone surrogate (JSON-escaped) or a message over MAX_MESSAGE_CHARS is a 400 and stores nothing',
      async () => {
        await check(
          fc.asyncProperty(
            unacceptableMessage,
            fc.constantFrom('/chat', '/chat/stream'),
            fc.boolean(),
            async ({ reason, message }, path, escape) => {
              const before = await snapshot();
              const res = await post(
                path,
                await signToken(freshUser('bad-msg')),
                encodeJson({ message }, escape),
              );
              const what = `POST ${path} with a ${reason} message ${JSON.stringify(message.slice(0, 60))}`;
              expectRestError(res, what);
              expect(res.status, what).toBe(400);
              expect(res.json, what).toMatchObject({
                error: { code: 'VALIDATION', details: { field: 'message' } },
              });
              await expectNothingStored(before, what);
            },
          ),
          30,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'a body that is not UTF-8 (0xff, bad continuations, overlong forms, truncated sequences, encoded surrogates) is a 400 that stores nothing',
      async () => {
        await check(
          fc.asyncProperty(
            invalidUtf8Body,
            fc.constantFrom('/chat', '/chat/stream', '/trpc/chat.send', '/trpc/chat.send?batch=1'),
            async ({ label, body }, path) => {
              const payload = path.endsWith('batch=1')
                ? Buffer.concat([Buffer.from('{"0":'), body, Buffer.from('}')])
                : body;
              const before = await snapshot();
              const res = await post(path, await signToken(freshUser('utf8')), payload);
              const what = `POST ${path} with ${label}: ${payload.toString('hex').slice(0, 120)}`;
              expect(res.status, `${what} → ${res.text.slice(0, 300)}`).toBe(400);
              if (path.startsWith('/trpc')) expectTrpcErrorBody(res.json, what);
              else
                expect(res.json, what).toMatchObject({
                  error: { code: matching(/^INVALID_(UTF8|JSON)$/), message: anyString },
                });
              await expectNothingStored(before, what);
            },
          ),
          40,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      `a body over BODY_LIMIT_BYTES (${BODY_LIMIT_BYTES}) is a 413 on every endpoint, and stores nothing`,
      async () => {
        await check(
          fc.asyncProperty(
            oversizedBody,
            fc.constantFrom('/chat', '/chat/stream', '/trpc/chat.send'),
            async ({ label, body }, path) => {
              const before = await snapshot();
              const res = await post(path, await signToken(freshUser('huge')), body);
              const what = `POST ${path} with ${label}`;
              // Too large and not UTF-8 at once: either refusal is right, as long as it is a documented one.
              if (label.includes('0xff'))
                expect([400, 413], `${what} → ${res.status} ${res.text.slice(0, 300)}`).toContain(res.status);
              else expect(res.status, `${what} → ${res.text.slice(0, 300)}`).toBe(413);
              if (path.startsWith('/trpc')) expectTrpcOrRestErrorBody(res, what);
              else expectRestError(res, what);
              await expectNothingStored(before, what);
            },
          ),
          12,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'deeply nested JSON (thousands of levels) is refused with a 400 or, when beside a valid message, answered; never a 5xx',
      async () => {
        await check(
          fc.asyncProperty(
            deepJsonBody,
            fc.constantFrom('/chat', '/chat/stream', '/trpc/chat.send'),
            async ({ label, body }, path) => {
              const user = freshUser('deep');
              const before = await snapshot();
              const res = await post(path, await signToken(user), body);
              const what = `POST ${path} with ${label}`;
              if (label.includes('beside')) {
                if (path === '/chat') await expectChatAnswered(res, user, 'deep neighbour', before, what);
                else if (path === '/chat/stream')
                  await expectStreamAnswered(res, user, 'deep neighbour', before, what);
                else {
                  expect(res.status, `${what} → ${res.text.slice(0, 300)}`).toBe(200);
                  expect(res.json, what).toEqual({
                    result: { data: { response: FAKE_REPLY, thread_id: `user-${user}` } },
                  });
                  await expectStoredTurn(user, 'deep neighbour', FAKE_REPLY, before, what);
                }
                return;
              }
              expect(res.status, `${what} → ${res.text.slice(0, 300)}`).toBe(400);
              if (path.startsWith('/trpc')) expectTrpcErrorBody(res.json, what);
              else expectRestError(res, what);
              await expectNothingStored(before, what);
            },
          ),
          15,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'any content type: JSON ones are answered (decoded as UTF-8), form/text/multipart ones are refused (no CSRF-able simple requests)',
      async () => {
        const mustAccept = new Set([
          'application/json',
          'application/json; charset=utf-8',
          'application/json; charset=UTF-8',
        ]);
        const mustRefuse =
          /^(text\/|application\/x-www-form-urlencoded|multipart\/form-data|application\/octet-stream|application\/xml)/;
        await check(
          fc.asyncProperty(
            contentType,
            validMessage,
            fc.constantFrom('/chat', '/chat/stream', '/trpc/chat.send'),
            async (type, message, path) => {
              const user = freshUser('ctype');
              const token = await signToken(user);
              const headers: Record<string, string> = { authorization: `Bearer ${token}` };
              if (type !== undefined) headers['content-type'] = type;
              const before = await snapshot();
              const res = await rawRequest(h.url, {
                method: 'POST',
                path,
                headers,
                body: JSON.stringify({ message }),
              });
              const what = `POST ${path} as ${JSON.stringify(type)}`;
              if (type !== undefined && mustAccept.has(type))
                expect(res.status, `${what} → ${res.text.slice(0, 300)}`).toBe(200);
              if (type === undefined || type === '' || mustRefuse.test(type))
                expect(res.status, `${what} → ${res.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
              if (res.status === 200) {
                if (path === '/chat') await expectChatAnswered(res, user, message, before, what);
                else if (path === '/chat/stream')
                  await expectStreamAnswered(res, user, message, before, what);
                else {
                  expect(res.json, what).toEqual({
                    result: { data: { response: FAKE_REPLY, thread_id: `user-${user}` } },
                  });
                  await expectStoredTurn(user, message, FAKE_REPLY, before, what);
                }
              } else {
                if (path.startsWith('/trpc')) expectTrpcOrRestErrorBody(res, what);
                else expectRestError(res, what);
                await expectNothingStored(before, what);
              }
            },
          ),
          40,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'any method on any well-formed path: documented routes answer correctly, everything else is a 4xx JSON error; nothing stored',
      async () => {
        const wellFormed = REST_PATHS.filter((p) => !/%(?![0-9a-f]{2})|%ff|%c0|%00/i.test(p));
        await check(
          fc.asyncProperty(
            fc.constantFrom(...HTTP_METHODS),
            fc.constantFrom(...wellFormed),
            fc.constantFrom<'none' | 'valid' | 'junk'>('none', 'valid', 'junk'),
            async (method, path, bodyKind) => {
              const user = freshUser('method');
              const token = await signToken(user);
              const message = `hello from ${user}`;
              const body =
                bodyKind === 'none'
                  ? undefined
                  : bodyKind === 'valid'
                    ? JSON.stringify({ message })
                    : '{"message": tru';
              const headers: Record<string, string> = { authorization: `Bearer ${token}` };
              if (body !== undefined) headers['content-type'] = 'application/json';
              const before = await snapshot();
              const res = await rawRequest(h.url, {
                method,
                path,
                headers,
                ...(body === undefined ? {} : { body }),
              });
              const route = `${method} ${path.split('?')[0]}`;
              const what = `${method} ${path} (${bodyKind} body)`;
              if (res.status >= 400 || !REST_ROUTES.has(route)) {
                expectRestError(res, what, method);
                await expectNothingStored(before, what);
                return;
              }
              if (route === 'POST /chat') await expectChatAnswered(res, user, message, before, what);
              else if (route === 'POST /chat/stream')
                await expectStreamAnswered(res, user, message, before, what);
              else {
                expect(res.status, what).toBe(200);
                if (method !== 'HEAD') {
                  const expected: Record<string, unknown> = {
                    'GET /chat/history': { thread_id: `user-${user}`, message_count: 0, messages: [] },
                    'DELETE /chat/history': { success: true, thread_id: `user-${user}` },
                    'GET /chat/sessions': { user_id: user, thread_id: `user-${user}`, total_messages: 0 },
                  };
                  expect(res.json, what).toMatchObject(expected[route] as object);
                }
                await expectNothingStored(before, what);
              }
            },
          ),
          50,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'a malformed URL (bad percent-encoding, encoded NUL or slash) is a 4xx in the documented {"error":{code,message}} shape',
      async () => {
        const malformed = [
          '/chat/hist%ffory',
          '/chat/%',
          '/chat/%c0%af',
          '/chat/stream%00',
          '/chat%2Fstream',
          '/chat?x=%ff',
          '/%',
          '/trpc/chat.send%ff',
        ];
        await check(
          fc.asyncProperty(
            fc.constantFrom(...HTTP_METHODS.filter((m) => m !== 'HEAD')),
            fc.constantFrom(...malformed),
            async (method, path) => {
              const before = await snapshot();
              const user = freshUser('url');
              const res = await rawRequest(h.url, {
                method,
                path,
                headers: jsonHeaders(await signToken(user)),
                body: JSON.stringify({ message: `url ${user}` }),
              });
              const what = `${method} ${path}`;
              if (res.status === 200 && method === 'POST' && path === '/chat?x=%ff') {
                await expectChatAnswered(res, user, `url ${user}`, before, what);
                return;
              }
              if (path.startsWith('/trpc')) expectTrpcOrRestErrorBody(res, what);
              else expectRestError(res, what, method);
              await expectNothingStored(before, what);
            },
          ),
          25,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    describe('GET /chat/history?limit=', () => {
      const seeded = 'history-seeded';
      beforeAll(async () => {
        const token = await signToken(seeded);
        for (const message of ['one', 'two', 'three'])
          expect((await post('/chat', token, JSON.stringify({ message }))).status).toBe(200);
      });

      it(
        'any raw limit value is a 400 naming limit or the newest min(limit, all) messages; a plain 1–200 is always accepted',
        async () => {
          const token = await signToken(seeded);
          const all = (await h.messages()).filter((m) => m.userId === seeded);
          expect(all).toHaveLength(6);
          await check(
            fc.asyncProperty(rawLimitValue, async (raw) => {
              const before = await snapshot();
              const res = await rawRequest(h.url, {
                method: 'GET',
                path: `/chat/history?limit=${raw}`,
                headers: { authorization: `Bearer ${token}` },
              });
              const what = `GET /chat/history?limit=${raw}`;
              if (isPlainValidLimit(raw)) expect(res.status, `${what} → ${res.text.slice(0, 200)}`).toBe(200);
              if (isCertainlyInvalidLimit(raw))
                expect(res.status, `${what} → ${res.text.slice(0, 200)}`).toBe(400);
              if (res.status === 200) {
                const body = res.json as {
                  thread_id: string;
                  message_count: number;
                  messages: { id: number; content: string }[];
                };
                const limit = Number(decodeURIComponent(raw));
                const expected = all.slice(-Math.min(limit, all.length));
                expect(body.thread_id, what).toBe(`user-${seeded}`);
                expect(
                  body.messages.map((m) => [m.id, m.content]),
                  what,
                ).toEqual(expected.map((m) => [m.id, m.content]));
                expect(body.message_count, what).toBe(expected.length);
              } else {
                expectRestError(res, what, 'GET');
                expect(res.json, what).toMatchObject({
                  error: { code: 'VALIDATION', details: { field: 'limit' } },
                });
              }
              await expectNothingStored(before, what);
            }),
            50,
          );
        },
        PROPERTY_TEST_TIMEOUT_MS,
      );
    });

    it(
      'DELETE /chat/history and GET /chat/sessions, with any body, content type or query, answer their shape or a 4xx, and touch no one else’s rows',
      async () => {
        await check(
          fc.asyncProperty(
            fc.constantFrom(
              'DELETE /chat/history',
              'GET /chat/sessions',
              'DELETE /chat/history?all=true',
              'GET /chat/sessions?user_id=history-seeded',
            ),
            fc.option(
              fc.oneof(
                fc.json({ maxDepth: 2 }),
                fc.constant('{bad json'),
                invalidUtf8Body.map((b) => b.body),
              ),
              { nil: undefined },
            ),
            contentType,
            async (route, body, type) => {
              const [method, path] = route.split(' ') as [string, string];
              const user = freshUser('side');
              const headers: Record<string, string> = { authorization: `Bearer ${await signToken(user)}` };
              if (type !== undefined) headers['content-type'] = type;
              const before = await snapshot();
              const res = await rawRequest(h.url, {
                method,
                path,
                headers,
                ...(body === undefined ? {} : { body }),
              });
              const what = `${route} body=${String(body).slice(0, 60)} type=${String(type)}`;
              if (res.status === 200) {
                expect(res.json, what).toMatchObject(
                  method === 'DELETE'
                    ? { success: true, thread_id: `user-${user}` }
                    : { user_id: user, thread_id: `user-${user}`, total_messages: 0, total_tokens: 0 },
                );
              } else {
                expectRestError(res, what, method);
              }
              await expectNothingStored(before, what);
            },
          ),
          30,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'any Authorization header that is not a valid signed token is a 401 with WWW-Authenticate: Bearer, on every endpoint, storing nothing',
      async () => {
        const printable = fc
          .string({ unit: 'grapheme-ascii', maxLength: 60 })
          .map((s) => s.replace(/[^\x20-\x7e]/g, ''));
        const base64ish = fc.string({
          unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.'),
          minLength: 1,
          maxLength: 80,
        });
        const tampered = fc
          .tuple(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 10 }))
          .map(async ([sub]) => {
            const [header, , signature] = (await signToken('victim')).split('.');
            const payload = Buffer.from(
              JSON.stringify({ sub, exp: Math.floor(Date.now() / 1000) + 600 }),
            ).toString('base64url');
            return `Bearer ${header}.${payload}.${signature}`;
          });
        const header = fc.oneof(
          printable,
          printable.map((s) => `Bearer ${s}`),
          base64ish.map((s) => `Bearer ${s}`),
          base64ish.map((s) => `bearer ${s}`),
          tampered,
        );
        const endpoints = [
          ['POST', '/chat'],
          ['POST', '/chat/stream'],
          ['GET', '/chat/history'],
          ['DELETE', '/chat/history'],
          ['GET', '/chat/sessions'],
          ['POST', '/trpc/chat.send'],
          ['GET', '/trpc/chat.sessions'],
          ['POST', '/trpc/chat.clear?batch=1'],
        ] as const;
        await check(
          fc.asyncProperty(header, fc.constantFrom(...endpoints), async (value, [method, path]) => {
            const authorization = await value;
            const before = await snapshot();
            const body = path.endsWith('batch=1') ? '{"0":null}' : JSON.stringify({ message: 'hello' });
            const res = await rawRequest(h.url, {
              method,
              path,
              headers: { authorization, 'content-type': 'application/json' },
              ...(method === 'POST' || method === 'DELETE' ? { body } : {}),
            });
            const what = `${method} ${path} with Authorization: ${authorization.slice(0, 80)}`;
            expect(res.status, `${what} → ${res.text.slice(0, 200)}`).toBe(401);
            if (path.startsWith('/trpc')) {
              const envelope = Array.isArray(res.json) ? (res.json as unknown[])[0] : res.json;
              expectTrpcErrorBody(envelope, what);
              expect((envelope as { error: { data: { code: string } } }).error.data.code, what).toBe(
                'UNAUTHORIZED',
              );
            } else {
              expectRestError(res, what, method);
              expect(res.json, what).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
            }
            await expectNothingStored(before, what);
          }),
          40,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );
  });

  // ---------------------------------------------------------------- identity

  describe('token subjects', () => {
    /** Subjects drawn from every plane, with controls, whitespace, confusables and lone surrogates mixed in. */
    const oddSubject = fc
      .array(
        fc.oneof(
          fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }),
          fc.constantFrom(
            ' ',
            '\t',
            '\u00a0',
            '\u200b',
            '\ufeff',
            'é',
            'e\u0301',
            'İ',
            'ß',
            'K',
            'K',
            'ﬁ',
            '\ufffd',
            '\u202e',
            '/',
            '..',
            '%',
            "'",
            '"',
            '\\',
          ),
          loneSurrogate,
        ),
        { minLength: 1, maxLength: 5 },
      )
      .map((parts) => parts.join(''));

    it(
      'any signed subject either gets a thread named after it exactly, with rows keyed by it exactly, or is refused with 401 storing nothing',
      async () => {
        await check(
          fc.asyncProperty(oddSubject, async (suffix) => {
            const sub = `s${++serial}-${suffix}`;
            const before = await snapshot();
            const res = await post(
              '/chat',
              await signToken(sub),
              JSON.stringify({ message: `I am ${serial}` }),
            );
            const what = `sub ${JSON.stringify(sub)} (well-formed: ${sub.isWellFormed()})`;
            if (res.status === 401) {
              expectRestError(res, what);
              await expectNothingStored(before, what);
              return;
            }
            expect(res.status, `${what} → ${res.text.slice(0, 200)}`).toBe(200);
            expect(res.json, what).toEqual({ response: FAKE_REPLY, thread_id: `user-${sub}` });
            const rows = (await h.messages()).slice(before.messages);
            expect(
              rows.map((m) => [m.userId, m.threadId]),
              `${what}: rows are keyed by the subject exactly`,
            ).toEqual([
              [sub, `user-${sub}`],
              [sub, `user-${sub}`],
            ]);
            const stats = await rawRequest(h.url, {
              method: 'GET',
              path: '/chat/sessions',
              headers: { authorization: `Bearer ${await signToken(sub)}` },
            });
            expect((stats.json as { user_id?: string }).user_id, what).toBe(sub);
          }),
          40,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    /** Two different subjects that a careless normaliser (trim, case fold, NFC, replacement character) would merge. */
    const confusablePair = (withSurrogates: boolean) =>
      fc
        .tuple(
          fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzé'), minLength: 1, maxLength: 6 }),
          fc.constantFrom(
            ...(withSurrogates
              ? (['high surrogate vs U+FFFD', 'low surrogate vs U+FFFD', 'high vs low surrogate'] as const)
              : ([
                  'NFC vs NFD',
                  'case',
                  'leading space',
                  'trailing space',
                  'zero-width space',
                  'full-width',
                  'tab',
                  'nbsp',
                ] as const)),
          ),
        )
        .map(([base, how]) => {
          const b = `p${++serial}${base}é`;
          const pairs: Record<string, [string, string]> = {
            'high surrogate vs U+FFFD': [`${b}\ud800x`, `${b}\ufffdx`],
            'low surrogate vs U+FFFD': [`${b}\udfffx`, `${b}\ufffdx`],
            'high vs low surrogate': [`${b}\ud800x`, `${b}\udfffx`],
            'NFC vs NFD': [b.normalize('NFC'), b.normalize('NFD')],
            case: [b, b.toUpperCase()],
            'leading space': [b, ` ${b}`],
            'trailing space': [b, `${b} `],
            'zero-width space': [b, `${b}\u200b`],
            'full-width': [`${b}x`, `${b}\uff58`],
            tab: [b, `${b}\t`],
            nbsp: [b, `\u00a0${b}`],
          };
          const [a, other] = pairs[how] ?? [b, b];
          return { how, a, b: other };
        })
        .filter(({ a, b }) => a !== b);

    async function expectNeverShared(how: string, a: string, b: string) {
      const what = `${how}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
      const before = await snapshot();
      const outcomes: { sub: string; status: number; said: string }[] = [];
      for (const sub of [a, b]) {
        const said = `secret of ${JSON.stringify(sub)}`;
        const pre = await snapshot();
        const res = await post('/chat', await signToken(sub), JSON.stringify({ message: said }));
        expect(
          [200, 401],
          `${what}: ${JSON.stringify(sub)} → ${res.status} ${res.text.slice(0, 200)}`,
        ).toContain(res.status);
        if (res.status === 401) {
          expectRestError(res, what);
          await expectNothingStored(pre, `${what}: refused ${JSON.stringify(sub)}`);
        }
        outcomes.push({ sub, status: res.status, said });
      }
      const accepted = outcomes.filter((o) => o.status === 200);
      for (const { sub, said } of accepted) {
        const history = await rawRequest(h.url, {
          method: 'GET',
          path: '/chat/history',
          headers: { authorization: `Bearer ${await signToken(sub)}` },
        });
        const contents = (history.json as { messages: { role: string; content: string }[] }).messages
          .filter((m) => m.role === 'user')
          .map((m) => m.content);
        expect(contents, `${what}: ${JSON.stringify(sub)} sees only its own messages`).toEqual([said]);
      }
      const rows = (await h.messages()).slice(before.messages);
      expect(rows, what).toHaveLength(2 * accepted.length);
      if (accepted.length === 2) {
        expect(
          new Set(rows.map((m) => m.userId)).size,
          `${what}: two users, two distinct user_id values`,
        ).toBe(2);
        expect(new Set(rows.map((m) => m.threadId)).size, `${what}: two threads`).toBe(2);
      }
      for (const row of rows)
        expect(
          accepted.map((o) => o.sub),
          `${what}: rows keyed by an accepted subject exactly`,
        ).toContain(row.userId);
    }

    it(
      'subjects that differ only by normalisation, case, whitespace or invisible characters never share rows',
      async () => {
        await check(
          fc.asyncProperty(confusablePair(false), async ({ how, a, b }) => expectNeverShared(how, a, b)),
          25,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'subjects that differ only in lone surrogates (vs each other or U+FFFD) never share rows: each is its own user or refused with 401',
      async () => {
        await check(
          fc.asyncProperty(confusablePair(true), async ({ how, a, b }) => expectNeverShared(how, a, b)),
          15,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );
  });

  // ---------------------------------------------------------------- tRPC over HTTP

  type Kind = 'query' | 'mutation';
  const PROCEDURES: Record<string, Kind> = {
    'chat.send': 'mutation',
    'chat.stop': 'mutation',
    'chat.clear': 'mutation',
    'chat.history': 'query',
    'chat.sessions': 'query',
  };
  const NO_INPUT = Symbol('no input');
  type Input = unknown;

  const trpcInput: fc.Arbitrary<Input> = fc.oneof(
    fc.constant(NO_INPUT),
    fc.record({ message: validMessage }),
    arbitraryChatBody,
    fc.record({
      limit: fc.oneof(
        fc.integer({ min: -5, max: 300 }),
        fc.double(),
        fc.string({ maxLength: 4 }),
        fc.constant(null),
      ),
    }),
    fc.record({ limit: fc.integer({ min: 1, max: 200 }) }),
    fc.jsonValue({ maxDepth: 2 }),
  );

  function expectTrpcErrorBody(value: unknown, what: string): void {
    expect(value, `${what}: a tRPC error envelope`).toMatchObject({
      error: { code: anyNumber, message: anyString, data: { code: anyString, httpStatus: anyNumber } },
    });
    const status = (value as { error: { data: { httpStatus: number } } }).error.data.httpStatus;
    expect(status, `${what}: data.httpStatus ${JSON.stringify(value).slice(0, 300)}`).toBeGreaterThanOrEqual(
      400,
    );
    expect(status, `${what}: data.httpStatus ${JSON.stringify(value).slice(0, 300)}`).toBeLessThan(500);
  }

  /** Under /trpc, errors Fastify raises before tRPC runs (413, 415) come in the REST shape; both are 4xx JSON. */
  function expectTrpcOrRestErrorBody(res: RawResponse, what: string): void {
    expect(res.status, `${what} → ${res.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
    expect(res.status, `${what} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
    const body = Array.isArray(res.json) ? (res.json as unknown[])[0] : res.json;
    if (typeof (body as { error?: { code?: unknown } } | undefined)?.error?.code === 'string')
      expectRestError(res, what);
    else expectTrpcErrorBody(body, what);
  }

  /** A correct result for the procedure, for a user whose thread `user-<user>` holds only this call's rows. */
  function expectTrpcResult(path: string, data: unknown, user: string, what: string): void {
    const thread = `user-${user}`;
    if (path === 'chat.send') expect(data, what).toEqual({ response: FAKE_REPLY, thread_id: thread });
    else if (path === 'chat.stop') expect(data, what).toEqual({ stopped: anyBoolean });
    else if (path === 'chat.clear')
      expect(data, what).toEqual({ success: true, message: anyString, thread_id: thread });
    else if (path === 'chat.history')
      expect(data, what).toMatchObject({ thread_id: thread, message_count: anyNumber, messages: anyArray });
    else if (path === 'chat.sessions') expect(data, what).toMatchObject({ user_id: user, thread_id: thread });
    else throw new Error(`${what}: unexpected success for ${path}`);
  }

  /** Valid by the contract: right HTTP method for the procedure's kind and an input its parser accepts. */
  function mustSucceed(path: string, method: string, input: Input, user: string): boolean {
    const kind = Object.hasOwn(PROCEDURES, path) ? PROCEDURES[path] : undefined;
    if (!kind || (kind === 'query') !== (method === 'GET')) return false;
    const threadId = isPlainObject(input) ? input.threadId : undefined;
    if (threadId !== undefined && threadId !== `user-${user}`) return false;
    if (path === 'chat.send') {
      const message = isPlainObject(input) ? input.message : undefined;
      return isAcceptableMessage(message) && !hasSpecialToken(message) && !hasPoisonKey(input);
    }
    if (input === NO_INPUT) return true;
    // Every other procedure here takes an optional object; a `threadId` must name one of the user's threads,
    // and this user has none but the default, so only an absent one (or the default's id) succeeds.
    if (!isPlainObject(input) || hasPoisonKey(input)) return false;
    if (path === 'chat.history') {
      const before = input.before;
      if (before !== undefined && !(typeof before === 'number' && Number.isSafeInteger(before) && before >= 1)) return false;
      return (
        input.limit === undefined ||
        (Number.isInteger(input.limit) && (input.limit as number) >= 1 && (input.limit as number) <= 200)
      );
    }
    return true;
  }

  function trpcRequest(
    paths: string[],
    inputs: Input[],
    method: 'GET' | 'POST',
    batch: boolean,
    token: string,
  ) {
    const payload = batch
      ? Object.fromEntries(inputs.flatMap((input, i) => (input === NO_INPUT ? [] : [[String(i), input]])))
      : inputs[0];
    const encoded = payload === NO_INPUT ? undefined : JSON.stringify(payload);
    const query = [
      batch ? 'batch=1' : '',
      method === 'GET' && encoded !== undefined ? `input=${encodeURIComponent(encoded)}` : '',
    ]
      .filter(Boolean)
      .join('&');
    const path = `/trpc/${paths.join(',')}${query ? `?${query}` : ''}`;
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (method === 'POST') headers['content-type'] = 'application/json';
    return rawRequest(h.url, {
      method,
      path,
      headers,
      ...(method === 'POST' && encoded !== undefined ? { body: encoded } : {}),
    });
  }

  /** After a call set by `user`: its rows are exactly the accepted sends (one reply each), and no one else's changed. */
  async function expectOnlyAcceptedSends(
    user: string,
    acceptedMessages: string[],
    before: StoreSnapshot,
    what: string,
    cleared: boolean,
  ) {
    const all = await h.messages();
    const mine = all.filter((m) => m.userId === user);
    expect(all.length - mine.length, `${what}: other users' rows untouched`).toBe(before.messages);
    if (cleared) return;
    const unique = [...new Set(acceptedMessages)].sort();
    expect(
      mine
        .filter((m) => m.role === 'user')
        .map((m) => m.content)
        .sort(),
      `${what}: stored user messages`,
    ).toEqual(unique);
    expect(
      mine.filter((m) => m.role === 'assistant'),
      `${what}: one reply per message`,
    ).toHaveLength(unique.length);
  }

  describe('tRPC over HTTP', () => {
    const procedurePath = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...Object.keys(PROCEDURES)) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'chat',
          'chat.nope',
          'CHAT.SEND',
          'chat.send.x',
          '__proto__',
          'constructor',
          'chat.__proto__',
          '',
        ),
      },
    );

    it(
      'any call, single or batched, GET or POST, with any input: a correct result or a tRPC error with a 4xx httpStatus; only accepted sends are stored',
      async () => {
        await check(
          fc.asyncProperty(
            fc.array(fc.tuple(procedurePath, trpcInput), { minLength: 1, maxLength: 3 }),
            fc.constantFrom<'GET' | 'POST'>('GET', 'POST'),
            fc.boolean(),
            async (calls, method, batchFlag) => {
              const batch = batchFlag || calls.length > 1;
              const user = freshUser('trpc-http');
              const paths = calls.map(([path]) => path);
              const inputs = calls.map(([, input]) => input);
              const before = await snapshot();
              const res = await trpcRequest(paths, inputs, method, batch, await signToken(user));
              const what = `${method} /trpc/${paths.join(',')}${batch ? '?batch=1' : ''} input=${JSON.stringify(inputs.map((i) => (i === NO_INPUT ? '<none>' : i))).slice(0, 200)}`;
              expect(res.status, `${what} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
              expect(res.json, `${what}: JSON body ${res.text.slice(0, 200)}`).toBeDefined();
              const items: unknown[] =
                batch && Array.isArray(res.json) ? (res.json as unknown[]) : [res.json];
              if (batch && !Array.isArray(res.json)) {
                // The whole batch was refused (mixed kinds, bad paths, bad JSON): one error, nothing done.
                expectTrpcErrorBody(res.json, what);
                await expectNothingStored(before, what);
                return;
              }
              expect(items, what).toHaveLength(calls.length);
              const accepted: string[] = [];
              // stop/clear batched beside a send race with it: the reply may be cut short and the rows removed.
              let cleared =
                paths.includes('chat.send') && (paths.includes('chat.stop') || paths.includes('chat.clear'));
              items.forEach((item, i) => {
                const path = paths[i] ?? '';
                const input = inputs[i];
                const itemWhat = `${what} [${i}] ${path}`;
                if ((item as { error?: unknown }).error !== undefined) {
                  expectTrpcErrorBody(item, itemWhat);
                  if (calls.length === 1 && mustSucceed(path, method, input, user))
                    throw new Error(`${itemWhat}: a valid call was refused: ${JSON.stringify(item)}`);
                  return;
                }
                expect(item, itemWhat).toMatchObject({ result: { data: anything } });
                const data = (item as { result: { data: unknown } }).result.data;
                if (cleared && path === 'chat.send')
                  expect(data, itemWhat).toEqual({ response: anyString, thread_id: `user-${user}` });
                else expectTrpcResult(path, data, user, itemWhat);
                if (path === 'chat.send') accepted.push((input as { message: string }).message);
                if (path === 'chat.clear') cleared = true;
              });
              if (!batch) {
                const item = items[0] as { error?: { data: { httpStatus: number } } };
                expect(res.status, `${what}: the status is the error's httpStatus`).toBe(
                  item.error ? item.error.data.httpStatus : 200,
                );
              }
              await expectOnlyAcceptedSends(user, accepted, before, what, cleared);
              if (!cleared) for (const message of accepted) await expectStoredBytes(user, message, what);
            },
          ),
          60,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'the wrong HTTP method for a procedure is 405 METHOD_NOT_SUPPORTED, a client error, not INTERNAL_SERVER_ERROR',
      async () => {
        await check(
          fc.asyncProperty(fc.constantFrom(...Object.keys(PROCEDURES)), fc.boolean(), async (path, batch) => {
            const method = PROCEDURES[path] === 'query' ? 'POST' : 'GET';
            const input = path === 'chat.send' ? { message: 'wrong method' } : NO_INPUT;
            const before = await snapshot();
            const res = await trpcRequest(
              [path],
              [input],
              method,
              batch,
              await signToken(freshUser('method')),
            );
            const what = `${method} /trpc/${path}${batch ? '?batch=1' : ''}`;
            expect(res.status, `${what} → ${res.text.slice(0, 300)}`).toBe(405);
            const envelope = Array.isArray(res.json) ? (res.json as unknown[])[0] : res.json;
            expectTrpcErrorBody(envelope, what);
            expect(envelope, `${what}: ${res.text.slice(0, 300)}`).toMatchObject({
              error: { data: { code: 'METHOD_NOT_SUPPORTED' } },
            });
            expect(
              (envelope as { error: { code: number } }).error.code,
              `${what}: not -32603 (internal)`,
            ).not.toBe(-32603);
            await expectNothingStored(before, what);
          }),
          10,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'chat.stream over HTTP (tRPC SSE): GET with a valid message streams to done and stores that turn exactly; anything else is a 4xx error that stores nothing',
      async () => {
        await check(
          fc.asyncProperty(
            fc.constantFrom<'GET' | 'POST'>('GET', 'GET', 'POST'),
            fc.oneof(fc.record({ message: validMessage }), trpcInput),
            fc.boolean(),
            async (method, input, batch) => {
              const user = freshUser('http-stream');
              const before = await snapshot();
              const res = await trpcRequest(['chat.stream'], [input], method, batch, await signToken(user));
              const what = `${method} /trpc/chat.stream${batch ? '?batch=1' : ''} input=${input === NO_INPUT ? '<none>' : JSON.stringify(input).slice(0, 120)}`;
              const message = isPlainObject(input) ? input.message : undefined;
              const resuming =
                isPlainObject(input) && typeof input.lastEventId === 'string' && input.lastEventId !== '';
              const valid =
                method === 'GET' &&
                !batch &&
                isAcceptableMessage(message) &&
                !hasSpecialToken(message) &&
                !hasPoisonKey(input) &&
                !resuming;
              expect(res.status, `${what} → ${res.text.slice(0, 300)}`).toBeLessThan(500);
              if (!String(res.headers['content-type']).startsWith('text/event-stream')) {
                if (valid)
                  throw new Error(
                    `${what}: a valid subscription was refused: ${res.status} ${res.text.slice(0, 300)}`,
                  );
                expect(res.status, `${what} → ${res.text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
                expectTrpcErrorBody(Array.isArray(res.json) ? (res.json as unknown[])[0] : res.json, what);
                await expectNothingStored(before, what);
                return;
              }
              const frames = await sseFrames(res.text);
              const errors = frames
                .filter((f) => f.event === 'serialized-error')
                .map((f) => tryJsonOf(f.data));
              const events = frames
                .filter((f) => f.event === 'message')
                .map((f) => tryJsonOf(f.data) as { type?: string; content?: string; thread_id?: string });
              if (errors.length > 0 || !valid) {
                if (valid) throw new Error(`${what}: a valid subscription failed: ${res.text.slice(0, 400)}`);
                expect(
                  errors.length,
                  `${what}: refused inside the stream with a serialized-error: ${res.text.slice(0, 300)}`,
                ).toBeGreaterThan(0);
                for (const error of errors) expectTrpcErrorBody({ error }, what);
                expect(events, `${what}: no events for a refused subscription`).toEqual([]);
                await expectNothingStored(before, what);
                return;
              }
              expect(res.status, what).toBe(200);
              expect(events.at(-1), `${what}: ends with done`).toMatchObject({
                type: 'done',
                thread_id: `user-${user}`,
                stopped: false,
              });
              const streamed = events.map((e) => (e.type === 'token' ? (e.content ?? '') : '')).join('');
              expect(streamed, what).toBe(FAKE_REPLY);
              await expectStoredTurn(user, message, streamed, before, what);
            },
          ),
          20,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );
  });

  async function expectStoredBytes(user: string, message: string, what: string) {
    const row = (await h.messages()).find(
      (m) => m.userId === user && m.role === 'user' && m.content === message,
    );
    expect(row, `${what}: ${JSON.stringify(message).slice(0, 80)} stored byte-exact`).toBeDefined();
  }

  // ---------------------------------------------------------------- tRPC over the WebSocket

  describe('tRPC over the WebSocket', () => {
    const wsMethod = fc.constantFrom('query', 'mutation', 'subscription');
    const wsPath = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.constantFrom(
          'chat.send',
          'chat.stream',
          'chat.stop',
          'chat.history',
          'chat.clear',
          'chat.sessions',
        ),
      },
      { weight: 1, arbitrary: fc.constantFrom('chat', 'chat.nope', '__proto__', 'toString', '') },
    );
    const wsInput = fc.oneof(
      trpcInput,
      fc.record({
        message: validMessage,
        lastEventId: fc.oneof(
          fc.string({ maxLength: 40 }),
          fc.constant('x:1'),
          fc.constant('00000000-0000-0000-0000-000000000000:0'),
          fc.constant(null),
        ),
      }),
    );
    const RIGHT_METHOD: Record<string, string> = {
      'chat.send': 'mutation',
      'chat.stop': 'mutation',
      'chat.clear': 'mutation',
      'chat.history': 'query',
      'chat.sessions': 'query',
      'chat.stream': 'subscription',
    };

    function expectWsError(frame: WsFrame | undefined, what: string): void {
      expect(
        typeof frame === 'object' && frame !== null && 'error' in frame,
        `${what}: an error frame, got ${JSON.stringify(frame)}`,
      ).toBe(true);
      expectTrpcErrorBody(frame, what);
    }

    it(
      'any sequence of calls (any path, method, input) gets, per id, a correct result or a tRPC error with a 4xx httpStatus; only accepted messages are stored',
      async () => {
        await check(
          fc.asyncProperty(
            fc.array(fc.tuple(wsMethod, wsPath, wsInput), { minLength: 1, maxLength: 3 }),
            async (calls) => {
              const user = freshUser('ws');
              const socket = await RawTrpcSocket.open(h.url, { token: await signToken(user) });
              const before = await snapshot();
              const accepted: string[] = [];
              let cleared = false;
              const what = `WS ${JSON.stringify(calls.map(([m, p, i]) => [m, p, i === NO_INPUT ? '<none>' : i])).slice(0, 300)}`;
              try {
                for (const [index, [method, path, input]] of calls.entries()) {
                  const id = index + 1;
                  const params = input === NO_INPUT ? { path } : { path, input };
                  const frames = await socket.call({ id, method, params });
                  const callWhat = `${what} #${id} ${method} ${path}`;
                  expect(socket.closeState, `${callWhat}: the server kept the socket open`).toBeUndefined();
                  const last = frames.at(-1);
                  const errorFrame = frames.find((f) => typeof f === 'object' && f.error);
                  if (errorFrame) {
                    expectWsError(errorFrame, callWhat);
                    const message = isPlainObject(input) ? input.message : undefined;
                    const valid =
                      Object.hasOwn(RIGHT_METHOD, path) &&
                      RIGHT_METHOD[path] === method &&
                      (path === 'chat.send' || path === 'chat.stream') &&
                      isAcceptableMessage(message) &&
                      !hasSpecialToken(message) &&
                      !hasPoisonKey(input) &&
                      !(
                        isPlainObject(input) &&
                        typeof input.lastEventId === 'string' &&
                        input.lastEventId !== ''
                      );
                    if (valid)
                      throw new Error(`${callWhat}: a valid call was refused: ${JSON.stringify(errorFrame)}`);
                    continue;
                  }
                  if (method === 'subscription') {
                    expect(frames[0], callWhat).toMatchObject({ result: { type: 'started' } });
                    expect(last, callWhat).toMatchObject({ result: { type: 'stopped' } });
                    const events = frames
                      .filter(
                        (f): f is Exclude<WsFrame, string> =>
                          typeof f === 'object' && f.result?.type === 'data',
                      )
                      .map(
                        (f) =>
                          (f.result?.data as { data?: unknown } | undefined)?.data as {
                            type?: string;
                            content?: string;
                            thread_id?: string;
                          },
                      );
                    expect(events.at(-1), `${callWhat}: ends with done`).toMatchObject({
                      type: 'done',
                      thread_id: `user-${user}`,
                    });
                    expect(events.map((e) => (e.type === 'token' ? e.content : '')).join(''), callWhat).toBe(
                      FAKE_REPLY,
                    );
                    accepted.push((input as { message: string }).message);
                  } else {
                    expect(last, callWhat).toMatchObject({ result: { type: 'data' } });
                    expectTrpcResult(
                      path,
                      (last as { result: { data: unknown } }).result.data,
                      user,
                      callWhat,
                    );
                    if (path === 'chat.send') accepted.push((input as { message: string }).message);
                    if (path === 'chat.clear') cleared = true;
                  }
                }
              } finally {
                await socket.close();
              }
              await expectOnlyAcceptedSends(user, accepted, before, what, cleared);
              if (!cleared) for (const message of accepted) await expectStoredBytes(user, message, what);
            },
          ),
          40,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    /** Frames no client should send: random JSON or text, binary frames (even carrying a valid call), bytes that are not UTF-8. */
    const junkFrame = fc.oneof(
      fc.json({ maxDepth: 3 }).map((text) => ({ label: 'random JSON', data: text, binary: false })),
      fc
        .string({ maxLength: 50 })
        .filter((s) => s !== 'PING' && s !== 'PONG')
        .map((text) => ({ label: 'random text', data: text, binary: false })),
      fc
        .uint8Array({ minLength: 1, maxLength: 64 })
        .map((bytes) => ({ label: 'random binary', data: Buffer.from(bytes), binary: true })),
      fc.record({ message: validMessage }).map((input) => ({
        label: 'a valid chat.send in a binary frame',
        data: Buffer.from(
          JSON.stringify({ id: 9, method: 'mutation', params: { path: 'chat.send', input } }),
        ),
        binary: true,
      })),
      invalidUtf8Body.map(({ label, body }) => ({
        label: `text frame with ${label}`,
        data: Buffer.concat([
          Buffer.from('{"id":9,"method":"mutation","params":{"path":"chat.send","input":'),
          body,
          Buffer.from('}}'),
        ]),
        binary: false,
      })),
      fc
        .constantFrom(
          '{"id":9,"method":"mutation","params":{"path":"chat.send","input":{"message":' +
            '['.repeat(5000) +
            ']'.repeat(5000) +
            '}}}',
          '[' + '{"id":9,"method":"query","params":{"path":"chat.sessions"}},'.repeat(200).slice(0, -1) + ']',
          '{"id":{"x":1},"method":"mutation","params":{"path":"chat.send","input":{"message":"hi"}}}',
          '{"id":9,"method":"mutation","params":null}',
          '{"id":9,"method":"subscription.stop"}',
          '{"id":9,"method":"connectionParams","data":{"token":"x"}}',
          `{"id":9,"method":"mutation","params":{"path":"chat.send","input":{"message":"${'x'.repeat(70_000)}"}}}`,
        )
        .map((text) =>
          labelled(
            { label: 'crafted frame', data: text, binary: false },
            `crafted frame ${text.slice(0, 80)}… (${text.length} chars)`,
          ),
        ),
    );

    it(
      'a junk frame gets an error frame or a close, never a stored message or a 5xx, and the server keeps serving other sockets',
      async () => {
        await check(
          fc.asyncProperty(junkFrame, async ({ label, data, binary }) => {
            const user = freshUser('ws-junk');
            const socket = await RawTrpcSocket.open(h.url, { token: await signToken(user) });
            const before = await snapshot();
            const what = `WS ${label}: ${(typeof data === 'string' ? data : data.toString('hex')).slice(0, 120)}`;
            try {
              socket.send(data, { binary });
              const isBatchOfQueries =
                typeof data === 'string' && data.startsWith('[{"id":9,"method":"query"');
              const isStop = typeof data === 'string' && data.includes('"subscription.stop"');
              const isEmptyBatch = typeof data === 'string' && /^\s*\[\s*\]\s*$/.test(data);
              if (isStop || isEmptyBatch) {
                // Stopping a subscription that does not exist, or an empty batch, asks nothing; the socket must still work.
                await new Promise((resolve) => setTimeout(resolve, 100));
              } else {
                await socket.until(
                  () =>
                    socket.frames.some(
                      (f) => typeof f === 'object' && (f.error !== undefined || f.result !== undefined),
                    ),
                  5_000,
                  what,
                );
              }
              for (const frame of socket.frames) {
                if (typeof frame !== 'object') continue;
                if (frame.error) expectTrpcErrorBody(frame, what);
                else if (!isBatchOfQueries)
                  throw new Error(
                    `${what}: the junk frame got a result: ${JSON.stringify(frame).slice(0, 300)}`,
                  );
              }
              if (socket.closeState)
                expect([1002, 1003, 1007, 1008, 1009, 1000, 1005], `${what}: close code`).toContain(
                  socket.closeState.code,
                );
            } finally {
              await socket.close();
            }
            await expectNothingStored(before, what);
            const probe = await RawTrpcSocket.open(h.url, { token: await signToken(user) });
            try {
              const frames = await probe.call({ id: 1, method: 'query', params: { path: 'chat.sessions' } });
              expect(frames.at(-1), `${what}: a new socket still works`).toMatchObject({
                result: { type: 'data', data: { user_id: user } },
              });
            } finally {
              await probe.close();
            }
          }),
          40,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );

    it(
      'junk connectionParams (or none, or a bad token) make every call UNAUTHORIZED or close the socket; nothing is stored',
      async () => {
        const forged = new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('forged')
          .setExpirationTime('1h');
        const params = fc.oneof(
          fc.jsonValue({ maxDepth: 2 }),
          fc.record({ token: fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null)) }),
          fc.constant({ token: 'Bearer abc' }),
          fc.constant('FORGED'),
          fc.constant('EXPIRED'),
          fc.constant('NONE'),
        );
        await check(
          fc.asyncProperty(
            params,
            fc.constantFrom('chat.send', 'chat.stream', 'chat.sessions', 'chat.clear'),
            async (value, path) => {
              let socket: RawTrpcSocket;
              if (value === 'NONE') socket = await RawTrpcSocket.open(h.url);
              else if (value === 'FORGED')
                socket = await RawTrpcSocket.open(h.url, {
                  token: await forged.sign(
                    new TextEncoder().encode('not-the-secret-not-the-secret-0123456789'),
                  ),
                });
              else if (value === 'EXPIRED')
                socket = await RawTrpcSocket.open(h.url, {
                  token: await signToken('expired', { exp: Math.floor(Date.now() / 1000) - 60 }),
                });
              else socket = await RawTrpcSocket.open(h.url, value, { connectionParams: true });
              const before = await snapshot();
              const what = `WS connectionParams ${JSON.stringify(value)?.slice(0, 100)} then ${path}`;
              try {
                const method = RIGHT_METHOD[path] ?? 'query';
                const frames = await socket.call({
                  id: 1,
                  method,
                  params: { path, input: { message: 'should not be stored' } },
                });
                for (const frame of socket.frames) {
                  if (typeof frame !== 'object') continue;
                  expect(frame.result, `${what}: no result for an unauthenticated call`).toBeUndefined();
                  expectTrpcErrorBody(frame, what);
                }
                if (!socket.closeState) {
                  // Malformed params may be refused as a PARSE_ERROR (400) instead; a well-formed bad token is a 401.
                  const wellFormed =
                    value === 'NONE' ||
                    value === 'FORGED' ||
                    value === 'EXPIRED' ||
                    (isPlainObject(value) &&
                      (value.token === undefined || typeof value.token === 'string') &&
                      Object.values(value).every((v) => typeof v === 'string'));
                  const last = frames.at(-1) as Exclude<WsFrame, string> | undefined;
                  expect(last?.error, `${what}: ${JSON.stringify(frames)}`).toBeDefined();
                  if (wellFormed)
                    expect(last, `${what}: ${JSON.stringify(frames)}`).toMatchObject({
                      error: { data: { code: 'UNAUTHORIZED', httpStatus: 401 } },
                    });
                  else
                    expect([400, 401], `${what}: ${JSON.stringify(frames)}`).toContain(
                      last?.error?.data.httpStatus,
                    );
                }
              } finally {
                await socket.close();
              }
              await expectNothingStored(before, what);
            },
          ),
          30,
        );
      },
      PROPERTY_TEST_TIMEOUT_MS,
    );
  });

  it('afterwards the server still answers GET /health with 200 and logged no internal error', async () => {
    const res = await rawRequest(h.url, { method: 'GET', path: '/health' });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok', database: driver.name, redis: 'disabled' });
    const internal = errorLogs
      .map((line) => JSON.parse(line) as { level: number; msg?: string; err?: { message?: string } })
      .filter((l) => l.level >= 50);
    expect(
      internal.map((l) => `${l.msg ?? ''}: ${l.err?.message ?? ''}`),
      'error-level log lines (internal failures, even ones hidden inside a 200 stream)',
    ).toEqual([]);
  });
});

describe('POST /auth/dev-login in dev auth mode (PGlite)', () => {
  const [pglite] = testDrivers();
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(pglite!, { env: { JWT_SECRET: undefined, NODE_ENV: 'development' } });
  });
  afterAll(() => h?.close());

  it(
    'any body is a token for a plain 1–64 character id, or a 400 JSON error; the token signs in as exactly that id',
    async () => {
      const userId = fc.oneof(
        fc.stringMatching(/^[A-Za-z0-9_.@-]{1,64}$/),
        fc.string({ unit: 'binary', maxLength: 70 }),
        loneSurrogate.map((s) => `dev${s}`),
        nonStringMessage,
        fc.constant('x'.repeat(65)),
      );
      const body = fc.oneof(
        userId.map((id) => ({ kind: 'json', text: JSON.stringify({ userId: id }), id })),
        fc.json({ maxDepth: 2 }).map((text) => ({ kind: 'random', text, id: undefined })),
        invalidUtf8Body.map(({ body: bytes }) => ({
          kind: 'utf8',
          text: bytes.toString('latin1'),
          id: undefined,
        })),
      );
      await check(
        fc.asyncProperty(body, async ({ kind, text, id }) => {
          const payload = kind === 'utf8' ? Buffer.from(text, 'latin1') : text;
          const res = await rawRequest(h.url, {
            method: 'POST',
            path: '/auth/dev-login',
            headers: { 'content-type': 'application/json' },
            body: payload,
          });
          const what = `dev-login ${text.slice(0, 100)}`;
          const plain = typeof id === 'string' && /^[A-Za-z0-9_.@-]{1,64}$/.test(id);
          if (kind === 'json' && plain) expect(res.status, `${what} → ${res.text.slice(0, 200)}`).toBe(200);
          if (res.status !== 200) {
            expect(res.status, `${what} → ${res.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
            expect(res.status, `${what} → ${res.text.slice(0, 200)}`).toBeLessThan(500);
            expect(res.json, what).toMatchObject({ error: { code: anyString, message: anyString } });
            return;
          }
          const issued = (JSON.parse(text) as { userId: unknown }).userId;
          expect(
            typeof issued === 'string' && /^[A-Za-z0-9_.@-]{1,64}$/.test(issued),
            `${what}: only plain ids get a token`,
          ).toBe(true);
          const { token } = res.json as { token: string };
          const sessions = await rawRequest(h.url, {
            method: 'GET',
            path: '/chat/sessions',
            headers: { authorization: `Bearer ${token}` },
          });
          expect((sessions.json as { user_id?: string }).user_id, what).toBe(issued);
        }),
        30,
      );
    },
    PROPERTY_TEST_TIMEOUT_MS,
  );
});
