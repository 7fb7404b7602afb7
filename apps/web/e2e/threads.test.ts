import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendAssistantMessage, appendUserMessage } from '@fixthread/core';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startAppServer, type AppServer } from './support/app-server';
import { ARTIFACTS_DIR } from './support/chat-page';
import { e2eEnabled, launchChromium } from './support/chromium';
import { LONG_MARKER, VARIED_MARKER } from './support/fake-model';
import { ThreadsPage } from './support/threads-page';

const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 800 }, colorScheme: 'light' };
const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  isMobile: true,
  hasTouch: true,
  colorScheme: 'light',
};

/** What every subscription the page opened asked for, by procedure (`chat.stream`, `chat.edit`, …). */
function recordSubscriptions(page: Page): () => { path: string; input: Record<string, unknown> }[] {
  const sent: { path: string; input: Record<string, unknown> }[] = [];
  page.on('websocket', (socket) => {
    socket.on('framesent', ({ payload }) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(payload.toString());
      } catch {
        return;
      }
      for (const frame of (Array.isArray(parsed) ? parsed : [parsed]) as { method?: string; params?: { path?: string; input?: Record<string, unknown> } }[]) {
        if (frame.method === 'subscription' && frame.params?.path && frame.params.input && !frame.params.input.lastEventId) {
          sent.push({ path: frame.params.path, input: frame.params.input });
        }
      }
    });
  });
  return () => sent;
}

