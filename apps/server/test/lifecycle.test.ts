import { Writable } from 'node:stream';
import { testDrivers, type TestDatabase } from '@fixthread/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness';
import { BodyReader, request } from './support/http';
import { signToken } from './support/tokens';
import { connect, streamViaTrpc } from './support/trpc';

/** Resolves once the fake model has been asked for `count` replies, i.e. that many turns are under way. */
async function waitForRequests(h: Harness, count: number): Promise<void> {
  while (h.openai.requests.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
}

const SLOW_TEXT = Array.from({ length: 30 }, (_, i) => `step${i}`).join(' ');

describe.each(testDrivers())('graceful stop on $name', (driver) => {
  let database: TestDatabase | undefined;
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    await database?.[Symbol.asyncDispose]();
    h = database = undefined;
  });

  it('stop() waits until turns in flight over REST, SSE and WebSocket are finished and saved', async () => {
    database = await driver.open();
    h = await startHarness(driver, { database });
    h.openai.setDefaultReply({ text: SLOW_TEXT, delayMsBetweenChunks: 25 });
    const harness = h;

    const sse = await fetch(`${harness.url}/chat/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await signToken('sse-user')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'long answer please' }),
    });
    const reader = new BodyReader(sse);
    const firstChunk = await reader.next();
    expect(firstChunk).toMatch(/^id: [^\n]+\ndata: /);

    const ws = connect(harness.url, await signToken('ws-user'));
    const wsEvents: string[] = [];
    await new Promise<void>((resolve) => {
      ws.trpc.chat.stream.subscribe(
        { message: 'long answer over ws' },
        {
          onData: ({ data }) => {
            wsEvents.push(data.type);
            resolve();
          },
        },
      );
    });
    const plain = request<{ response: string }>(`${harness.url}/chat`, {
      token: await signToken('rest-user'),
      json: { message: 'long answer without streaming' },
    });
    await waitForRequests(harness, 3);
    const started = Date.now();
    await harness.server.stop();
    // Turns take under a second; a socket left in keep-alive would hold the shutdown for Fastify's 72 s timeout.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await plain).body.response).toBe(SLOW_TEXT);

    const assistants = (await harness.messages()).filter((m) => m.role === 'assistant');
    expect(assistants.map((m) => [m.userId, m.content, m.finishReason]).sort()).toEqual([
      ['rest-user', SLOW_TEXT, 'stop'],
      ['sse-user', SLOW_TEXT, 'stop'],
      ['ws-user', SLOW_TEXT, 'stop'],
    ]);
    // The WebSocket subscriber is given its turn's end before its socket closes.
    expect(wsEvents.at(-1)).toBe('done');
    await ws.close();

    expect(firstChunk + (await reader.rest())).toContain('"type":"done"');
    await expect(fetch(`${harness.url}/health`)).rejects.toThrow();
  });
  it('at the grace deadline, turns still running are stopped and saved with their partial text, and stop() completes', async () => {
    h = await startHarness(driver);
    const harness = h;
    // Ten seconds of reply, and a model that never answers: both would outlive the grace period by far.
    const longText = Array.from({ length: 200 }, (_, i) => `slow${i}`).join(' ');
    harness.openai.setDefaultReply({ text: longText, delayMsBetweenChunks: 50 });
    harness.openai.enqueue({ hangMs: 60_000 });
    const plain = request<{ response: string }>(`${harness.url}/chat`, {
      token: await signToken('hung-user'),
      json: { message: 'the model will never answer this' },
    });
    await waitForRequests(harness, 1);
    const sse = await fetch(`${harness.url}/chat/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await signToken('sse-user')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'a very long answer please' }),
    });
    const reader = new BodyReader(sse);
    const firstChunk = await reader.next();
    expect(firstChunk).toMatch(/^id: [^\n]+\ndata: /);
    const ws = connect(harness.url, await signToken('ws-user'));
    await new Promise<void>((resolve) => {
      ws.trpc.chat.stream.subscribe({ message: 'a very long answer over ws' }, { onData: () => resolve() });
    });

    const started = Date.now();
    await harness.server.stop({ graceMs: 300 });
    expect(Date.now() - started).toBeLessThan(5_000);

    expect(await plain).toMatchObject({ status: 200, body: { response: '' } });
    expect(firstChunk + (await reader.rest())).toMatch(/"type":"done".*"stopped":true/);
    await ws.close();
    const assistants = (await harness.messages()).filter((m) => m.role === 'assistant');
    expect(assistants.map((m) => [m.userId, m.finishReason]).sort()).toEqual([
      ['hung-user', 'stopped'],
      ['sse-user', 'stopped'],
      ['ws-user', 'stopped'],
    ]);
    expect(assistants.find((m) => m.userId === 'hung-user')?.content).toBe('');
    for (const streamed of assistants.filter((m) => m.userId !== 'hung-user')) {
      expect(streamed.content).not.toBe('');
      expect(longText.startsWith(streamed.content)).toBe(true);
      expect(streamed.content.length).toBeLessThan(longText.length);
    }
  });
});

/** Collects the server's JSON log lines. */
function captureLogs(): { lines: string[]; logStream: Writable } {
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, logStream };
}

const SECRET_MESSAGE = 'my card is 4111-1111-1111-1111 and my password is hunter2-SECRET';

