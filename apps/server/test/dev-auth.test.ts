import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDrivers } from '@fixthread/core/testing';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness';
import { request, type ErrorResponseBody } from './support/http';
import { signToken } from './support/tokens';
import { connect, streamViaTrpc } from './support/trpc';

const [pglite] = testDrivers();

describe('dev auth mode (no JWT_SECRET or JWKS_URL outside production)', () => {
  let dataDir: string;
  let h: Harness;
  const devEnv = () => ({ JWT_SECRET: undefined, NODE_ENV: 'development', DATA_DIR: dataDir });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'fixthread-dev-auth-'));
    h = await startHarness(pglite!, { env: devEnv() });
  });
  afterAll(async () => {
    await h.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const devLogin = (json: unknown) => request<{ token: string } & ErrorResponseBody>(`${h.url}/auth/dev-login`, { json });

  it('GET /auth/mode says dev', async () => {
    expect((await request(`${h.url}/auth/mode`)).body).toEqual({ mode: 'dev' });
  });

  it('dev-login returns an expiring token that works on REST and over the WebSocket', async () => {
    const res = await devLogin({ userId: 'sam.o-k_1@home' });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['token']);
    const claims = decodeJwt(res.body.token);
    expect(claims.sub).toBe('sam.o-k_1@home');
    expect(claims.exp).toBeGreaterThan(Date.now() / 1000);

    const chat = await request<{ thread_id: string }>(`${h.url}/chat`, { token: res.body.token, json: { message: 'hello' } });
    expect(chat.status).toBe(200);
    expect(chat.body.thread_id).toBe('user-sam.o-k_1@home');
    const client = connect(h.url, res.body.token);
    try {
      const streamed = await streamViaTrpc(client, 'and over ws');
      expect(streamed.events.at(-1)).toMatchObject({ type: 'done', thread_id: 'user-sam.o-k_1@home' });
    } finally {
      await client.close();
    }
  });

  it.each([
    ['empty', { userId: '' }],
    ['65 characters', { userId: 'a'.repeat(65) }],
    ['with a space', { userId: 'bad id' }],
    ['with a slash', { userId: 'a/b' }],
    ['non-ASCII', { userId: 'zoë' }],
    ['a number', { userId: 42 }],
    ['missing', {}],
  ])('rejects a userId that is %s with a 400 naming userId', async (_label, json) => {
    const res = await devLogin(json);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION', details: { field: 'userId' } });
  });

  it('keeps its secret in DATA_DIR/dev-jwt-secret, readable by the owner only', () => {
    const path = join(dataDir, 'dev-jwt-secret');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8').length).toBeGreaterThanOrEqual(32);
  });

  it('tokens survive a restart (same secret), and tokens signed with anything else are refused', async () => {
    const { token } = (await devLogin({ userId: 'returning' })).body;
    await h.close();
    h = await startHarness(pglite!, { env: devEnv() });
    expect((await request(`${h.url}/chat/sessions`, { token })).status).toBe(200);
    expect((await request(`${h.url}/chat/sessions`, { token: await signToken('returning') })).status).toBe(401);
  });
});

describe('JWT mode', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(pglite!);
  });
  afterAll(() => h.close());

  it('GET /auth/mode says jwt and dev-login does not exist', async () => {
    expect((await request(`${h.url}/auth/mode`)).body).toEqual({ mode: 'jwt' });
    const res = await request<ErrorResponseBody>(`${h.url}/auth/dev-login`, { json: { userId: 'anyone' } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
  });
});
