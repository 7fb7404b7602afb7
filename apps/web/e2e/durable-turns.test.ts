import { appendAssistantMessage, appendUserMessage } from '@fixthread/core';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startAppServer, type AppServer } from './support/app-server';
import { ChatPage, type StreamInput } from './support/chat-page';
import { e2eEnabled, launchChromium } from './support/chromium';
import { SLOW_MARKER } from './support/fake-model';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The subscriptions that asked (or re-asked) a question, leaving out wsLink's resumes after a reconnect. */
function asked(inputs: StreamInput[]): StreamInput[] {
  return inputs.filter((input) => !input.lastEventId);
}

describe.skipIf(!e2eEnabled)('turns are identified by ids, not by their text', () => {
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

  async function signedIn(
    name: string,
    setUp?: (context: BrowserContext) => Promise<unknown>,
  ): Promise<ChatPage> {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 820 },
      colorScheme: 'light',
    });
    contexts.push(context);
    await setUp?.(context);
    const chat = new ChatPage(await context.newPage());
    await chat.open(app.url);
    await chat.signIn(name);
    return chat;
  }

  test('the same question sent twice on purpose shows twice, each under its own clientMessageId', async () => {
    const chat = await signedIn('twice');
    const inputs = chat.recordStreamInputs();
    await chat.send('yes');
    await chat.waitForAnswerCount(1);
    await chat.send('yes');
    await chat.waitForAnswerCount(2);
    expect(await chat.questions.allTextContents()).toEqual(['yes', 'yes']);

    const keys = asked(inputs()).map((input) => input.clientMessageId);
    expect(keys).toHaveLength(2);
    for (const key of keys) expect(key).toMatch(UUID);
    expect(new Set(keys).size).toBe(2);

    await chat.page.reload();
    await chat.waitForAnswerCount(2);
    expect(await chat.questions.allTextContents()).toEqual(['yes', 'yes']);
  });

  test('Retry after a lost connection re-sends under the same clientMessageId, so the question is stored once', async () => {
    const chat = await signedIn('reconnect-retry', (context) =>
      // While __offline is set, every new socket fails to connect, as on a dead network.
      context.addInitScript(() => {
        const state = window as unknown as { __sockets: WebSocket[]; __offline: boolean };
        state.__sockets = [];
        state.__offline = false;
        window.WebSocket = class extends WebSocket {
          constructor(url: string | URL, protocols?: string | string[]) {
            super(state.__offline ? 'ws://127.0.0.1:9/' : url, protocols);
            state.__sockets.push(this);
          }
        };
      }),
    );
    const inputs = chat.recordStreamInputs();
    const question = `${SLOW_MARKER} My lawnmower won't start`;
    await chat.send(question);
    await chat.page.waitForFunction(
      () => (document.querySelector('article.streaming .live-answer')?.textContent ?? '').length > 20,
    );
    await chat.page.evaluate(() => {
      const state = window as unknown as { __sockets: WebSocket[]; __offline: boolean };
      state.__offline = true;
      for (const socket of state.__sockets) socket.close();
    });
    await chat.page.getByText('Connection lost. Reconnecting…').waitFor();

    // Giving up on the live reply leaves the turn failed with a lost connection (the server stops and saves it).
    await chat.page.getByRole('button', { name: 'Stop' }).click();
    const alert = chat.page.getByRole('alert');
    await alert.getByText('Connection lost').waitFor();
    await chat.page.evaluate(() => {
      (window as unknown as { __offline: boolean }).__offline = false;
    });
    await alert.getByRole('button', { name: 'Retry' }).click();
    // The stopped answer may be on screen already (the history is refetched after a failure): wait for the
    // retried turn itself to end, which takes the error away.
    await expect.poll(() => chat.page.getByRole('alert').count()).toBe(0);
    await chat.waitForAnswerCount(1);
    await chat.answers.first().getByText('Stopped').waitFor();
    expect(await chat.questions.allTextContents()).toEqual([question]);

    // The first send, the Retry, and any resubscription wsLink made while reconnecting: all under one key.
    const keys = asked(inputs()).map((input) => input.clientMessageId);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    expect(keys[0]).toMatch(UUID);
    expect(new Set(keys)).toEqual(new Set([keys[0]]));

    await chat.page.reload();
    await chat.waitForAnswerCount(1);
    expect(await chat.questions.allTextContents()).toEqual([question]);
  });

  test('a reply interrupted by a server restart is marked, and Ask again asks its question anew', async () => {
    const user = 'interrupted';
    const question = 'Why does my kettle trip the fuse?';
    // What recovery leaves behind when the server running a turn died: the reply as far as it had streamed.
    await appendUserMessage(app.db, user, question);
    await appendAssistantMessage(app.db, user, {
      content: 'First, unplug the kettle and',
      usageTokens: 0,
      usageEstimated: true,
      finishReason: 'interrupted',
      toolCalls: [],
    });
    const chat = await signedIn(user);
    const inputs = chat.recordStreamInputs();
    const cutOff = chat.answers.first();
    await cutOff.getByText('Interrupted — the server restarted while answering.').waitFor();
    expect(await cutOff.locator('.markdown').textContent()).toBe('First, unplug the kettle and');
    await chat.screenshot('15-interrupted');

    const askAgain = cutOff.getByRole('button', { name: 'Ask again' });
    await askAgain.click();
    await chat.streamingAnswer.waitFor();
    // One reply at a time: the button waits while this one streams.
    expect(await askAgain.isDisabled()).toBe(true);
    await chat.waitForAnswerCount(2);
    expect(await chat.questions.allTextContents()).toEqual([question, question]);
    expect(await chat.answers.nth(1).locator('.markdown').textContent()).toContain('known-good charger');
    expect(await chat.answers.nth(1).getByText('Interrupted').count()).toBe(0);
    expect(await askAgain.isEnabled()).toBe(true);

    const sent = asked(inputs());
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      message: question,
      clientMessageId: expect.stringMatching(UUID) as unknown,
    });

    await chat.page.reload();
    await chat.waitForAnswerCount(2);
    expect(await chat.questions.allTextContents()).toEqual([question, question]);
    await chat.answers.first().getByRole('button', { name: 'Ask again' }).waitFor();
  });
});