describe('logging', () => {
  it('writes JSON lines with request ids and never a token', async () => {
    const { lines, logStream } = captureLogs();
    const h = await startHarness(testDrivers()[0]!, { logStream, env: { LOG_LEVEL: 'trace' } });
    const token = await signToken('logged-user');
    const forged = await signToken('forger', { alg: 'HS512' });
    try {
      await request(`${h.url}/chat`, { token, json: { message: 'hello' } });
      await request(`${h.url}/chat/sessions`, { token: forged });
      await request(`${h.url}/health`, { headers: { 'x-request-id': 'trace-me' } });
      const client = connect(h.url, token);
      await streamViaTrpc(client, 'over ws');
      await client.trpc.chat.sessions.query();
      await client.close();
    } finally {
      await h.close();
    }
    const parsed = lines.map((line) => JSON.parse(line) as { reqId?: string });
    expect(parsed.some((entry) => entry.reqId === 'trace-me')).toBe(true);
    const all = lines.join('\n');
    for (const secret of [token, forged, token.split('.')[2]!, forged.split('.')[2]!]) expect(all).not.toContain(secret);
  });

  it('a token in the URL does not authenticate a tRPC HTTP call, and URLs are logged without their query', async () => {
    const { lines, logStream } = captureLogs();
    // Requests are logged at debug.
    const h = await startHarness(testDrivers()[0]!, { logStream, env: { LOG_LEVEL: 'debug' } });
    const token = await signToken('url-user');
    const params = encodeURIComponent(JSON.stringify({ token }));
    try {
      const viaUrl = await request<{ error: { data: { code: string } } }>(`${h.url}/trpc/chat.sessions?connectionParams=${params}`);
      expect(viaUrl.status).toBe(401);
      expect(viaUrl.body.error.data.code).toBe('UNAUTHORIZED');
      const batched = await request(`${h.url}/trpc/chat.sessions?batch=1&input={}&connectionParams=${params}`);
      expect(batched.status).toBe(401);
      // The header still works, and REST ignores query strings, which must not be logged either.
      expect((await request(`${h.url}/trpc/chat.sessions`, { token })).status).toBe(200);
      expect((await request(`${h.url}/chat/history?access_token=${token}&limit=5`, { token })).status).toBe(200);
    } finally {
      await h.close();
    }
    const urls = lines.map((line) => (JSON.parse(line) as { req?: { url?: string } }).req?.url).filter(Boolean);
    expect(urls).toContain('/trpc/chat.sessions');
    expect(urls).toContain('/chat/history');
    const all = lines.join('\n');
    for (const secret of [token, token.split('.')[2]!, 'connectionParams', 'access_token']) expect(all).not.toContain(secret);
  });

  it('chat.stream over HTTP (tRPC SSE) never writes its message, which travels in the URL, to the logs', async () => {
    const { lines, logStream } = captureLogs();
    const h = await startHarness(testDrivers()[0]!, { logStream });
    const token = await signToken('sse-url-user');
    try {
      const input = encodeURIComponent(JSON.stringify({ message: SECRET_MESSAGE }));
      const response = await fetch(`${h.url}/trpc/chat.stream?input=${input}`, { headers: { authorization: `Bearer ${token}` } });
      const body = await response.text();
      expect(body).toContain('"type":"done"');
      expect((await h.messages()).map((m) => m.content)).toContain(SECRET_MESSAGE);
    } finally {
      await h.close();
    }
    expect(lines.join('\n')).not.toContain('hunter2');
  });
});

describe.each(testDrivers())('logging a database failure on $name', (driver) => {
  it('never logs the query parameters (message text, user ids) or the failing row, over REST, SSE and tRPC', async () => {
    const { lines, logStream } = captureLogs();
    const h = await startHarness(driver, { logStream });
    const userId = 'user-id-SECRET-7f3a';
    const token = await signToken(userId);
    const client = connect(h.url, token);
    try {
      h.openai.setDefaultReply({ text: `${SECRET_MESSAGE} (reply) ${'more '.repeat(20)}`, delayMsBetweenChunks: 10 });
      const sse = await fetch(`${h.url}/chat/stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: SECRET_MESSAGE }),
      });
      const reader = new BodyReader(sse);
      expect(await reader.next()).toMatch(/^id: [^\n]+\ndata: /);
      // Questions are still stored, replies no longer: Postgres rejects the insert and reports the failing row.
      await h.database.db.execute(`alter table conversations add constraint no_replies check (role <> 'assistant') not valid`);
      expect(await reader.rest()).toContain('"type":"error"');
      expect((await request(`${h.url}/chat`, { token, json: { message: `${SECRET_MESSAGE} 2` } })).status).toBe(500);
      await expect(client.trpc.chat.send.mutate({ message: `${SECRET_MESSAGE} 3` })).rejects.toThrow('Internal server error');
    } finally {
      await client.close();
      await h.close();
    }
    const errors = lines
      .map((line) => JSON.parse(line) as { msg: string; err?: { type: string; message: string; cause?: Record<string, unknown> } })
      .filter((entry) => entry.err);
    expect(errors.map((entry) => entry.msg).sort()).toEqual(['request failed', 'tRPC call failed', 'turn failed after the stream started']);
    for (const { err } of errors) {
      // Still enough to debug: the statement (the one that saves a reply and closes its turn) and Postgres'
      // own code and names.
      expect(err?.message).toMatch(/^Failed query: with owned as \(\s+select id from "turns"/);
      expect(err?.message).toContain('insert into "conversations"');
      expect(err?.cause).toMatchObject({ code: '23514', message: expect.stringContaining('"no_replies"') as unknown });
    }
    const all = lines.join('\n');
    for (const secret of ['hunter2', '4111', userId, 'SECRET']) expect(all).not.toContain(secret);
  });
});
