import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startAppServer, type AppServer } from './support/app-server';
import { ChatPage } from './support/chat-page';
import { e2eEnabled, launchChromium } from './support/chromium';

describe.skipIf(!e2eEnabled)('limits in a real browser', () => {
  let daily: AppServer;
  let rate: AppServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [daily, rate, browser] = await Promise.all([
      // A budget the first answer spends at once (a turn is always admitted on a fresh day).
      startAppServer({ env: { DAILY_TOKEN_QUOTA: '50', THREAD_TITLES: 'heuristic' } }),
      startAppServer({ env: { RATE_LIMIT_PER_MINUTE: '12', THREAD_TITLES: 'heuristic' } }),
      launchChromium(),
    ]);
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await daily?.[Symbol.asyncDispose]();
    await rate?.[Symbol.asyncDispose]();
  });

  async function signedIn(app: AppServer, name: string): Promise<ChatPage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, colorScheme: 'light' });
    contexts.push(context);
    const chat = new ChatPage(await context.newPage());
    await chat.open(app.url);
    await chat.signIn(name);
    return chat;
  }

  test('a spent daily budget shows the server’s message: which limit, and when it resets', async () => {
    const chat = await signedIn(daily, 'budget');
    await chat.send('My kettle will not boil');
    await chat.waitForAnswerCount(1);
    await chat.send('And the toaster?');
    const alert = chat.page.getByRole('alert').filter({ hasText: 'Daily token budget' });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/Token quota reached.*Daily token budget of 50 tokens used up; it resets at 00:00 UTC \(in \d+ (h \d+ )?min\)\./);
    expect(await chat.page.getByText('Something went wrong').count()).toBe(0);
    await chat.page.locator('[data-stat="daily"]').filter({ hasText: 'of 50 tokens' }).waitFor();
    await chat.screenshot('limits-daily-budget');
  });

  test('a rate limit shows the server’s message with the time to try again', async () => {
    const chat = await signedIn(rate, 'hasty');
    const alert = chat.page.getByRole('alert').filter({ hasText: 'Rate limit of 12 requests per minute reached' });
    // Each send, and the refetches after each answer, count; well within 12 sends one is refused.
    for (let i = 0; i < 12 && (await alert.count()) === 0; i++) {
      await chat.send(`Question number ${i}`);
      await Promise.race([
        alert.first().waitFor(),
        chat.page.waitForFunction(() => !document.querySelector('article.streaming'), undefined, { timeout: 30_000 }),
      ]);
      await chat.page.waitForTimeout(300);
    }
    const text = (await alert.first().textContent()) ?? '';
    expect(text).toMatch(/Rate limit of 12 requests per minute reached; try again at \d\d:\d\d:\d\d UTC \(in \d+ s\)\./);
    await chat.screenshot('limits-rate-limit');
  });
});
