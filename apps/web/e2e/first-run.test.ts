import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startAppServer, type AppServer } from './support/app-server';
import { ChatPage } from './support/chat-page';
import { e2eEnabled, launchChromium } from './support/chromium';
import { DOCS_SCREENSHOTS_DIR } from './support/threads-page';

const BANNER_TEXT = 'No language model configured: answers come from iFixit guides';

describe.skipIf(!e2eEnabled)('first run, with no language model configured', () => {
  let app: AppServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    // Empty values count as unset: the server starts as a fresh checkout does, offline, with the fake iFixit.
    [app, browser] = await Promise.all([startAppServer({ env: { OPENAI_API_KEY: '', OPENAI_BASE_URL: '' } }), launchChromium()]);
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.[Symbol.asyncDispose]();
  });

  async function signedIn(name: string): Promise<ChatPage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1280 }, colorScheme: 'light' });
    contexts.push(context);
    const chat = new ChatPage(await context.newPage());
    await chat.open(app.url);
    await chat.signIn(name);
    return chat;
  }

  test('a quiet banner says so, and an offline answer streams iFixit guides as cards, charged 0 tokens', async () => {
    const chat = await signedIn('first-run');
    const banner = chat.page.getByRole('complementary', { name: 'Offline mode' });
    await banner.waitFor();
    expect(await banner.locator('.model-banner-text').textContent()).toBe(BANNER_TEXT);
    await banner.getByText('How to connect one').click();
    expect(await banner.textContent()).toContain('Set OPENAI_API_KEY and restart the server');
    await banner.getByText('How to connect one').click();

    const streamed = await chat.recordStreamingText();
    await chat.page.getByRole('button', { name: 'My iPhone 12 screen is cracked. Can I replace it myself?' }).click();
    await chat.waitForAnswerCount(1);
    // It streamed, as a model's answer does, rather than appearing at once.
    expect((await streamed()).length).toBeGreaterThan(5);

    const answer = chat.answers.first();
    const guideLink = answer.getByRole('link', { name: 'iPhone 12 Screen Replacement' }).first();
    expect(await guideLink.getAttribute('href')).toBe('https://www.ifixit.com/Guide/iPhone+12+Screen+Replacement/139184');
    const text = (await answer.textContent()) ?? '';
    for (const expected of ['Difficulty: Moderate', 'Time: 1 - 2 hours', 'Power off your iPhone', 'Remove the pentalobe screws', 'no language model is configured']) {
      expect(text).toContain(expected);
    }

    const cards = answer.getByRole('navigation', { name: 'Sources' }).getByRole('link');
    expect(await cards.count()).toBe(2);
    const first = cards.first();
    expect(await first.locator('.source-title').textContent()).toBe('iPhone 12 Screen Replacement');
    expect(await first.locator('.source-fact').allTextContents()).toEqual([
      'Device: iPhone 12 (Screen)',
      'Difficulty: Moderate',
      'Time: 1 - 2 hours',
    ]);

    await chat.page.waitForFunction(() => document.querySelector('[data-stat="messages"]')?.textContent === '2');
    expect(await chat.stat('tokens').textContent()).toBe('0');

    mkdirSync(DOCS_SCREENSHOTS_DIR, { recursive: true });
    await chat.page.screenshot({ path: join(DOCS_SCREENSHOTS_DIR, 'first-run.png') });

    // The cards come back with the history, as a model turn's do.
    await chat.page.reload();
    await chat.waitForAnswerCount(1);
    const reloaded = chat.answers.first().getByRole('navigation', { name: 'Sources' }).getByRole('link');
    expect(await reloaded.count()).toBe(2);
    expect(await reloaded.first().locator('.source-fact').allTextContents()).toContain('Difficulty: Moderate');
    expect(await chat.stat('tokens').textContent()).toBe('0');
  });
});
