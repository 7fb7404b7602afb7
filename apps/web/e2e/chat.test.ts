import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startAppServer, type AppServer } from './support/app-server';
import { ChatPage } from './support/chat-page';
import { e2eEnabled, launchChromium } from './support/chromium';
import {
  DEFAULT_FLOOD,
  FLOOD_MARKER,
  floodAnswerText,
  LONG_MARKER,
  plainAnswer,
  SLOW_ANSWER,
  SLOW_MARKER,
  UNREPORTED_USAGE_MARKER,
} from './support/fake-model';

describe.skipIf(!e2eEnabled)('chat in a real browser', () => {
  let app: AppServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [app, browser] = await Promise.all([startAppServer(), launchChromium()]);
  });

  afterEach(async () => {
    app.model.outage = false;
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.[Symbol.asyncDispose]();
  });

  async function signedIn(name: string): Promise<ChatPage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, colorScheme: 'light' });
    contexts.push(context);
    const chat = new ChatPage(await context.newPage());
    await chat.open(app.url);
    await chat.signIn(name);
    return chat;
  }

  test('signs in, streams an answer in several steps, and shows it again after a reload', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, colorScheme: 'light' });
    contexts.push(context);
    const chat = new ChatPage(await context.newPage());
    await chat.open(app.url);
    await chat.page.getByLabel('Your name').waitFor();
    await chat.screenshot('01-sign-in');
    await chat.signIn('ada');
    await chat.page.getByRole('heading', { name: 'What needs fixing?' }).waitFor();
    await expect.poll(() => chat.composer.evaluate((element) => element === document.activeElement)).toBe(true);
    await chat.screenshot('02-empty-conversation');

    const streamed = await chat.recordStreamingText();
    const question = "My laptop won't charge";
    await chat.send(question);
    // While the reply streams, sending waits and Stop is offered.
    await chat.page.getByRole('button', { name: 'Stop' }).waitFor();
    expect(await chat.page.getByRole('button', { name: 'Send' }).count()).toBe(0);
    await expect.poll(() => chat.questions.last().textContent()).toBe(question);
    await chat.page.waitForFunction(() => (document.querySelector('article.streaming .live-answer')?.textContent ?? '').length > 30);
    await chat.screenshot('03-streaming');
    await chat.waitForAnswerCount(1);

    const partials = await streamed();
    const final = (await chat.answers.first().locator('.markdown').textContent()) ?? '';
    expect(final).toContain('Try a known-good charger before replacing any parts.');
    const growing = partials.filter((text) => text.length < final.length);
    expect(growing.length).toBeGreaterThanOrEqual(3);
    await chat.screenshot('04-answer');

    await chat.page.reload();
    await chat.waitForAnswerCount(1);
    expect(await chat.questions.allTextContents()).toEqual([question]);
    expect(await chat.answers.first().locator('.markdown').textContent()).toBe(final);
    expect(await chat.page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
  });

  test('a long, fast answer shows every token exactly once while tokens are batched per frame, and after a reload', async () => {
    const chat = await signedIn('flood');
    const streamed = await chat.recordStreamingText();
    await chat.send(`${FLOOD_MARKER} List every step, please`);
    // The growing text is busy, not itself a live region: screen readers get whole paragraphs from the announcer.
    await chat.streamingAnswer.waitFor();
    expect(await chat.streamingAnswer.getAttribute('aria-busy')).toBe('true');
    const liveRegions = chat.page.locator('[aria-live]');
    expect(await liveRegions.evaluateAll((regions: Element[]) => regions.map((region) => region.className))).toEqual([
      'visually-hidden answer-announcer',
    ]);
    await chat.waitForAnswerCount(1);

    const expected = floodAnswerText(DEFAULT_FLOOD.tokens);
    const shown = async () => ((await chat.answers.first().locator('.markdown').textContent()) ?? '').replace(/\n+/g, '');
    expect(await shown()).toBe(expected);

    // Every step on the way was a prefix of the answer that grew: nothing shown twice, nothing dropped.
    const partials = (await streamed()).map((text) => text.replace(/\n+/g, ''));
    expect(partials.length).toBeGreaterThan(1);
    for (const [i, partial] of partials.entries()) {
      expect(expected.startsWith(partial)).toBe(true);
      if (i > 0) expect(partial.length).toBeGreaterThan(partials[i - 1]!.length);
    }
    // Batched: far fewer renders than tokens (one per frame; the fake sends a token about every millisecond).
    expect(partials.length).toBeLessThan(DEFAULT_FLOOD.tokens / 2);

    // Screen readers got each paragraph once, the last one included, not every frame's text.
    const announced = await chat.page.locator('.answer-announcer p').allTextContents();
    expect(announced).toHaveLength(DEFAULT_FLOOD.tokens / 20);
    expect(announced.join('')).toBe(expected);

    await chat.page.reload();
    await chat.waitForAnswerCount(1);
    expect(await shown()).toBe(expected);
    expect(await chat.page.locator('.answer-announcer p').count()).toBe(0);
  });

  test('a tool-using question shows the status line, then the iFixit guide as a source', async () => {
    const chat = await signedIn('grace');
    await chat.send('My iPhone 12 screen is cracked. Can I replace it myself?');
    const status = chat.page.locator('.tool-status');
    await status.waitFor();
    expect(await status.textContent()).toContain('Searching iFixit');
    await chat.screenshot('05-tool-status');
    await chat.waitForAnswerCount(1);

    const source = chat.answers.first().getByRole('link', { name: /iPhone 12 Screen Replacement/ }).last();
    expect(await source.getAttribute('href')).toMatch(/^https:\/\/www\.ifixit\.com\/Guide\/iPhone\+12\+Screen\+Replacement\/\d+$/);
    expect(await source.getAttribute('target')).toBe('_blank');
    expect(await source.getAttribute('rel')).toContain('noopener');
    await expect.poll(() => status.count()).toBe(0);
    await chat.screenshot('06-answer-with-sources');

    await chat.page.reload();
    await chat.waitForAnswerCount(1);
    const sources = chat.answers.first().getByRole('navigation', { name: 'Sources' });
    expect(await sources.getByRole('link').first().textContent()).toContain('iPhone 12 Screen Replacement');
  });

  test('session stats change after a turn', async () => {
    const chat = await signedIn('stats-reader');
    await expect.poll(() => chat.stat('messages').textContent()).toBe('0');
    expect(await chat.stat('last').textContent()).toBe('—');

    await chat.send('The fan on my PC is loud');
    await chat.waitForAnswerCount(1);
    await expect.poll(() => chat.stat('messages').textContent()).toBe('2');
    const tokens = (await chat.stat('tokens').textContent()) ?? '';
    expect(Number(tokens.replace(/\D/g, ''))).toBeGreaterThan(0);
    // The fake provider reports its usage, so nothing is an estimate.
    expect(tokens).not.toContain('estimated');
    expect(await chat.stat('last').textContent()).not.toBe('—');
    expect(await chat.stat('start').textContent()).not.toBe('—');
  });

  test('tokens the provider did not report show as estimated', async () => {
    const chat = await signedIn('stats-estimated');
    await chat.send(`${UNREPORTED_USAGE_MARKER} My radio hums`);
    await chat.waitForAnswerCount(1);
    await expect.poll(() => chat.stat('tokens').textContent()).toMatch(/^[\d,]+ \([\d,]+ estimated\)$/);
  });

  test('stats count the question while its answer is still streaming', async () => {
    const chat = await signedIn('stats-live');
    await chat.send(`${SLOW_MARKER} My blender smells of smoke`);
    await expect.poll(() => chat.stat('messages').textContent()).toBe('1');
    expect(await chat.page.locator('article.streaming').count()).toBe(1);
    await chat.page.getByRole('button', { name: 'Stop' }).click();
    await chat.waitForAnswerCount(1);
    await expect.poll(() => chat.stat('messages').textContent()).toBe('2');
  });

  test('stop mid-stream leaves a stopped partial answer', async () => {
    const chat = await signedIn('linus');
    await chat.send(`${SLOW_MARKER} How do I rebuild a carburettor?`);
    await chat.page.waitForFunction(() => (document.querySelector('article.streaming .live-answer')?.textContent ?? '').length > 40);
    await chat.page.getByRole('button', { name: 'Stop' }).click();
    await chat.waitForAnswerCount(1);

    const answer = chat.answers.first();
    await answer.getByText('Stopped').waitFor();
    const partial = (await answer.locator('.markdown').textContent()) ?? '';
    expect(partial.startsWith('Careful step 1')).toBe(true);
    expect(partial.length).toBeLessThan(SLOW_ANSWER.length);
    await chat.screenshot('07-stopped');

    await chat.page.reload();
    await chat.waitForAnswerCount(1);
    await chat.answers.first().getByText('Stopped').waitFor();
  });

  test('auto-scroll follows a growing answer, but not a user who scrolled up to read', async () => {
    const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
    contexts.push(context);
    const chat = new ChatPage(await context.newPage());
    await chat.open(app.url);
    await chat.signIn('reader');
    const scroller = chat.page.locator('.message-scroller');
    const distanceFromBottom = () => scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);

    await chat.send(`${LONG_MARKER} Walk me through a full teardown`);
    await chat.page.waitForFunction(() => {
      const el = document.querySelector('.message-scroller');
      return el !== null && el.scrollHeight > el.clientHeight + 300;
    });
    expect(await distanceFromBottom()).toBeLessThanOrEqual(48);

    await chat.page.mouse.move(450, 300);
    await chat.page.mouse.wheel(0, -5000);
    const latest = chat.page.getByRole('button', { name: 'Latest' });
    await latest.waitFor();
    await chat.screenshot('14-scrolled-up-while-streaming');
    await chat.page.waitForTimeout(400);
    expect(await scroller.evaluate((el) => el.scrollTop)).toBeLessThan(50);

    await latest.click();
    await expect.poll(distanceFromBottom).toBeLessThanOrEqual(48);
    await chat.waitForAnswerCount(1);
    await expect.poll(distanceFromBottom).toBeLessThanOrEqual(48);
  });

  test('clear asks for confirmation in a dialog, then empties the view', async () => {
    const chat = await signedIn('clearer');
    await chat.send('My toaster only heats one side');
    await chat.waitForAnswerCount(1);

    await chat.page.getByRole('button', { name: 'Clear' }).click();
    const dialog = chat.page.getByRole('dialog', { name: 'Clear conversation?' });
    await dialog.waitFor();
    // The safe choice has the focus.
    expect(await chat.page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await chat.screenshot('08-clear-dialog');
    await chat.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await chat.answers.count()).toBe(1);

    await chat.page.getByRole('button', { name: 'Clear' }).click();
    await dialog.getByRole('button', { name: 'Clear conversation' }).click();
    await chat.page.getByRole('heading', { name: 'What needs fixing?' }).waitFor();
    expect(await chat.questions.count()).toBe(0);
    expect(await chat.answers.count()).toBe(0);
    await expect.poll(() => chat.stat('messages').textContent()).toBe('0');
    // Clear is disabled now, so focus lands in the composer rather than nowhere.
    expect(await chat.composer.evaluate((element) => element === document.activeElement)).toBe(true);

    await chat.page.reload();
    await chat.page.getByRole('heading', { name: 'What needs fixing?' }).waitFor();
    expect(await chat.questions.count()).toBe(0);
  });

  test('an LLM outage shows an inline error whose Retry gets the answer', async () => {
    const chat = await signedIn('outage');
    app.model.outage = true;
    await chat.send('My dishwasher does not drain');
    const alert = chat.page.getByRole('alert');
    await alert.getByText('The assistant is unavailable').waitFor();
    await chat.screenshot('09-outage');

    app.model.outage = false;
    await alert.getByRole('button', { name: 'Retry' }).click();
    await chat.waitForAnswerCount(1);
    expect(await chat.answers.first().locator('.markdown').textContent()).toContain('known-good charger');
    expect(await chat.page.getByRole('alert').count()).toBe(0);
  });

  test('a dropped WebSocket mid-reply reconnects and resumes the same answer', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
    contexts.push(context);
    // Keep a handle on every socket the app opens, so the test can cut the connection.
    await context.addInitScript(() => {
      const sockets: WebSocket[] = [];
      (window as unknown as { __sockets: WebSocket[] }).__sockets = sockets;
      window.WebSocket = class extends WebSocket {
        constructor(...args: ConstructorParameters<typeof WebSocket>) {
          super(...args);
          sockets.push(this);
        }
      };
    });
    const chat = new ChatPage(await context.newPage());
    await chat.open(app.url);
    await chat.signIn('dropped');
    const question = 'My bike chain keeps slipping';
    await chat.send(question);
    await chat.page.waitForFunction(() => (document.querySelector('article.streaming .live-answer')?.textContent ?? '').length > 20);
    await chat.page.evaluate(() => {
      for (const socket of (window as unknown as { __sockets: WebSocket[] }).__sockets) socket.close();
    });
    await chat.waitForAnswerCount(1);

    const expected = plainAnswer(question).replace(/\*\*/g, '').replace(/^\d+\. /gm, '').replace(/\n+/g, '');
    const shown = ((await chat.answers.first().locator('.markdown').textContent()) ?? '').replace(/\n+/g, '');
    expect(shown).toBe(expected);
    expect(await chat.page.evaluate(() => (window as unknown as { __sockets: WebSocket[] }).__sockets.length)).toBeGreaterThan(1);

    await chat.page.reload();
    await chat.waitForAnswerCount(1);
    expect(await chat.questions.allTextContents()).toEqual([question]);
  });
});
