import { createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeReply, FakeResponder } from '@fixthread/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAppServer, type AppServer } from './support/app-server';
import { ChatPage } from './support/chat-page';
import { e2eEnabled, launchChromium } from './support/chromium';
import { fakeModelResponder, type FakeModelControls } from './support/fake-model';
import { pastePhoto } from './support/photos';
import { WEB_DIST } from './support/web-dist';

/**
 * The production build, served by a production server (JWT sign-in, no dev login), under the server's
 * Content-Security-Policy: a user signs in, sends messages, gets streamed answers (over the WebSocket), code
 * highlighting that loads on demand and a photo shown from a blob: URL, and the browser reports no CSP
 * violation at all. And the build's source maps are not served.
 */

const JWT_SECRET = 'production-e2e-secret-0123456789abcdef0123456789';
const CODE_MARKER = '[code]';
const CODE_ANSWER = ['Run this to see the battery report:', '', '```bash', '# the first battery', 'echo "Battery: $(upower -e | grep BAT)"', '```'].join('\n');

/** HS256, as an identity provider would sign it; the server takes `sub` as the user id. */
function signToken(sub: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub, iat: now, exp: now + 3600 })}`;
  return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`;
}

function responder(): FakeResponder {
  const base = fakeModelResponder({ outage: false } satisfies FakeModelControls);
  return (body, ctx) => {
    const last = body.messages.at(-1);
    const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
    if (last?.role === 'user' && text.includes(CODE_MARKER)) return { text: CODE_ANSWER, delayMsBetweenChunks: 30 } satisfies FakeReply;
    return base(body, ctx);
  };
}

interface CspWatch {
  /** `securitypolicyviolation` events in the page, and console errors that name the policy. */
  violations(): Promise<string[]>;
}

/** Listens from before the first script runs, so a violation during start-up is caught too. */
async function watchCsp(page: Page): Promise<CspWatch> {
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Content-Security-Policy/i.test(message.text())) consoleErrors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => {
    if (/Content Security Policy/i.test(error.message)) consoleErrors.push(`pageerror: ${error.message}`);
  });
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __csp: string[] }).__csp = seen;
    document.addEventListener('securitypolicyviolation', (event) => {
      seen.push(`${event.violatedDirective} blocked ${event.blockedURI || '(inline)'} at ${event.sourceFile}:${event.lineNumber}`);
    });
  });
  return {
    violations: async () => [...consoleErrors, ...(await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []))],
  };
}

describe.skipIf(!e2eEnabled)('the production web client under its Content-Security-Policy', () => {
  let app: AppServer;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    [app, browser] = await Promise.all([
      startAppServer({ env: { NODE_ENV: 'production', JWT_SECRET, THREAD_TITLES: 'heuristic' }, responder: responder() }),
      launchChromium(),
    ]);
    context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.[Symbol.asyncDispose]();
  });

  test('signs in, streams answers over the WebSocket, highlights code and shows a photo, with zero CSP violations', async () => {
    const page = await context.newPage();
    const csp = await watchCsp(page);
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));

    const document = await page.goto(app.url);
    const policy = (await document?.allHeaders())?.['content-security-policy'] ?? '';
    expect(policy).toContain("script-src 'self'");
    expect(policy).not.toContain('unsafe-inline');

    await page.getByLabel('Access token').fill(signToken('csp-user'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    const chat = new ChatPage(page);
    await chat.composer.waitFor();
    await page.getByText('Loading your conversation…').waitFor({ state: 'detached' });

    const streamed = await chat.recordStreamingText();
    await chat.send("My laptop won't charge");
    await chat.waitForAnswerCount(1);
    const final = (await chat.answers.first().locator('.markdown').textContent()) ?? '';
    expect(final).toContain('Try a known-good charger before replacing any parts.');
    expect((await streamed()).filter((text) => text.length < final.length).length).toBeGreaterThanOrEqual(2);
    expect(sockets.some((url) => new URL(url).pathname === '/trpc')).toBe(true);

    // The highlighter is a chunk loaded on demand, and sets its markup as HTML.
    await chat.send(`How do I check the battery? ${CODE_MARKER}`);
    await chat.waitForAnswerCount(2);
    const block = chat.answers.nth(1).locator('.code-block');
    await block.locator('[class^="hljs-"]').first().waitFor();
    expect(await block.locator('.code-block-language').textContent()).toBe('Bash');

    // A pasted photo is previewed and shown from blob: URLs.
    await pastePhoto(page, 'form.composer textarea', 'image.png', { scene: 'battery', width: 800, height: 600, type: 'image/png' });
    await page.locator('.photo-preview[data-status="uploaded"]').waitFor({ timeout: 30_000 });
    await chat.send('Is this battery swollen?');
    await chat.waitForAnswerCount(3);
    const photo = page.locator('article.message-user .message-photos img').first();
    await photo.waitFor();
    expect(await photo.getAttribute('src')).toMatch(/^blob:/);
    await expect.poll(() => photo.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);

    // After a reload the history (and the stored photo, fetched with the token into a blob:) comes back.
    await page.reload();
    await chat.waitForAnswerCount(3);
    await expect
      .poll(() => page.locator('article.message-user .message-photos img').first().evaluate((img) => (img as HTMLImageElement).naturalWidth))
      .toBeGreaterThan(0);

    expect(await csp.violations()).toEqual([]);
    await page.close();
  });

  test('serves the API docs under their own policy, with zero CSP violations', async () => {
    const page = await context.newPage();
    const csp = await watchCsp(page);
    await page.goto(`${app.url}/docs`);
    await page.locator('.swagger-ui .info .title').waitFor({ timeout: 30_000 });
    await page.locator('.opblock').first().waitFor();
    expect(await csp.violations()).toEqual([]);
    await page.close();
  });

  test('serves no source map: the bundle names none, and the maps the build wrote are not served', async () => {
    const html = await (await fetch(`${app.url}/`, { headers: { accept: 'text/html' } })).text();
    const scripts = [...html.matchAll(/src="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    const assets = readdirSync(join(WEB_DIST, 'assets'));
    const maps = assets.filter((name) => name.endsWith('.map'));
    // Built hidden: written for error tracking, never referenced.
    expect(maps.length).toBeGreaterThan(0);
    for (const name of assets.filter((file) => /\.(js|css)$/.test(file))) {
      expect(readFileSync(join(WEB_DIST, 'assets', name), 'utf8'), name).not.toContain('sourceMappingURL');
    }
    for (const path of scripts) {
      const asset = await fetch(`${app.url}${path}`);
      expect(asset.status).toBe(200);
      expect(await asset.text()).not.toContain('sourceMappingURL');
      expect((await fetch(`${app.url}${path}.map`)).status).toBe(404);
    }
    for (const name of maps) {
      const res = await fetch(`${app.url}/assets/${name}`);
      expect(res.status, name).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
  });
});
