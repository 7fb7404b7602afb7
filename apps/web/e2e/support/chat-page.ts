import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { WEB_ROOT } from './web-dist';

export const ARTIFACTS_DIR = join(WEB_ROOT, 'test-artifacts');

/** The input of a `chat.stream` subscription as the page sent it over the WebSocket. */
export interface StreamInput {
  message: string;
  clientMessageId?: string;
  /** Set when wsLink re-sends the subscription after a reconnect, to resume the turn. */
  lastEventId?: string | null;
}

interface SubscriptionFrame {
  method?: string;
  params?: { path?: string; input?: StreamInput };
}

function streamInputsIn(payload: string | Buffer): StreamInput[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString());
  } catch {
    return []; // keep-alive PINGs are not JSON
  }
  const frames = (Array.isArray(parsed) ? parsed : [parsed]) as SubscriptionFrame[];
  return frames.flatMap((frame) =>
    frame.method === 'subscription' && frame.params?.path === 'chat.stream' && frame.params.input ? [frame.params.input] : [],
  );
}

/** What a user of the chat screen does and sees, in the words of the UI. */
export class ChatPage {
  constructor(readonly page: Page) {}

  get composer(): Locator {
    return this.page.getByRole('textbox', { name: 'Message' });
  }

  get answers(): Locator {
    return this.page.locator('article.message-assistant:not(.streaming)');
  }

  /** The questions' text (the bubbles: a stored question's Copy and Edit buttons are not part of it). */
  get questions(): Locator {
    return this.page.locator('article.message-user .bubble');
  }

  get streamingAnswer(): Locator {
    return this.page.locator('article.streaming');
  }

  stat(name: 'messages' | 'tokens' | 'start' | 'last'): Locator {
    return this.page.locator(`[data-stat="${name}"]`);
  }

  async open(url: string): Promise<void> {
    await this.page.goto(url);
  }

  async signIn(name: string): Promise<void> {
    await this.page.getByLabel('Your name').fill(name);
    await this.page.getByRole('button', { name: 'Continue' }).click();
    await this.composer.waitFor();
    await this.page.getByText('Loading your conversation…').waitFor({ state: 'detached' });
  }

  /** Types and presses Enter, as a user would. */
  async send(message: string): Promise<void> {
    await this.composer.fill(message);
    await this.composer.press('Enter');
  }

  async waitForAnswerCount(count: number): Promise<void> {
    await this.page.waitForFunction(
      (expected) => document.querySelectorAll('article.message-assistant:not(.streaming)').length === expected,
      count,
      { timeout: 30_000 },
    );
  }

  /** Starts collecting what every `chat.stream` subscription sends; call before the first turn opens the socket. */
  recordStreamInputs(): () => StreamInput[] {
    const inputs: StreamInput[] = [];
    this.page.on('websocket', (socket) => {
      socket.on('framesent', ({ payload }) => inputs.push(...streamInputsIn(payload)));
    });
    return () => inputs;
  }

  /** Starts recording every distinct text the streaming answer shows, to prove it arrived in steps. */
  async recordStreamingText(): Promise<() => Promise<string[]>> {
    await this.page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { __streamed: string[] }).__streamed = seen;
      new MutationObserver(() => {
        const text = document.querySelector('article.streaming .live-answer')?.textContent ?? '';
        if (text && seen.at(-1) !== text) seen.push(text);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    return () => this.page.evaluate(() => (window as unknown as { __streamed: string[] }).__streamed);
  }

  async screenshot(name: string): Promise<void> {
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    await this.page.screenshot({ path: join(ARTIFACTS_DIR, `${name}.png`) });
  }
}
