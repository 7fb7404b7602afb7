import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { testDrivers } from '@fixthread/core/testing';
import { createTRPCClient, createWSClient, TRPCClientError, wsLink } from '@trpc/client';
import { exportJWK, generateKeyPair, exportSPKI } from 'jose';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../src/client';
import { startHarness, type Harness } from './support/harness';
import { request, type ErrorResponseBody } from './support/http';
import { signToken, unsignedToken } from './support/tokens';
import { connect, streamViaTrpc } from './support/trpc';

const now = () => Math.floor(Date.now() / 1000);

async function expectRejectedEverywhere(h: Harness, authorization: string | undefined, sub: string) {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  for (const [method, path, json] of [
    ['POST', '/chat', { message: 'hello' }],
    ['POST', '/chat/stream', { message: 'hello' }],
    ['GET', '/chat/history', undefined],
    ['DELETE', '/chat/history', undefined],
    ['GET', '/chat/sessions', undefined],
  ] as const) {
    const res = await request<ErrorResponseBody>(`${h.url}${path}`, { method, headers, json });
    expect(res.status, `${method} ${path}`).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(res.body.error.code).toBe('UNAUTHORIZED');
    expect(res.body.error.message).toBeTruthy();
  }
  expect((await h.messages()).filter((m) => m.userId === sub)).toEqual([]);
  expect((await h.usage()).filter((u) => u.userId === sub)).toEqual([]);
}

describe.each(testDrivers())('authentication on $name', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver);
  });
  afterAll(() => h.close());

  it('accepts a valid HS256 token (the control case for the rejections below)', async () => {
    const res = await request(`${h.url}/chat/sessions`, { token: await signToken('valid-user') });
    expect(res.status).toBe(200);
  });

  it('rejects a request without an Authorization header', async () => {
    await expectRejectedEverywhere(h, undefined, 'nobody');
  });

  it.each([['Token abc.def.ghi'], ['Bearer'], ['Bearer '], ['Basic dXNlcjpwYXNz'], ['Bearer a b']])(
    'rejects a malformed Authorization header: %j',
    async (header) => {
      await expectRejectedEverywhere(h, header, 'nobody');
    },
  );

  it('rejects a token that is not a JWT', async () => {
    await expectRejectedEverywhere(h, 'Bearer not.a.jwt', 'nobody');
  });

  it('rejects a token signed with another secret', async () => {
    const forged = await signToken('mallory', { key: new TextEncoder().encode('another-secret-that-is-long-enough-0123456789') });
    await expectRejectedEverywhere(h, `Bearer ${forged}`, 'mallory');
  });

  it('rejects an expired token and says so', async () => {
    const expired = await signToken('late-user', { exp: now() - 60 });
    await expectRejectedEverywhere(h, `Bearer ${expired}`, 'late-user');
    const res = await request<ErrorResponseBody>(`${h.url}/chat/sessions`, { token: expired });
    expect(res.body.error.message).toBe('Token expired');
  });

  it('rejects a token without exp', async () => {
    await expectRejectedEverywhere(h, `Bearer ${await signToken('forever', { exp: null })}`, 'forever');
  });

  it('rejects HS512 even when signed with the right secret', async () => {
    await expectRejectedEverywhere(h, `Bearer ${await signToken('hs512-user', { alg: 'HS512' })}`, 'hs512-user');
  });

  it('rejects an RS256 token when only a shared secret is configured', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    await expectRejectedEverywhere(h, `Bearer ${await signToken('rsa-user', { alg: 'RS256', key: privateKey })}`, 'rsa-user');
  });

  it('rejects alg: none', async () => {
    await expectRejectedEverywhere(h, `Bearer ${unsignedToken('none-user')}`, 'none-user');
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['blank', '   '],
    ['with a control character', 'bad\nuser'],
    ['too long', 'x'.repeat(129)],
  ])('rejects a token whose sub is %s', async (_label, sub) => {
    await expectRejectedEverywhere(h, `Bearer ${await signToken(sub)}`, sub ?? '');
  });

  it('rejects tRPC calls over HTTP with UNAUTHORIZED and stores nothing', async () => {
    const client = connect(h.url, await signToken('trpc-forger', { alg: 'HS512' }));
    try {
      const error = await client.trpc.chat.send.mutate({ message: 'hello' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCClientError);
      expect((error as TRPCClientError<AppRouter>).data?.code).toBe('UNAUTHORIZED');
      expect((error as TRPCClientError<AppRouter>).data?.httpStatus).toBe(401);
    } finally {
      await client.close();
    }
    expect((await h.messages()).filter((m) => m.userId === 'trpc-forger')).toEqual([]);
  });

  it('rejects a WebSocket subscription with a bad token in connectionParams and stores nothing', async () => {
    const client = connect(h.url, await signToken('ws-forger', { exp: now() - 10 }));
    try {
      const outcome = await streamViaTrpc(client, 'hello over ws');
      expect(outcome.events).toEqual([]);
      expect(outcome.error?.data?.code).toBe('UNAUTHORIZED');
      expect(outcome.error?.message).toBe('Token expired');
    } finally {
      await client.close();
    }
    expect((await h.messages()).filter((m) => m.userId === 'ws-forger')).toEqual([]);
  });

  it('rejects a WebSocket without connectionParams and stores nothing', async () => {
    const before = (await h.messages()).length;
    const wsClient = createWSClient({ url: `${h.url.replace(/^http/, 'ws')}/trpc`, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket });
    const trpc = createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient })] });
    try {
      const error = await trpc.chat.send.mutate({ message: 'hello' }).catch((e: unknown) => e);
      expect((error as TRPCClientError<AppRouter>).data?.code).toBe('UNAUTHORIZED');
      const sessions = await trpc.chat.sessions.query().catch((e: unknown) => e);
      expect((sessions as TRPCClientError<AppRouter>).data?.code).toBe('UNAUTHORIZED');
    } finally {
      await wsClient.close();
    }
    expect(await h.messages()).toHaveLength(before);
  });
});