describe.skipIf(!e2eEnabled)('threads: the sidebar, search and message actions', () => {
  let app: AppServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    // Titles from the question's first words (as without a model): predictable, so the tests can name threads.
    [app, browser] = await Promise.all([startAppServer({ env: { THREAD_TITLES: 'heuristic' } }), launchChromium()]);
  });

  afterEach(async ({ task }) => {
    // A failed test leaves what its pages showed in test-artifacts/, for whoever reads the failure.
    if (task.result?.state === 'fail') {
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      const pages = contexts.flatMap((context) => context.pages());
      await Promise.all(
        pages.map((page, index) =>
          page.screenshot({ path: join(ARTIFACTS_DIR, `failed-${task.name.slice(0, 40).replace(/\W+/g, '-')}-${index}.png`) }).catch(() => {}),
        ),
      );
    }
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.[Symbol.asyncDispose]();
  });

  async function signedIn(name: string, options: BrowserContextOptions = DESKTOP): Promise<ThreadsPage> {
    const context = await browser.newContext(options);
    contexts.push(context);
    const chat = new ThreadsPage(await context.newPage());
    await chat.open(app.url);
    await chat.signIn(name);
    return chat;
  }

  /** The messages of every model call made for a turn since `from`, as JSON. */
  function turnPrompts(from: number): string[] {
    return app.modelRequests.slice(from).map((request) => JSON.stringify(request.body.messages));
  }

  test('a second thread keeps its own history across switching, Back/Forward and reloads', async () => {
    const chat = await signedIn('switcher');
    const kettle = 'Kettle will not switch off';
    const drone = 'Drone drifts to the left';
    await chat.ask(kettle, 1, 'Kettle will not switch off');
    expect(chat.threadParam()).toBeNull();

    await chat.newThread();
    const droneId = chat.threadParam();
    expect(droneId).toMatch(/^user-switcher\/[\w-]+$/);
    expect(await chat.heading.textContent()).toBe('New conversation');
    expect(await chat.questions.count()).toBe(0);
    await chat.ask(drone, 1, 'Drone drifts to the left');
    expect(await chat.questions.allTextContents()).toEqual([drone]);
    await expect.poll(() => chat.heading.textContent()).toBe('Drone drifts to the left');
    // Newest activity first.
    expect(await chat.threadTitles.allTextContents()).toEqual(['Drone drifts to the left', 'Kettle will not switch off']);

    await chat.thread('Kettle will not switch off').click();
    await expect.poll(() => chat.questions.allTextContents()).toEqual([kettle]);
    expect(chat.threadParam()).toBeNull();
    expect(await chat.currentThread.textContent()).toBe('Kettle will not switch off');

    await chat.page.goBack();
    await expect.poll(() => chat.questions.allTextContents()).toEqual([drone]);
    expect(chat.threadParam()).toBe(droneId);
    expect(await chat.currentThread.textContent()).toBe('Drone drifts to the left');

    await chat.page.reload();
    await chat.waitForAnswerCount(1);
    expect(await chat.questions.allTextContents()).toEqual([drone]);
    await chat.page.goForward();
    await expect.poll(() => chat.questions.allTextContents()).toEqual([kettle]);
    await chat.page.reload();
    await chat.waitForAnswerCount(1);
    expect(await chat.questions.allTextContents()).toEqual([kettle]);
    await chat.waitForThread('Drone drifts to the left');
  });

  test('a reply streaming in one thread stays in it while another thread is shown and used', async () => {
    const chat = await signedIn('multitasker');
    const toaster = 'Toaster only heats one side';
    // A long answer in small steps (some seconds): time to go elsewhere while it streams.
    const blender = `${LONG_MARKER} Blender smells of smoke`;
    await chat.ask(toaster, 1, toaster);
    await chat.newThread();
    const blenderId = chat.threadParam();
    await chat.send(blender);
    await chat.page.waitForFunction(() => (document.querySelector('article.streaming .live-answer')?.textContent ?? '').length > 20);

    await chat.thread(toaster).click();
    await expect.poll(() => chat.questions.allTextContents()).toEqual([toaster]);
    expect(await chat.streamingAnswer.count()).toBe(0);
    expect(await chat.answers.count()).toBe(1);
    expect(await chat.page.getByRole('button', { name: 'Stop' }).count()).toBe(0);
    // The list says where the reply is going on.
    await chat.threadList.locator(`[data-thread-id="${blenderId}"]`).getByText('Answering…').waitFor();

    // This thread can be used meanwhile, and its answer stays here.
    await chat.ask('And the crumb tray?', 2);
    expect(await chat.questions.allTextContents()).toEqual([toaster, 'And the crumb tray?']);
    expect(await chat.answers.nth(1).locator('.markdown').textContent()).toContain('crumb tray');

    // Each turn's prompt held its own thread only.
    const blenderPrompt = app.modelRequests.find((request) => JSON.stringify(request.body.messages).includes('Blender smells'));
    expect(blenderPrompt, 'no model call asked about the blender').toBeDefined();
    expect(JSON.stringify(blenderPrompt?.body.messages)).not.toContain('Toaster');

    await chat.threadList.locator(`[data-thread-id="${blenderId}"] .thread-link`).click();
    await chat.waitForAnswerCount(1);
    expect(await chat.questions.allTextContents()).toEqual([blender]);
    const answer = (await chat.answers.first().locator('.markdown').textContent()) ?? '';
    expect(answer).toContain('Step 1: check the part');
    expect(answer).toContain('Step 40: check the part');
    expect(answer).not.toContain('Toaster');

    await chat.page.reload();
    await chat.waitForAnswerCount(1);
    expect(await chat.questions.allTextContents()).toEqual([blender]);
    await chat.thread(toaster).click();
    await chat.waitForAnswerCount(2);
    expect(await chat.questions.allTextContents()).toEqual([toaster, 'And the crumb tray?']);
  });

  test('rename a thread in place, export it, and delete it after confirming', async () => {
    const chat = await signedIn('renamer');
    await chat.ask('Mouse double-clicks by itself', 1, 'Mouse double-clicks by itself');
    await chat.newThread();
    const deletedId = chat.threadParam();
    await chat.ask('Headphones crackle on the left', 1, 'Headphones crackle on the left');

    await chat.threadMenu('Headphones crackle on the left').click();
    const menu = chat.page.getByRole('menu', { name: 'Actions for Headphones crackle on the left' });
    await menu.waitFor();
    // The first item has the focus; arrow keys move through the menu.
    expect(await chat.page.evaluate(() => document.activeElement?.textContent)).toBe('Rename');
    await chat.page.keyboard.press('ArrowUp');
    expect(await chat.page.evaluate(() => document.activeElement?.textContent)).toBe('Delete');
    await chat.page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
    expect(await chat.page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe(
      'Actions for Headphones crackle on the left',
    );

    await chat.threadMenu('Headphones crackle on the left').click();
    await chat.page.getByRole('menuitem', { name: 'Rename' }).click();
    const field = chat.page.getByRole('textbox', { name: 'Conversation title' });
    expect(await field.inputValue()).toBe('Headphones crackle on the left');
    await field.fill('Left earcup crackles');
    await field.press('Enter');
    await chat.waitForThread('Left earcup crackles');
    await expect.poll(() => chat.heading.textContent()).toBe('Left earcup crackles');
    expect(await chat.page.evaluate(() => document.activeElement?.classList.contains('thread-link'))).toBe(true);

    // Escape leaves the title as it was.
    await chat.threadMenu('Left earcup crackles').click();
    await chat.page.getByRole('menuitem', { name: 'Rename' }).click();
    await field.fill('Never mind');
    await field.press('Escape');
    await field.waitFor({ state: 'detached' });
    expect(await chat.threadTitles.allTextContents()).toContain('Left earcup crackles');

    // The user's title stays after a reload (and over the automatic one).
    await chat.page.reload();
    await chat.waitForThread('Left earcup crackles');
    expect(await chat.heading.textContent()).toBe('Left earcup crackles');

    // Export as Markdown downloads the thread.
    const download = chat.page.waitForEvent('download');
    await chat.threadMenu('Left earcup crackles').click();
    await chat.page.getByRole('menuitem', { name: 'Export as Markdown' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/\.md$/);
    const path = await file.path();
    expect(readFileSync(path, 'utf8')).toContain('Headphones crackle on the left');

    // Delete asks first; Escape (Cancel has the focus) keeps the thread.
    await chat.threadMenu('Left earcup crackles').click();
    await chat.page.getByRole('menuitem', { name: 'Delete' }).click();
    const dialog = chat.page.getByRole('dialog', { name: 'Delete conversation?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('“Left earcup crackles”');
    expect(await chat.page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
    await chat.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await chat.threadTitles.allTextContents()).toContain('Left earcup crackles');

    await chat.threadMenu('Left earcup crackles').click();
    await chat.page.getByRole('menuitem', { name: 'Delete' }).click();
    await dialog.getByRole('button', { name: 'Delete conversation' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await expect.poll(() => chat.threadTitles.allTextContents()).toEqual(['Mouse double-clicks by itself']);
    // It was the thread shown: its neighbour is now.
    await expect.poll(() => chat.questions.allTextContents()).toEqual(['Mouse double-clicks by itself']);
    expect(chat.threadParam()).toBeNull();

    await chat.page.reload();
    await chat.waitForAnswerCount(1);
    expect(await chat.threadTitles.allTextContents()).toEqual(['Mouse double-clicks by itself']);

    // An old link to the deleted thread lands on the default thread.
    await chat.page.goto(`${app.url}/?thread=${encodeURIComponent(deletedId ?? '')}`);
    await expect.poll(() => chat.threadParam()).toBeNull();
    await chat.waitForAnswerCount(1);
    expect(await chat.questions.allTextContents()).toEqual(['Mouse double-clicks by itself']);
  });

  test('search finds a message in another thread, with its words marked, and opens it there', async () => {
    const chat = await signedIn('searcher');
    const question = 'Carburettor floods after a rebuild, what did I miss?';
    const title = 'Carburettor floods after a rebuild, what did I miss';
    await chat.ask(question, 1, title);
    await chat.newThread();
    await chat.ask('Lawnmower carburettor needs cleaning', 1, 'Lawnmower carburettor needs cleaning');
    await chat.newThread();
    await chat.ask('Dishwasher does not drain', 1, 'Dishwasher does not drain');

    await chat.searchBox.fill('carburettor');
    await expect.poll(() => chat.searchResults.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    await chat.page.getByText(/\d+ messages found/).waitFor();
    const marks = await chat.page.locator('.search-result mark').allTextContents();
    expect(marks.length).toBeGreaterThan(0);
    for (const mark of marks) expect(mark.toLowerCase()).toContain('carburettor');
    await chat.docsScreenshot('search-results');

    // The question itself (the answers quote it too).
    const result = chat.searchResults
      .filter({ has: chat.page.locator('.search-result-role', { hasText: 'You:' }) })
      .filter({ hasText: 'Carburettor floods' })
      .first();
    expect(await result.textContent()).toContain(title);
    const messageId = await result.getAttribute('data-message-id');
    await result.click();
    await expect.poll(() => chat.threadParam()).toBeNull();
    const opened = chat.page.locator(`#message-${messageId}`);
    await opened.waitFor();
    expect(await opened.locator('.bubble').textContent()).toBe(question);
    await expect.poll(() => opened.evaluate((element) => element.classList.contains('message-highlighted'))).toBe(true);
    await expect.poll(() => chat.page.evaluate(() => document.activeElement?.id)).toBe(`message-${messageId}`);
    expect(await chat.heading.textContent()).toBe(title);

    // Nothing found says so.
    await chat.searchBox.fill('xylophone');
    await chat.page.getByText('No messages match “xylophone”.').waitFor();
    await chat.searchBox.press('Escape');
    await chat.threadList.waitFor();
  });

  test('a search result older than the loaded page loads older pages until it is shown', async () => {
    const user = 'archivist';
    const chat = await signedIn(user);
    await chat.newThread();
    const archive = chat.threadParam() ?? '';
    // 130 messages, the oldest naming the float needle: more than the first page (100) shows.
    const first = await appendUserMessage(app.db, user, 'Where does the float needle of the carburettor sit?', archive);
    await appendAssistantMessage(app.db, user, { content: 'Under the bowl.', usageTokens: 0, usageEstimated: true, finishReason: 'stop', toolCalls: [], threadId: archive });
    for (let i = 1; i < 65; i++) {
      await appendUserMessage(app.db, user, `Filler question ${i}`, archive);
      await appendAssistantMessage(app.db, user, { content: `Filler answer ${i}`, usageTokens: 0, usageEstimated: true, finishReason: 'stop', toolCalls: [], threadId: archive });
    }
    await chat.currentThreadMenu.click();
    await chat.page.getByRole('menuitem', { name: 'Rename' }).click();
    await chat.page.getByRole('textbox', { name: 'Conversation title' }).fill('Workshop archive');
    await chat.page.keyboard.press('Enter');
    await chat.waitForThread('Workshop archive');
    // Somewhere else, then search.
    await chat.newThread();
    await chat.ask('Bike chain keeps slipping', 1);

    await chat.searchBox.fill('float needle');
    const result = chat.searchResults.first();
    await result.waitFor();
    expect(await result.textContent()).toContain('Workshop archive');
    expect(await result.getAttribute('data-message-id')).toBe(String(first.id));
    await result.click();
    const opened = chat.page.locator(`#message-${first.id}`);
    await opened.waitFor({ timeout: 15_000 });
    await expect.poll(() => opened.evaluate((element) => element.classList.contains('message-highlighted'))).toBe(true);
    expect(chat.threadParam()).toBe(archive);
    expect(await chat.page.locator('article.message').count()).toBe(130);
    // It is in view.
    const box = await opened.boundingBox();
    expect(box && box.y >= 0 && box.y < 800).toBe(true);
  });

  test('scrolling to the top of a long thread loads older messages and keeps the view in place', async () => {
    const user = 'scroller';
    for (let i = 1; i <= 80; i++) {
      await appendUserMessage(app.db, user, `Question number ${i}`);
      await appendAssistantMessage(app.db, user, { content: `Answer number ${i}`, usageTokens: 0, usageEstimated: true, finishReason: 'stop', toolCalls: [] });
    }
    const chat = await signedIn(user, { viewport: { width: 1280, height: 800 } });
    await chat.waitForAnswerCount(50);
    expect(await chat.page.locator('article.message').count()).toBe(100);
    expect(await chat.questions.first().textContent()).toBe('Question number 31');
    await chat.page.getByRole('button', { name: 'Load older messages' }).waitFor();

    const scroller = chat.page.locator('.message-scroller');
    const oldestShown = chat.page.locator('article.message-user', { hasText: /^Question number 31/ });
    await scroller.evaluate((element) => (element.scrollTop = 0));
    await expect.poll(() => chat.page.locator('article.message').count()).toBe(150);
    // The message that was at the top is still where the user was looking, not pushed down by the new page.
    const y = (await oldestShown.boundingBox())?.y ?? -1;
    expect(y).toBeGreaterThan(0);
    expect(y).toBeLessThan(400);
    expect(await scroller.evaluate((element) => element.scrollTop)).toBeGreaterThan(1000);

    await scroller.evaluate((element) => (element.scrollTop = 0));
    await expect.poll(() => chat.page.locator('article.message').count()).toBe(160);
    await expect.poll(() => chat.questions.first().textContent()).toBe('Question number 1');
    expect(await chat.page.getByRole('button', { name: 'Load older messages' }).count()).toBe(0);
  });

  test('regenerate replaces the answer shown, and the old answer stays out of the next prompt; copy copies', async () => {
    const chat = await signedIn('regenerator');
    await chat.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: app.url });
    const question = `${VARIED_MARKER} Fuse trips when the kettle boils`;
    const subscriptions = recordSubscriptions(chat.page);
    await chat.ask(question, 1);
    const markdown = () => chat.answers.first().locator('.markdown').textContent();
    const first = (await markdown()) ?? '';
    expect(first).toMatch(/^Take \d+: /);

    await chat.answers.first().getByRole('button', { name: 'Copy' }).click();
    await chat.answers.first().getByRole('button', { name: 'Copied' }).waitFor();
    expect(await chat.page.evaluate(() => navigator.clipboard.readText())).toBe(first);
    await chat.page.getByTestId('announcer').getByText('Message copied to the clipboard').waitFor({ state: 'attached' });

    const from = app.modelRequests.length;
    await chat.answers.first().getByRole('button', { name: 'Regenerate' }).click();
    await chat.streamingAnswer.waitFor();
    // The answer being replaced is no longer shown; its question stays.
    expect(await chat.answers.count()).toBe(0);
    expect(await chat.questions.allTextContents()).toEqual([question]);
    await chat.waitForAnswerCount(1);
    const second = (await markdown()) ?? '';
    expect(second).toMatch(/^Take \d+: /);
    expect(second).not.toBe(first);
    expect(subscriptions().map((s) => s.path)).toEqual(['chat.stream', 'chat.regenerate']);

    await chat.ask('Is it safe to reset it?', 2);
    const prompts = turnPrompts(from);
    expect(prompts.length).toBeGreaterThanOrEqual(2);
    const followUp = prompts.at(-1) ?? '';
    expect(followUp).toContain('Is it safe to reset it?');
    expect(followUp).toContain(second);
    expect(followUp).not.toContain(first);
    // Nor did the regenerated answer's own prompt carry it.
    expect(prompts[0]).not.toContain(first);

    await chat.page.reload();
    await chat.waitForAnswerCount(2);
    expect(await markdown()).toBe(second);
    // Only the last answer can be regenerated.
    expect(await chat.answers.first().getByRole('button', { name: 'Regenerate' }).count()).toBe(0);
    expect(await chat.answers.last().getByRole('button', { name: 'Regenerate' }).count()).toBe(1);
  });

  test('edit the last question in place and send it again', async () => {
    const chat = await signedIn('editor');
    const subscriptions = recordSubscriptions(chat.page);
    await chat.ask('My router drops wifi', 1);
    await chat.ask('It is a TP-Link Archer', 2);
    const userMessages = chat.page.locator('article.message-user');
    // Only the last question can be edited.
    expect(await userMessages.first().getByRole('button', { name: 'Edit' }).count()).toBe(0);

    await userMessages.last().getByRole('button', { name: 'Edit' }).click();
    const editor = chat.page.getByRole('textbox', { name: 'Edit your question' });
    expect(await editor.inputValue()).toBe('It is a TP-Link Archer');
    expect(await editor.evaluate((element) => element === document.activeElement)).toBe(true);
    await editor.press('Escape');
    await editor.waitFor({ state: 'detached' });
    expect(await chat.questions.allTextContents()).toEqual(['My router drops wifi', 'It is a TP-Link Archer']);

    await userMessages.last().getByRole('button', { name: 'Edit' }).click();
    // Unchanged, there is nothing to send.
    expect(await chat.page.getByRole('button', { name: 'Save & send' }).isDisabled()).toBe(true);
    await editor.fill('It is a TP-Link Archer C6');
    const from = app.modelRequests.length;
    await chat.page.getByRole('button', { name: 'Save & send' }).click();
    await chat.streamingAnswer.waitFor();
    expect(await chat.questions.allTextContents()).toEqual(['My router drops wifi', 'It is a TP-Link Archer C6']);
    expect(await chat.answers.count()).toBe(1);
    await chat.waitForAnswerCount(2);
    expect(await chat.answers.last().locator('.markdown').textContent()).toContain('It is a TP-Link Archer C6');

    const edits = subscriptions().filter((s) => s.path === 'chat.edit');
    expect(edits).toHaveLength(1);
    expect(edits[0]?.input).toMatchObject({ message: 'It is a TP-Link Archer C6' });
    // The model was asked the edited question, not the old one as well.
    const prompt = turnPrompts(from).at(-1) ?? '';
    expect(prompt).toContain('It is a TP-Link Archer C6');
    expect(prompt).not.toContain('"It is a TP-Link Archer"');

    await chat.page.reload();
    await chat.waitForAnswerCount(2);
    expect(await chat.questions.allTextContents()).toEqual(['My router drops wifi', 'It is a TP-Link Archer C6']);
  });

  test('on a phone the thread list is a drawer: opens, traps focus, closes on choice, Escape and backdrop', async () => {
    const chat = await signedIn('pocket', PHONE);
    const menuButton = chat.page.getByRole('button', { name: 'Conversations', exact: true });
    const drawer = chat.page.getByRole('dialog', { name: 'Conversations' });
    // No sidebar beside the conversation at this width.
    expect(await chat.threadList.count()).toBe(0);
    await chat.ask('Kettle trips the fuse', 1);

    await menuButton.click();
    await drawer.waitFor();
    expect(await menuButton.getAttribute('aria-expanded')).toBe('true');
    await chat.waitForThread('Kettle trips the fuse');
    await drawer.getByRole('button', { name: 'New conversation', exact: true }).click();
    await drawer.waitFor({ state: 'hidden' });
    await chat.ask('Vacuum lost its suction', 1);
    await menuButton.click();
    await drawer.waitFor();
    await chat.waitForThread('Vacuum lost its suction');
    await chat.page.waitForTimeout(300); // the slide-in
    await chat.docsScreenshot('phone-drawer');

    // Focus stays inside while it is open, past the last element and back before the first.
    for (let i = 0; i < 16; i++) {
      await chat.page.keyboard.press(i < 12 ? 'Tab' : 'Shift+Tab');
      expect(await drawer.evaluate((dialog) => dialog.contains(document.activeElement))).toBe(true);
    }

    // Choosing a thread shows it and closes the drawer.
    await chat.thread('Kettle trips the fuse').click();
    await drawer.waitFor({ state: 'hidden' });
    await expect.poll(() => chat.questions.allTextContents()).toEqual(['Kettle trips the fuse']);
    expect(await chat.heading.textContent()).toBe('Kettle trips the fuse');

    // Escape closes it, and focus goes back to the menu button.
    await menuButton.click();
    await drawer.waitFor();
    await chat.page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'hidden' });
    expect(await menuButton.evaluate((button) => button === document.activeElement)).toBe(true);
    expect(await menuButton.getAttribute('aria-expanded')).toBe('false');

    // So does a tap on the backdrop, beside the panel.
    await menuButton.click();
    await drawer.waitFor();
    await chat.page.mouse.click(375, 420);
    await drawer.waitFor({ state: 'hidden' });

    const overflow = await chat.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBe(0);
  });

  test('the desktop sidebar lists titled threads, newest first', async () => {
    const chat = await signedIn('workbench', DESKTOP);
    // Mentioning a screen makes the fake model look up an iFixit guide first, so that answer cites it.
    await chat.ask('iPhone 12 screen is cracked', 1, 'iPhone 12 screen is cracked');
    await chat.newThread();
    await chat.ask('PS5 shuts down while gaming', 1, 'PS5 shuts down while gaming');
    await chat.newThread();
    await chat.ask('MacBook Air battery replacement', 1, 'MacBook Air battery replacement');
    expect(await chat.threadTitles.allTextContents()).toEqual([
      'MacBook Air battery replacement',
      'PS5 shuts down while gaming',
      'iPhone 12 screen is cracked',
    ]);
    await chat.thread('iPhone 12 screen is cracked').click();
    await chat.waitForAnswerCount(1);
    await chat.answers.first().getByRole('navigation', { name: 'Sources' }).waitFor();
    await chat.page.mouse.move(640, 400);
    await chat.docsScreenshot('sidebar-desktop');
  });
});
