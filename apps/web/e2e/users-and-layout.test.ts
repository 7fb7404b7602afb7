import type { Browser, BrowserContext, BrowserContextOptions } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startAppServer, type AppServer } from './support/app-server';
import { ChatPage } from './support/chat-page';
import { e2eEnabled, launchChromium } from './support/chromium';

const PHONE: BrowserContextOptions = {
  viewport: { width: 375, height: 740 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  colorScheme: 'light',
};

describe.skipIf(!e2eEnabled)('users and layouts', () => {
  let app: AppServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [app, browser] = await Promise.all([startAppServer(), launchChromium()]);
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.[Symbol.asyncDispose]();
  });

  async function signedIn(name: string, options: BrowserContextOptions = { viewport: { width: 1280, height: 820 } }) {
    const context = await browser.newContext(options);
    contexts.push(context);
    const chat = new ChatPage(await context.newPage());
    await chat.open(app.url);
    await chat.signIn(name);
    return chat;
  }

  test('two users in two browser contexts see only their own messages', async () => {
    const [alice, bob] = await Promise.all([signedIn('alice'), signedIn('bob')]);
    await alice.send('Alice: my kettle will not switch off');
    await bob.send('Bob: my drone drifts to the left');
    await Promise.all([alice.waitForAnswerCount(1), bob.waitForAnswerCount(1)]);

    for (const chat of [alice, bob]) await chat.page.reload();
    await Promise.all([alice.waitForAnswerCount(1), bob.waitForAnswerCount(1)]);
    expect(await alice.questions.allTextContents()).toEqual(['Alice: my kettle will not switch off']);
    expect(await bob.questions.allTextContents()).toEqual(['Bob: my drone drifts to the left']);
    expect(await alice.page.locator('.stats-user').textContent()).toContain('alice');
    expect(await bob.page.locator('.stats-user').textContent()).toContain('bob');
  });

  test('signing out returns to sign-in and forgets the conversation', async () => {
    const chat = await signedIn('leaver');
    await chat.send('My mouse double-clicks by itself');
    await chat.waitForAnswerCount(1);
    await chat.page.getByRole('button', { name: 'Sign out' }).click();
    await chat.page.getByLabel('Your name').waitFor();
    expect(await chat.page.evaluate(() => window.localStorage.getItem('fixthread.token'))).toBeNull();
    await chat.page.reload();
    await chat.page.getByLabel('Your name').waitFor();

    await chat.signIn('someone-else');
    await chat.page.getByRole('heading', { name: 'What needs fixing?' }).waitFor();
    expect(await chat.questions.count()).toBe(0);
  });

  test('at phone width the layout fits without horizontal scrolling', async () => {
    const chat = await signedIn('phone', PHONE);
    await chat.screenshot('10-phone-empty');
    await chat.send('My iPhone 12 screen has a dead strip down the side. Is the screen replacement hard?');
    await chat.page.locator('.tool-status').waitFor();
    await chat.waitForAnswerCount(1);
    await chat.send('And a really long link: https://www.ifixit.com/Guide/iPhone+12+Screen+Replacement/139184?with=a&very=long&query=string');
    await chat.waitForAnswerCount(2);

    const overflow = await chat.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBe(0);
    const composerBox = await chat.composer.boundingBox();
    expect(composerBox && composerBox.x + composerBox.width).toBeLessThanOrEqual(375);
    await chat.screenshot('11-phone-conversation');

    await chat.page.getByRole('button', { name: 'Stats' }).click();
    await chat.page.getByRole('region', { name: 'Session' }).waitFor();
    expect(await chat.stat('messages').textContent()).toBe('4');
    await chat.screenshot('12-phone-stats');
  });

  test('dark colour scheme renders the conversation', async () => {
    const chat = await signedIn('night-owl', { viewport: { width: 1280, height: 820 }, colorScheme: 'dark' });
    await chat.send('My iPhone 12 screen flickers at low brightness');
    await chat.waitForAnswerCount(1);
    const background = await chat.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(15, 17, 21)');
    await chat.screenshot('13-dark-answer');
  });
});