describe.each(testDrivers())('users are isolated from each other on $name', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver);
  });
  afterAll(() => h.close());

  it('over REST: history, sessions and clear only ever touch the caller’s thread', async () => {
    const alice = await h.token('alice');
    const bob = await h.token('bob');
    await request(`${h.url}/chat`, { token: alice, json: { message: 'alice secret' } });
    await request(`${h.url}/chat`, { token: bob, json: { message: 'bob question' } });

    const bobHistory = await request<{ thread_id: string; messages: { content: string }[] }>(`${h.url}/chat/history`, { token: bob });
    expect(bobHistory.body.thread_id).toBe('user-bob');
    expect(bobHistory.body.messages.map((m) => m.content)).not.toContain('alice secret');
    expect(bobHistory.body.messages).toHaveLength(2);

    expect((await request(`${h.url}/chat/history`, { method: 'DELETE', token: bob })).status).toBe(200);
    const aliceHistory = await request<{ messages: { content: string }[] }>(`${h.url}/chat/history`, { token: alice });
    expect(aliceHistory.body.messages.map((m) => m.content)).toContain('alice secret');
    const aliceStats = await request<{ total_messages: number; user_id: string }>(`${h.url}/chat/sessions`, { token: alice });
    expect(aliceStats.body).toMatchObject({ user_id: 'alice', total_messages: 2 });
  });

  it('over tRPC: each client sees only its own thread', async () => {
    const carol = connect(h.url, await h.token('carol'));
    const dan = connect(h.url, await h.token('dan'));
    try {
      await carol.trpc.chat.send.mutate({ message: 'carol private' });
      const streamed = await streamViaTrpc(dan, 'dan over ws');
      expect(streamed.events.at(-1)).toMatchObject({ type: 'done', thread_id: 'user-dan' });
      const danHistory = await dan.trpc.chat.history.query({});
      expect(danHistory.thread_id).toBe('user-dan');
      expect(danHistory.messages.map((m) => m.content)).toEqual(['dan over ws', expect.any(String)]);
      await dan.trpc.chat.clear.mutate();
      expect((await carol.trpc.chat.history.query()).messages.map((m) => m.content)).toContain('carol private');
      expect(await dan.trpc.chat.sessions.query()).toMatchObject({ user_id: 'dan', total_messages: 0 });
    } finally {
      await Promise.all([carol.close(), dan.close()]);
    }
  });
});

describe.each(testDrivers())('audience and issuer checks on $name', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver, { env: { JWT_AUDIENCE: 'authenticated', JWT_ISSUER: 'https://auth.example.test' } });
  });
  afterAll(() => h.close());

  const claims = { audience: 'authenticated', issuer: 'https://auth.example.test' };

  it('accepts the configured audience and issuer', async () => {
    expect((await request(`${h.url}/chat/sessions`, { token: await signToken('aud-ok', claims) })).status).toBe(200);
  });

  it.each([
    ['a wrong audience', { ...claims, audience: 'someone-else' }],
    ['no audience', { issuer: claims.issuer }],
    ['a wrong issuer', { ...claims, issuer: 'https://evil.example.test' }],
    ['no issuer', { audience: claims.audience }],
  ])('rejects %s', async (_label, tokenClaims) => {
    await expectRejectedEverywhere(h, `Bearer ${await signToken('aud-user', tokenClaims)}`, 'aud-user');
  });
});

describe.each(testDrivers())('asymmetric keys from JWKS_URL on $name', (driver) => {
  let h: Harness;
  let jwksServer: Server;
  let keys: Awaited<ReturnType<typeof generateKeyPair>>;
  beforeAll(async () => {
    keys = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'key-1', alg: 'ES256', use: 'sig' };
    jwksServer = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    const { port } = jwksServer.address() as AddressInfo;
    h = await startHarness(driver, { env: { JWT_SECRET: undefined, JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` } });
  });
  afterAll(async () => {
    await h.close();
    await new Promise((resolve) => jwksServer.close(resolve));
  });

  it('accepts a token signed by a key in the set', async () => {
    const token = await signToken('jwks-user', { alg: 'ES256', key: keys.privateKey, kid: 'key-1' });
    const res = await request<{ user_id: string }>(`${h.url}/chat/sessions`, { token });
    expect(res.status).toBe(200);
    expect(res.body.user_id).toBe('jwks-user');
  });

  it('rejects a token signed by a key outside the set', async () => {
    const stranger = await generateKeyPair('ES256');
    const token = await signToken('jwks-forger', { alg: 'ES256', key: stranger.privateKey, kid: 'key-1' });
    await expectRejectedEverywhere(h, `Bearer ${token}`, 'jwks-forger');
  });

  it('rejects HS256 signed with the public key (algorithm confusion)', async () => {
    const publicPem = new TextEncoder().encode(await exportSPKI(keys.publicKey));
    const token = await signToken('confused', { alg: 'HS256', key: publicPem, kid: 'key-1' });
    await expectRejectedEverywhere(h, `Bearer ${token}`, 'confused');
  });

  it('rejects alg: none', async () => {
    await expectRejectedEverywhere(h, `Bearer ${unsignedToken('none-user')}`, 'none-user');
  });
});
