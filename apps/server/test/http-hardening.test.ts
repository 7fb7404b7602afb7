import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDrivers } from '@fixthread/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './support/harness';

/**
 * Helmet's headers, CORS and the request size limits, against the real server over real sockets.
 */

const ALLOWED = 'https://allowed.example';
const OTHER = 'https://evil.example';
const MAX_HEADER_BYTES = 4096;
const MAX_URL_BYTES = 1024;

function expectHelmetHeaders(res: Response, what: string): void {
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(res.headers.get('x-frame-options'), what).toBe('SAMEORIGIN');
  expect(res.headers.get('strict-transport-security'), what).toMatch(/max-age=\d+/);
  expect(res.headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(res.headers.get('cross-origin-opener-policy'), what).toBe('same-origin');
  expect(res.headers.get('x-powered-by'), what).toBeNull();
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp, what).toContain("default-src 'self'");
  expect(csp, what).toContain("frame-ancestors 'none'");
  expect(csp, what).not.toContain('upgrade-insecure-requests');
}

function parseCsp(header: string | null): Map<string, string> {
  const directives = (header ?? '').split(';').map((part) => part.trim()).filter(Boolean);
  return new Map(directives.map((d) => [d.split(' ')[0]!, d.slice(d.indexOf(' ') + 1)]));
}

/** Writes bytes to the server's port and reads everything it answers until it closes the connection. */
function rawExchange(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connectTcp(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => (chunks.length > 0 ? resolve(Buffer.concat(chunks).toString()) : reject(error)));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
    socket.write(request);
  });
}

function parseRaw(response: string): { status: number; headers: Map<string, string>; body: unknown } {
  const [head = '', body = ''] = response.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) };
}

