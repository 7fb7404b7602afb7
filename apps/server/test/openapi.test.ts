import { randomUUID } from 'node:crypto';
import { testDrivers, type TestDriver } from '@fixthread/core/testing';
import { parseSse } from '@fixthread/testing';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import packageJson from '../package.json' with { type: 'json' };
import { pngBomb, solidImage } from '../../../packages/core/src/attachments/test-images';
import { startHarness, type Harness } from './support/harness';

/**
 * The OpenAPI document against the running server: it must be valid OpenAPI 3.1, name every REST route the
 * server has (and nothing else), and every answer the server gives (status, content type, body, each SSE
 * event and NDJSON line) must be one the document describes. Schemas are closed, so a field added to or
 * dropped from a response without the document following fails here.
 */

interface Parameter {
  in: 'query' | 'path' | 'header';
  name: string;
  required?: boolean;
  schema: { type?: string; minimum?: number; maximum?: number; maxLength?: number };
}

interface Operation {
  operationId: string;
  tags: string[];
  security?: object[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: object }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: object }> }>;
}

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  servers: { url: string }[];
  security: object[];
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object>; securitySchemes: Record<string, object> };
}

interface Call {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** As the document names it, `{param}` and all. */
  path: string;
  params?: Record<string, string>;
  query?: Record<string, string>;
  token?: string;
  json?: unknown;
  /** A raw body, sent with the content type in `headers`. */
  body?: string;
  /** A multipart/form-data body (fetch sets the content type and boundary). */
  form?: FormData;
  headers?: Record<string, string>;
}

interface Answer {
  status: number;
  mediaType: string;
  text: string;
  /** The body as JSON; for SSE each `data:` event, for NDJSON each line; Markdown as one string. */
  items: unknown[];
}

const SSE = 'text/event-stream';
const NDJSON = 'application/x-ndjson';
/** Not part of the REST contract, so not in the document: tRPC, the docs themselves, metrics. */
const NOT_REST = /^\/(trpc|docs|openapi\.json|metrics)(\/|$)|^\/\*$/;

/** Checks answers against the document; remembers which operation answered which status. */
class Contract {
  private readonly ajv = new Ajv2020({ strict: true, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  readonly exercised = new Set<string>();

  constructor(readonly doc: OpenApiDocument) {
    this.ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    this.ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
    // Uploads and images: bytes, which the document describes and ajv has nothing to check in.
    this.ajv.addFormat('binary', true);
  }

  operations(): [key: string, operation: Operation][] {
    return Object.entries(this.doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]): [string, Operation] => [`${method.toUpperCase()} ${path}`, operation]),
    );
  }

  operation(method: string, path: string): Operation {
    const operation = this.doc.paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`${method} ${path} is not in the document`);
    return operation;
  }

  async exercise(baseUrl: string, call: Call): Promise<Answer> {
    const answer = await send(baseUrl, call);
    this.check(call, answer);
    return answer;
  }

  /** Throws unless the status and content type are documented for the operation and the body matches. */
  check(call: Call, answer: Answer): void {
    const operation = this.operation(call.method, call.path);
    const response = operation.responses[String(answer.status)];
    if (!response) throw new Error(`${call.method} ${call.path} answered ${answer.status}, which it does not document: ${answer.text}`);
    if (!response.content) {
      // Documented without a body (a 304).
      expect(answer.text, `${call.method} ${call.path} ${answer.status} has a body it does not document`).toBe('');
      this.exercised.add(`${call.method} ${call.path} ${answer.status}`);
      return;
    }
    const media = response.content?.[answer.mediaType];
    if (!media) throw new Error(`${call.method} ${call.path} ${answer.status} answered ${answer.mediaType || 'no content type'}, which it does not document`);
    const validate = this.validator(`${call.method} ${call.path} ${answer.status} ${answer.mediaType}`, media.schema);
    expect(answer.items.length, `${call.method} ${call.path} answered nothing to check`).toBeGreaterThan(0);
    for (const item of answer.items) this.expectValid(validate, item, `${call.method} ${call.path} ${answer.status} ${answer.mediaType}`);
    if (answer.status < 300 && call.json !== undefined) {
      const body = operation.requestBody?.content['application/json'];
      if (!body) throw new Error(`${call.method} ${call.path} accepted a JSON body it does not document`);
      this.expectValid(this.validator(`${call.method} ${call.path} request`, body.schema), call.json, `${call.method} ${call.path} request body`);
    }
    this.exercised.add(`${call.method} ${call.path} ${answer.status}`);
  }

  private expectValid(validate: ValidateFunction, value: unknown, what: string): void {
    if (validate(value)) return;
    const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    throw new Error(`${what} does not match the document:\n${problems.join('\n')}\n${JSON.stringify(value)}`);
  }

  /** The document's schema as a standalone 2020-12 schema: its `#/components/schemas/` refs become `$defs`. */
  private validator(key: string, schema: object): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      const local = (value: object): object => JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', '"#/$defs/')) as object;
      validate = this.ajv.compile({ ...local(schema), $defs: local(this.doc.components.schemas) });
      this.validators.set(key, validate);
    }
    return validate;
  }
}

