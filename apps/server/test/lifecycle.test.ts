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
    expect(firstChunk).toMatch(/^data: /);

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
    // The shutdown closed the WebSocket before its reply finished streaming; the reply was saved regardless.
    expect(wsEvents).not.toContain('done');
    await ws.close();

    expect(firstChunk + (await reader.rest())).toContain('"type":"done"');
    await expect(fetch(`${harness.url}/health`)).rejects.toThrow();
  });
});

describe('logging', () => {
  it('writes JSON lines with request ids and never a token', async () => {
    const lines: string[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
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
});
