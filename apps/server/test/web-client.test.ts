import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDrivers } from '@fixthread/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness';

const INDEX_HTML = '<!doctype html><title>FixThread</title><div id="root"></div>';
const APP_JS = 'console.log("fixthread");';

describe('serving the built web client on the API port', () => {
  let webDir: string;
  let h: Harness;
  beforeAll(async () => {
    webDir = mkdtempSync(join(tmpdir(), 'fixthread-web-'));
    mkdirSync(join(webDir, 'assets'));
    writeFileSync(join(webDir, 'index.html'), INDEX_HTML);
    writeFileSync(join(webDir, 'assets', 'app-1a2b3c.js'), APP_JS);
    h = await startHarness(testDrivers()[0]!, { env: { WEB_DIST_DIR: webDir } });
  });
  afterAll(async () => {
    await h.close();
    rmSync(webDir, { recursive: true, force: true });
  });

  const get = (path: string, accept = 'text/html,application/xhtml+xml') => fetch(`${h.url}${path}`, { headers: { accept } });

  it('serves index.html at / without caching it', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toBe(INDEX_HTML);
  });

  it('serves fingerprinted assets as immutable', async () => {
    const res = await get('/assets/app-1a2b3c.js', '*/*');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(await res.text()).toBe(APP_JS);
  });

  it('falls back to index.html when a browser navigates to a client-side route', async () => {
    const res = await get('/threads/some/deep/link?x=1');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(INDEX_HTML);
  });

  it('answers API clients and missing assets with a JSON 404, not the page', async () => {
    for (const [path, accept] of [
      ['/threads/x', 'application/json'],
      ['/assets/missing.js', 'text/html'],
      ['/trpc/chat.nothing', 'text/html'],
    ] as const) {
      const res = await get(path, accept);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/json/);
    }
  });

  it('keeps API routes ahead of the client: /chat/history still demands a token', async () => {
    expect((await get('/chat/history')).status).toBe(401);
    expect((await get('/health')).status).toBe(200);
  });
});