async function send(baseUrl: string, call: Call): Promise<Answer> {
  const path = call.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(call.params?.[name] ?? ''));
  const url = new URL(path, baseUrl);
  for (const [name, value] of Object.entries(call.query ?? {})) url.searchParams.set(name, value);
  const headers: Record<string, string> = { ...call.headers };
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  let body: string | FormData | undefined = call.form ?? call.body;
  if (call.json !== undefined) {
    body = JSON.stringify(call.json);
    headers['content-type'] = 'application/json';
  }
  const response = await fetch(url, { method: call.method, headers, body });
  const text = await response.text();
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  return { status: response.status, mediaType, text, items: await itemsOf(mediaType, text) };
}

async function itemsOf(mediaType: string, text: string): Promise<unknown[]> {
  if (mediaType === 'application/json') return [JSON.parse(text) as unknown];
  if (mediaType === NDJSON) return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as unknown);
  if (mediaType === SSE) {
    const events: unknown[] = [];
    for await (const data of parseSse(textSource(text))) events.push(JSON.parse(data));
    return events;
  }
  return [text];
}

async function* textSource(text: string): AsyncGenerator<string> {
  yield text;
}

/** Fastify's own route table, as `METHOD /path` with `:params`; HEAD is Fastify's automatic twin of each GET. */
function registeredRoutes(app: FastifyInstance): string[] {
  const routes: string[] = [];
  const segments: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const node = /^((?:[│ ] {3})*)[├└]── (.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (!node) continue;
    segments.length = node[1]!.length / 4;
    segments.push(node[2]!);
    for (const method of node[3]?.split(', ') ?? []) {
      if (method !== 'HEAD') routes.push(`${method} ${segments.join('')}`);
    }
  }
  return routes;
}

/** @fastify/cors's catch-all for preflights: CORS, not an operation of the API. */
const CORS_PREFLIGHT_ROUTE = 'OPTIONS *';

function restRoutes(app: FastifyInstance): string[] {
  return registeredRoutes(app)
    .filter((route) => route !== CORS_PREFLIGHT_ROUTE && !NOT_REST.test(route.split(' ')[1]!))
    .sort();
}

function documentedRoutes(doc: OpenApiDocument): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`))
    .sort();
}

async function fetchDocument(baseUrl: string): Promise<OpenApiDocument> {
  const response = await fetch(`${baseUrl}/openapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return (await response.json()) as OpenApiDocument;
}

async function expectValidOpenApi31(doc: OpenApiDocument): Promise<void> {
  const validator = new Validator();
  const result = await validator.validate(doc as unknown as Record<string, unknown>);
  expect(result.errors).toBeUndefined();
  expect(result.valid).toBe(true);
  expect(validator.version).toBe('3.1');
}

const dummyParams = { turnId: randomUUID(), threadId: 'thread-x', id: 'att_AAAAAAAAAAAAAAAAAAAAAA' };
const MAX_IMAGE_BYTES = 200_000;

function photoForm(bytes: Uint8Array, filename = 'photo.jpg'): FormData {
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: 'image/jpeg' }), filename);
  return form;
}