describe('helmet, CORS and request size limits', () => {
  let webDir: string;
  let h: Harness;
  let token: string;
  beforeAll(async () => {
    webDir = mkdtempSync(join(tmpdir(), 'fixthread-web-'));
    mkdirSync(join(webDir, 'assets'));
    writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>FixThread</title><div id="root"></div>');
    writeFileSync(join(webDir, 'assets', 'app-1a2b3c.js'), 'console.log("app");\n//# sourceMappingURL=app-1a2b3c.js.map\n');
    writeFileSync(join(webDir, 'assets', 'app-1a2b3c.js.map'), '{"version":3,"sources":["secret.ts"]}');
    h = await startHarness(testDrivers()[0]!, {
      env: {
        WEB_DIST_DIR: webDir,
        CORS_ORIGINS: `${ALLOWED}, https://second.example`,
        MAX_HEADER_BYTES: String(MAX_HEADER_BYTES),
        MAX_URL_BYTES: String(MAX_URL_BYTES),
      },
    });
    token = await h.token('hardening-user');
  });
  afterAll(async () => {
    await h.close();
    rmSync(webDir, { recursive: true, force: true });
  });

  describe('helmet', () => {
    it('sends its headers on API answers, the web client and its assets', async () => {
      expectHelmetHeaders(await fetch(`${h.url}/health`), 'GET /health');
      expectHelmetHeaders(await fetch(`${h.url}/chat/history`, { headers: { authorization: `Bearer ${token}` } }), 'GET /chat/history');
      expectHelmetHeaders(await fetch(`${h.url}/trpc/chat.sessions`, { headers: { authorization: `Bearer ${token}` } }), 'tRPC query');
      expectHelmetHeaders(await fetch(`${h.url}/`, { headers: { accept: 'text/html' } }), 'index.html');
      expectHelmetHeaders(await fetch(`${h.url}/threads/deep/link`, { headers: { accept: 'text/html' } }), 'SPA fallback');
      expectHelmetHeaders(await fetch(`${h.url}/assets/app-1a2b3c.js`), 'asset');
    });

    it('sends them on error answers too', async () => {
      const cases: [string, RequestInit, number][] = [
        ['/chat/history', {}, 401],
        ['/nothing-here', { headers: { accept: 'application/json' } }, 404],
        ['/chat', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{' }, 400],
        ['/trpc/chat.sessions', {}, 401],
      ];
      for (const [path, init, status] of cases) {
        const res = await fetch(`${h.url}${path}`, init);
        expect(res.status, path).toBe(status);
        expectHelmetHeaders(res, `${status} ${path}`);
      }
      // Refused by the router before any hook runs: still never sniffed or framed.
      const unroutable = await fetch(`${h.url}/chat/threads/%E0%A4%A`);
      expect(unroutable.status).toBe(400);
      expect(unroutable.headers.get('x-content-type-options')).toBe('nosniff');
      expect(unroutable.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    });

    it('gives the web client a policy with no inline scripts or styles, and /docs its own', async () => {
      const page = await fetch(`${h.url}/`, { headers: { accept: 'text/html' } });
      const header = page.headers.get('content-security-policy')!;
      const csp = parseCsp(header);
      expect(csp.get('script-src')).toBe("'self'");
      expect(csp.get('style-src')).toBe("'self'");
      expect(csp.get('connect-src')).toBe("'self'");
      expect(csp.get('img-src')).toBe("'self' data: blob:");
      expect(csp.get('object-src')).toBe("'none'");
      expect(header).not.toContain('unsafe-inline');
      expect(header).not.toContain('unsafe-eval');

      const docs = await fetch(`${h.url}/docs/`);
      expect(docs.status).toBe(200);
      const docsCsp = parseCsp(docs.headers.get('content-security-policy'));
      expect(docsCsp.get('style-src')).toBe("'self' 'unsafe-inline'");
      expect(docsCsp.get('script-src')).toBe("'self'");
      expect(docsCsp.has('upgrade-insecure-requests')).toBe(false);
      expect(docs.headers.get('x-content-type-options')).toBe('nosniff');
    });
  });

  describe('source maps', () => {
    it('are never served, even when the build left one beside its bundle', async () => {
      const map = await fetch(`${h.url}/assets/app-1a2b3c.js.map`);
      expect(map.status).toBe(404);
      expect(map.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await map.text()).not.toContain('secret.ts');
      // A browser's devtools ask for it as a navigation-less fetch; a navigation must not get index.html either.
      expect((await fetch(`${h.url}/assets/app-1a2b3c.js.map`, { headers: { accept: 'text/html' } })).status).toBe(404);
    });
  });

  describe('CORS', () => {
    const preflight = (origin: string, method = 'POST') =>
      fetch(`${h.url}/chat`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization, content-type' },
      });

    it('answers a preflight from an allowed origin, and lets it read the answer', async () => {
      const res = await preflight(ALLOWED);
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
      expect(res.headers.get('vary')?.toLowerCase()).toContain('origin');

      const second = await preflight('https://second.example', 'DELETE');
      expect(second.headers.get('access-control-allow-origin')).toBe('https://second.example');

      const call = await fetch(`${h.url}/chat/history`, { headers: { origin: ALLOWED, authorization: `Bearer ${token}` } });
      expect(call.status).toBe(200);
      expect(call.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(call.headers.get('access-control-expose-headers')).toContain('x-request-id');
    });

    it('refuses a preflight from any other origin with a JSON 403, and never allows it to read an answer', async () => {
      for (const origin of [OTHER, 'https://allowed.example.evil.example', 'http://allowed.example', 'null']) {
        const res = await preflight(origin);
        expect(res.status, origin).toBe(403);
        expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
        expect(await res.json(), origin).toEqual({
          error: { code: 'CORS_ORIGIN_NOT_ALLOWED', message: `Cross-origin requests from ${origin} are not allowed` },
        });
      }
      const call = await fetch(`${h.url}/chat/history`, { headers: { origin: OTHER, authorization: `Bearer ${token}` } });
      expect(call.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('allows no origin at all by default', async () => {
      const plain = await startHarness(testDrivers()[0]!, { database: h.database });
      try {
        const res = await fetch(`${plain.url}/chat`, {
          method: 'OPTIONS',
          headers: { origin: ALLOWED, 'access-control-request-method': 'POST' },
        });
        expect(res.status).toBe(403);
        expect(res.headers.get('access-control-allow-origin')).toBeNull();
        const call = await fetch(`${plain.url}/health`, { headers: { origin: ALLOWED } });
        expect(call.headers.get('access-control-allow-origin')).toBeNull();
      } finally {
        await plain.close();
      }
    });
  });

  describe('request size limits', () => {
    it('refuses a header block over MAX_HEADER_BYTES with a JSON 431', async () => {
      const res = await fetch(`${h.url}/health`, { headers: { 'x-padding': 'a'.repeat(MAX_HEADER_BYTES) } });
      expect(res.status).toBe(431);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({
        error: { code: 'HEADERS_TOO_LARGE', message: `Request headers are larger than ${MAX_HEADER_BYTES} bytes` },
      });
      expectHelmetHeaders(res, '431');
    });

    it('refuses one far past the limit, which Node itself cannot parse, with the same JSON 431', async () => {
      const padding = 'a'.repeat(MAX_HEADER_BYTES + MAX_URL_BYTES + 100);
      const raw = await rawExchange(h.url, `GET /health HTTP/1.1\r\nHost: localhost\r\nX-Padding: ${padding}\r\n\r\n`);
      const res = parseRaw(raw);
      expect(res.status).toBe(431);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.body).toEqual({ error: { code: 'HEADERS_TOO_LARGE', message: `Request headers are larger than ${MAX_HEADER_BYTES} bytes` } });
    });

    it('accepts a header block just within the limit', async () => {
      const res = await fetch(`${h.url}/health`, { headers: { 'x-padding': 'a'.repeat(MAX_HEADER_BYTES - 600) } });
      expect(res.status).toBe(200);
    });

    it('refuses a URL over MAX_URL_BYTES with a JSON 414, on any route or none', async () => {
      for (const path of [`/chat/history?before=${'1'.repeat(MAX_URL_BYTES)}`, `/${'x'.repeat(MAX_URL_BYTES)}`]) {
        const res = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${token}`, accept: 'text/html' } });
        expect(res.status, path.slice(0, 20)).toBe(414);
        expect(await res.json()).toEqual({ error: { code: 'URL_TOO_LONG', message: `Request URL is longer than ${MAX_URL_BYTES} bytes` } });
      }
    });

    it('refuses a URL longer than Node can parse with the same JSON 414', async () => {
      const path = `/health?${'q'.repeat(MAX_HEADER_BYTES + MAX_URL_BYTES + 100)}`;
      const res = parseRaw(await rawExchange(h.url, `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`));
      expect(res.status).toBe(414);
      expect(res.body).toEqual({ error: { code: 'URL_TOO_LONG', message: `Request URL is longer than ${MAX_URL_BYTES} bytes` } });
    });

    it('accepts a URL just within the limit', async () => {
      const path = `/health?pad=${'p'.repeat(MAX_URL_BYTES - 20)}`;
      expect((await fetch(`${h.url}${path}`)).status).toBe(200);
    });
  });
});
