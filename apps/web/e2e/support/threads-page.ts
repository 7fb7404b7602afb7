import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator } from 'playwright-core';
import { ChatPage } from './chat-page';
import { WEB_ROOT } from './web-dist';

/** The repository's docs/screenshots, where the screenshots the README shows are regenerated. */
export const DOCS_SCREENSHOTS_DIR = join(WEB_ROOT, '..', '..', 'docs', 'screenshots');

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The chat screen with its thread list, in the words of the UI. */
export class ThreadsPage extends ChatPage {
  /** The thread list (in the sidebar, or in the drawer on a phone). */
  get threadList(): Locator {
    return this.page.getByRole('list', { name: 'Conversations' });
  }

  get threadTitles(): Locator {
    return this.threadList.locator('.thread-title');
  }

  /** The thread shown, as the list marks it. */
  get currentThread(): Locator {
    return this.threadList.locator('[aria-current="page"] .thread-title');
  }

  /** The thread shown, as the header names it. */
  get heading(): Locator {
    return this.page.getByRole('heading', { level: 1 });
  }

  get searchBox(): Locator {
    return this.page.getByRole('searchbox', { name: 'Search conversations' });
  }

  get searchResults(): Locator {
    return this.page.getByRole('list', { name: 'Search results' }).getByRole('button');
  }

  /** A thread's button in the list, by its title. */
  thread(title: string): Locator {
    return this.threadList.getByRole('button', { name: new RegExp(`^${escapeRegExp(title)}`) });
  }

  /** The actions menu button of the thread shown. */
  get currentThreadMenu(): Locator {
    return this.threadList.locator('li.current').getByRole('button', { name: /^Actions for / });
  }

  threadMenu(title: string): Locator {
    return this.page.getByRole('button', { name: `Actions for ${title}` });
  }

  /** The `?thread=` of the URL: null for the default thread. */
  threadParam(): string | null {
    return new URL(this.page.url()).searchParams.get('thread');
  }

  async newThread(): Promise<void> {
    const before = this.threadParam();
    await this.page.getByRole('button', { name: 'New conversation', exact: true }).click();
    await this.page.waitForFunction(
      (previous) => new URL(location.href).searchParams.get('thread') !== previous,
      before,
    );
    await this.page.getByRole('heading', { name: 'What needs fixing?' }).waitFor();
  }

  /** Waits until the list names a thread so (the automatic title comes a moment after the first answer). */
  async waitForThread(title: string): Promise<void> {
    await this.thread(title).waitFor({ timeout: 30_000 });
  }

  /** Asks, waits for the answer and for the thread's automatic title. */
  async ask(question: string, answers: number, title?: string): Promise<void> {
    await this.send(question);
    await this.waitForAnswerCount(answers);
    if (title) await this.waitForThread(title);
  }

  async docsScreenshot(name: string): Promise<void> {
    mkdirSync(DOCS_SCREENSHOTS_DIR, { recursive: true });
    await this.page.screenshot({ path: join(DOCS_SCREENSHOTS_DIR, `${name}.png`) });
  }
}