describe.each(testDrivers())('the OpenAPI document on $name', (driver: TestDriver) => {
  let h: Harness;
  let contract: Contract;
  let token: string;
  const api = (call: Call) => contract.exercise(h.url, call);

  beforeAll(async () => {
    // METRICS_TOKEN puts /metrics on the main port, which the document must leave out.
    h = await startHarness(driver, { env: { METRICS_TOKEN: 'metrics-token-0123456789', MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES) } });
    contract = new Contract(await fetchDocument(h.url));
    token = await h.token('ana');
  });
  afterAll(() => h.close());

  it('is a valid OpenAPI 3.1 document, served without a token, describing FixThread', async () => {
    const { doc } = contract;
    await expectValidOpenApi31(doc);
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'FixThread', version: packageJson.version });
    expect(doc.servers.length).toBeGreaterThan(0);
    expect(doc.components.securitySchemes.bearerAuth).toEqual({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    const publicOperations = contract.operations().filter(([, operation]) => operation.security?.length === 0);
    expect(publicOperations.map(([key]) => key).sort()).toEqual(['GET /auth/mode', 'GET /health']);
    const declaredTags = doc.tags.map((tag) => tag.name);
    for (const [key, operation] of contract.operations()) {
      expect(operation.tags, key).toHaveLength(1);
      expect(declaredTags, key).toContain(operation.tags[0]);
    }
  });

  it('names every REST route the server registers, and nothing else (no tRPC, WebSocket, metrics or docs)', () => {
    const routes = restRoutes(h.server.app);
    expect(routes.length).toBeGreaterThan(15);
    expect(documentedRoutes(contract.doc)).toEqual(routes);
    expect(registeredRoutes(h.server.app)).toEqual(expect.arrayContaining(['GET /metrics', 'GET /trpc', 'GET /openapi.json', 'GET /docs']));
  });

  it('serves the Swagger UI page with its own assets, so it works offline', async () => {
    const page = await fetch(`${h.url}/docs/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('swagger-ui');
    const scripts = [...html.matchAll(/src="\.\/(static\/[^"]+\.js)"/g)].map((match) => match[1]);
    expect(scripts).toContain('static/swagger-ui-bundle.js');
    for (const script of scripts) {
      const asset = await fetch(`${h.url}/docs/${script}`);
      expect(asset.status, script).toBe(200);
      expect(asset.headers.get('content-type'), script).toMatch(/javascript/);
      await asset.arrayBuffer();
    }
    // The page loads the same document the API serves.
    const embedded = await fetch(`${h.url}/docs/json`);
    expect(await embedded.json()).toEqual(contract.doc);
  });

  it('every bearer-protected operation answers 401 without a token, as documented', async () => {
    const protectedOperations = contract.operations().filter(([, operation]) => operation.security === undefined);
    expect(protectedOperations.length).toBeGreaterThan(10);
    for (const [key] of protectedOperations) {
      const [method, path] = key.split(' ') as [Call['method'], string];
      const answer = await api({ method, path, params: dummyParams });
      expect(answer.status, key).toBe(401);
      expect(answer.items[0], key).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
  });

  it('every operation with a JSON body answers 400, 413 and 415 for unreadable bodies, as documented', async () => {
    const withBody = contract.operations().filter(([, operation]) => operation.requestBody?.content['application/json']);
    expect(withBody.length).toBeGreaterThan(5);
    for (const [key] of withBody) {
      const [method, path] = key.split(' ') as [Call['method'], string];
      const call = { method, path, params: dummyParams, token };
      expect((await api({ ...call, json: ['not', 'an', 'object'] })).status, key).toBe(400);
      expect((await api({ ...call, body: '{"message": ', headers: { 'content-type': 'application/json' } })).status, key).toBe(400);
      expect((await api({ ...call, body: 'hello', headers: { 'content-type': 'text/plain' } })).status, key).toBe(415);
      expect((await api({ ...call, json: { message: 'x'.repeat(70 * 1024) } })).status, key).toBe(413);
    }
  });

  it('holds every bounded query parameter to the engine: the documented limit is accepted, one past it refused', async () => {
    const required: Record<string, Record<string, string>> = { 'GET /chat/search': { q: 'screen' } };
    let bounds = 0;
    for (const [key, operation] of contract.operations()) {
      const [method, path] = key.split(' ') as [Call['method'], string];
      for (const { name, in: where, schema } of operation.parameters ?? []) {
        if (where !== 'query') continue;
        const tries: [value: string, accepted: boolean][] = [];
        if (schema.type === 'integer' && schema.maximum !== undefined) tries.push([String(schema.maximum), true], [String(schema.maximum + 1), false]);
        if (schema.type === 'integer' && schema.minimum !== undefined) tries.push([String(schema.minimum - 1), false]);
        if (schema.type === 'string' && schema.maxLength !== undefined) tries.push(['x'.repeat(schema.maxLength), true], ['x'.repeat(schema.maxLength + 1), false]);
        for (const [value, accepted] of tries) {
          const answer = await api({ method, path, token, query: { ...required[key], [name]: value } });
          if (accepted) expect(answer.status, `${key} ${name}=${value.slice(0, 20)}`).toBe(200);
          else expect(answer.items[0], `${key} ${name}=${value.slice(0, 20)}`).toMatchObject({ error: { code: 'VALIDATION', details: { field: name } } });
        }
        bounds += tries.length > 0 ? 1 : 0;
      }
    }
    // history limit and before, threads limit, search q and limit
    expect(bounds).toBe(5);
  });

  it('a conversation answers as documented at every step: ask, stream, resume, regenerate, edit, stop, history, sessions', async () => {
    h.openai.enqueue(
      { toolCalls: [{ name: 'search_ifixit_guides', arguments: JSON.stringify({ query: 'iPhone screen' }) }] },
      { text: 'Warm the edges, then pry gently.', delayMsBetweenChunks: 5 },
    );
    const sent = await api({ method: 'POST', path: '/chat', token, json: { message: 'How do I replace my iPhone screen?' } });
    expect(sent.status).toBe(200);

    h.openai.enqueue(
      { toolCalls: [{ name: 'search_ifixit_guides', arguments: JSON.stringify({ query: 'iPhone battery' }) }] },
      { text: 'Disconnect the battery first, always.', delayMsBetweenChunks: 5 },
    );
    const key = randomUUID();
    const streamed = await api({ method: 'POST', path: '/chat/stream', token, headers: { 'idempotency-key': key }, json: { message: 'And the battery?' } });
    expect(streamed.status).toBe(200);
    expect(streamed.mediaType).toBe(SSE);
    const done = streamed.items.at(-1) as { type: string; turn_id: string; sources: unknown[] };
    expect(done).toMatchObject({ type: 'done' });
    expect(done.sources.length).toBeGreaterThan(0);
    expect(streamed.items.map((event) => (event as { type: string }).type)).toContain('status');

    const conflict = await api({ method: 'POST', path: '/chat/stream', token, headers: { 'idempotency-key': key }, json: { message: 'Something else' } });
    expect(conflict.status).toBe(409);
    const tooLongKey = await api({ method: 'POST', path: '/chat', token, headers: { 'idempotency-key': 'k'.repeat(256) }, json: { message: 'hi' } });
    expect(tooLongKey.status).toBe(400);

    const firstId = /^id: (.+)$/m.exec(streamed.text)?.[1];
    expect(firstId).toBeDefined();
    const resumed = await api({ method: 'GET', path: '/chat/stream/{turnId}', params: { turnId: done.turn_id }, token, headers: { 'last-event-id': firstId! } });
    expect(resumed.status).toBe(200);
    // Tokens may be grouped differently when replayed from the record; the words and the `done` are the same.
    const tokens = (events: unknown[]) => events.map((e) => ((e as { type: string }).type === 'token' ? (e as { content: string }).content : '')).join('');
    expect(tokens(resumed.items)).toBe(tokens(streamed.items));
    expect(resumed.items.at(-1)).toEqual(done);
    const otherTurn = await api({ method: 'GET', path: '/chat/stream/{turnId}', params: { turnId: randomUUID() }, token, headers: { 'last-event-id': firstId! } });
    expect(otherTurn.status).toBe(400);
    const unknownTurn = await api({ method: 'GET', path: '/chat/stream/{turnId}', params: { turnId: randomUUID() }, token });
    expect(unknownTurn.status).toBe(404);

    const regenerated = await api({ method: 'POST', path: '/chat/regenerate', token });
    expect(regenerated.status).toBe(200);
    expect(regenerated.items.at(-1)).toMatchObject({ type: 'done' });
    const edited = await api({ method: 'POST', path: '/chat/edit', token, json: { message: 'And the battery of an iPhone 12?' } });
    expect(edited.status).toBe(200);
    expect((await api({ method: 'POST', path: '/chat/stop', token, json: {} })).status).toBe(200);
    expect((await api({ method: 'POST', path: '/chat/stop', token })).items[0]).toEqual({ stopped: false });

    const page = await api({ method: 'GET', path: '/chat/history', token, query: { limit: '2' } });
    expect(page.items[0]).toMatchObject({ message_count: 2, has_more: true });
    const older = await api({ method: 'GET', path: '/chat/history', token, query: { before: String((page.items[0] as { next_before: number }).next_before) } });
    expect(older.status).toBe(200);
    expect((await api({ method: 'GET', path: '/chat/history', token, query: { limit: 'many' } })).status).toBe(400);
    expect((await api({ method: 'GET', path: '/chat/sessions', token })).status).toBe(200);

    const fresh = await h.token('newcomer');
    const empty = await api({ method: 'GET', path: '/chat/history', token: fresh });
    expect(empty.items[0]).toMatchObject({ message_count: 0, next_before: null });
    expect((await api({ method: 'GET', path: '/chat/sessions', token: fresh })).items[0]).toMatchObject({ session_start: null });
    expect((await api({ method: 'POST', path: '/chat/regenerate', token: fresh, json: {} })).status).toBe(400);
  });

  it('threads, search and export answer as documented, Markdown, JSON and NDJSON alike', async () => {
    const created = await api({ method: 'POST', path: '/chat/threads', token, json: { title: 'Laptop hinge' } });
    expect(created.status).toBe(201);
    const threadId = (created.items[0] as { id: string }).id;
    expect((await api({ method: 'POST', path: '/chat/threads', token })).status).toBe(201);
    expect((await api({ method: 'POST', path: '/chat', token, json: { message: 'My laptop hinge cracked', thread_id: threadId } })).status).toBe(200);

    const firstPage = await api({ method: 'GET', path: '/chat/threads', token, query: { limit: '1' } });
    const cursor = (firstPage.items[0] as { next_cursor: string | null }).next_cursor;
    expect(cursor).toEqual(expect.any(String));
    expect((await api({ method: 'GET', path: '/chat/threads', token, query: { cursor: cursor! } })).status).toBe(200);
    expect((await api({ method: 'GET', path: '/chat/threads', token, query: { cursor: 'not-ours' } })).status).toBe(400);

    const renamed = await api({ method: 'PATCH', path: '/chat/threads/{threadId}', params: { threadId }, token, json: { title: 'Cracked hinge' } });
    expect(renamed.items[0]).toMatchObject({ id: threadId, title: 'Cracked hinge' });
    expect((await api({ method: 'PATCH', path: '/chat/threads/{threadId}', params: { threadId }, token, json: { title: ' ' } })).status).toBe(400);

    const found = await api({ method: 'GET', path: '/chat/search', token, query: { q: 'hinge' } });
    expect((found.items[0] as { results: unknown[] }).results.length).toBeGreaterThan(0);
    expect((await api({ method: 'GET', path: '/chat/search', token })).status).toBe(400);

    const markdown = await api({ method: 'GET', path: '/chat/export', token, query: { thread_id: threadId } });
    expect(markdown.mediaType).toBe('text/markdown');
    expect(markdown.text).toMatch(/^# Cracked hinge/);
    const json = await api({ method: 'GET', path: '/chat/export', token, query: { thread_id: threadId, format: 'json' } });
    expect((json.items[0] as { messages: unknown[] }).messages).toHaveLength(2);
    const oneThread = await api({ method: 'GET', path: '/chat/export', token, query: { thread_id: threadId, format: 'ndjson' } });
    expect(oneThread.items).toHaveLength(2);
    const everything = await api({ method: 'GET', path: '/chat/export', token, query: { format: 'ndjson' } });
    expect(everything.mediaType).toBe(NDJSON);
    expect(new Set(everything.items.map((record) => (record as { type: string }).type))).toEqual(new Set(['thread', 'message']));
    const neverUsed = await api({ method: 'GET', path: '/chat/export', token: await h.token('quiet'), query: { format: 'json' } });
    expect(neverUsed.items[0]).toEqual({ thread: { id: null }, messages: [] });
    expect((await api({ method: 'GET', path: '/chat/export', token, query: { format: 'pdf' } })).status).toBe(400);

    expect((await api({ method: 'DELETE', path: '/chat/history', token, query: { thread_id: threadId } })).status).toBe(200);
    expect((await api({ method: 'DELETE', path: '/chat/threads/{threadId}', params: { threadId }, token })).status).toBe(200);
  });

  it('another user’s thread, or an unknown one, is a documented 404 wherever a thread is named', async () => {
    const theirs = (await api({ method: 'POST', path: '/chat/threads', token: await h.token('ben'), json: { title: 'Ben’s' } })).items[0] as { id: string };
    const threadId = theirs.id;
    const calls: Call[] = [
      { method: 'POST', path: '/chat', json: { message: 'hi', thread_id: threadId } },
      { method: 'POST', path: '/chat/stream', json: { message: 'hi', thread_id: threadId } },
      { method: 'POST', path: '/chat/regenerate', json: { thread_id: threadId } },
      { method: 'POST', path: '/chat/edit', json: { message: 'hi', thread_id: threadId } },
      { method: 'POST', path: '/chat/stop', json: { thread_id: threadId } },
      { method: 'GET', path: '/chat/history', query: { thread_id: threadId } },
      { method: 'DELETE', path: '/chat/history', query: { thread_id: threadId } },
      { method: 'GET', path: '/chat/sessions', query: { thread_id: threadId } },
      { method: 'PATCH', path: '/chat/threads/{threadId}', params: { threadId }, json: { title: 'Mine now' } },
      { method: 'DELETE', path: '/chat/threads/{threadId}', params: { threadId } },
      { method: 'GET', path: '/chat/export', query: { thread_id: 'user-nobody/x' } },
    ];
    for (const call of calls) {
      const answer = await api({ ...call, token });
      expect(answer.status, `${call.method} ${call.path}`).toBe(404);
      expect(answer.items[0]).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
  });

  it('the one operation with a multipart body takes only multipart/form-data, and documents nothing else', () => {
    const multipart = contract.operations().filter(([, operation]) => operation.requestBody?.content['multipart/form-data']);
    expect(multipart.map(([key]) => key)).toEqual(['POST /chat/attachments']);
    expect(Object.keys(multipart[0]![1].requestBody!.content)).toEqual(['multipart/form-data']);
  });

  it('photos answer as documented: upload, refusals, the bytes and their thumbnail, 304, and sending them', async () => {
    const photo = await api({ method: 'POST', path: '/chat/attachments', token, form: photoForm(await solidImage('png', 90, 60)) });
    expect(photo.status).toBe(201);
    const { id } = photo.items[0] as { id: string };

    const refusals: [Call, number][] = [
      [{ method: 'POST', path: '/chat/attachments', form: photoForm(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), 'x.png') }, 415],
      [{ method: 'POST', path: '/chat/attachments', json: { file: 'not multipart' } }, 415],
      [{ method: 'POST', path: '/chat/attachments', form: photoForm(Buffer.alloc(MAX_IMAGE_BYTES + 1)) }, 413],
      [{ method: 'POST', path: '/chat/attachments', form: photoForm(pngBomb(30_000, 30_000)) }, 422],
      [{ method: 'POST', path: '/chat/attachments', form: new FormData() }, 400],
    ];
    for (const [call, status] of refusals) {
      const answer = await api({ ...call, token });
      expect(answer.status, JSON.stringify(answer.items[0])).toBe(status);
    }

    for (const path of ['/chat/attachments/{id}', '/chat/attachments/{id}/thumbnail']) {
      const image = await api({ method: 'GET', path, params: { id }, token });
      expect(image.status, path).toBe(200);
      expect(image.mediaType, path).toBe(path.endsWith('thumbnail') ? 'image/webp' : 'image/png');
      const headers = { 'if-none-match': (await fetch(`${h.url}${path.replace('{id}', id)}`, { headers: { authorization: `Bearer ${token}` } })).headers.get('etag')! };
      expect((await api({ method: 'GET', path, params: { id }, token, headers })).status, path).toBe(304);
      expect((await api({ method: 'GET', path, params: { id }, token: await h.token('ben') })).status, path).toBe(404);
    }

    const foreign = (await api({ method: 'POST', path: '/chat/attachments', token: await h.token('ben'), form: photoForm(await solidImage('jpeg', 30, 30)) })).items[0] as { id: string };
    for (const path of ['/chat', '/chat/stream', '/chat/edit']) {
      const refused = await api({ method: 'POST', path, token, json: { message: 'Whose is this?', attachments: [foreign.id] } });
      expect(refused.status, path).toBe(404);
      expect(refused.items[0], path).toMatchObject({ error: { code: 'ATTACHMENT_NOT_FOUND' } });
    }
    const sent = await api({ method: 'POST', path: '/chat', token, json: { message: 'What is this connector?', attachments: [id] } });
    expect(sent.status).toBe(200);
    const second = (await api({ method: 'POST', path: '/chat/attachments', token, form: photoForm(await solidImage('jpeg', 40, 40)) })).items[0] as { id: string };
    const streamed = await api({ method: 'POST', path: '/chat/stream', token, json: { message: '', attachments: [second.id] } });
    expect(streamed.items.at(-1)).toMatchObject({ type: 'done' });
    const page = await api({ method: 'GET', path: '/chat/history', token, query: { limit: '2' } });
    expect((page.items[0] as { messages: { attachments: { id: string }[] }[] }).messages[0]!.attachments.map((a) => a.id)).toEqual([second.id]);
  });

  it('health and auth mode answer as documented, without a token', async () => {
    expect((await api({ method: 'GET', path: '/health' })).items[0]).toMatchObject({ status: 'ok', database: driver.name === 'postgres' ? 'postgres' : 'pglite' });
    expect((await api({ method: 'GET', path: '/auth/mode' })).items[0]).toEqual({ mode: 'jwt' });
  });

  it('fails an answer that drifts from the document: a field it does not describe, or one it requires and the server left out', async () => {
    const call: Call = { method: 'GET', path: '/chat/sessions', token };
    const live = await send(h.url, call);
    contract.check(call, live);

    const undescribed = structuredClone(contract.doc);
    const stats = undescribed.components.schemas.SessionStats as { properties: Record<string, unknown>; required: string[] };
    delete stats.properties.total_tokens_used;
    stats.required = stats.required.filter((name) => name !== 'total_tokens_used');
    expect(() => new Contract(undescribed).check(call, live)).toThrow(/additionalProperty":"total_tokens_used"/);

    const missing = structuredClone(contract.doc);
    const demanding = missing.components.schemas.SessionStats as { properties: Record<string, unknown>; required: string[] };
    demanding.properties.total_cost = { type: 'number' };
    demanding.required.push('total_cost');
    expect(() => new Contract(missing).check(call, live)).toThrow(/missingProperty":"total_cost"/);

    const undocumentedStatus = { ...live, status: 418 };
    expect(() => contract.check(call, undocumentedStatus)).toThrow(/does not document/);
  });

  // Last in the suite: it reads what the tests above exercised.
  it('exercised every documented operation, each at least once successfully', () => {
    const answered = new Set([...contract.exercised].map((entry) => entry.split(' ').slice(0, 2).join(' ')));
    expect([...answered].sort()).toEqual(contract.operations().map(([key]) => key).sort());
    const successes = contract.operations().filter(([key, operation]) =>
      Object.keys(operation.responses).some((status) => status.startsWith('2') && contract.exercised.has(`${key} ${status}`)),
    );
    expect(successes.map(([key]) => key).sort()).toEqual(contract.operations().map(([key]) => key).sort());
  });
});

describe('the OpenAPI document of a dev-mode server', () => {
  let h: Harness;
  let contract: Contract;
  beforeAll(async () => {
    // Neither JWT_SECRET nor JWKS_URL: dev sign-in is on, and its route with it.
    h = await startHarness(testDrivers()[0]!, { env: { JWT_SECRET: undefined } });
    contract = new Contract(await fetchDocument(h.url));
  });
  afterAll(() => h.close());

  it('also names POST /auth/dev-login, which answers as documented', async () => {
    await expectValidOpenApi31(contract.doc);
    expect(documentedRoutes(contract.doc)).toEqual(restRoutes(h.server.app));
    expect(contract.operation('POST', '/auth/dev-login').security).toEqual([]);
    const signedIn = await contract.exercise(h.url, { method: 'POST', path: '/auth/dev-login', json: { userId: 'dev-user' } });
    expect(signedIn.status).toBe(200);
    const { token } = signedIn.items[0] as { token: string };
    expect((await contract.exercise(h.url, { method: 'GET', path: '/chat/sessions', token })).status).toBe(200);
    expect((await contract.exercise(h.url, { method: 'POST', path: '/auth/dev-login', json: { userId: 'no spaces' } })).status).toBe(400);
    expect((await contract.exercise(h.url, { method: 'POST', path: '/auth/dev-login', body: 'x', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await contract.exercise(h.url, { method: 'GET', path: '/auth/mode' })).items[0]).toEqual({ mode: 'dev' });
  });
});
