import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatRequestBody, FakeResponder, RecordedChatRequest } from '@fixthread/testing';
import type { Browser, BrowserContext, BrowserContextOptions, CDPSession, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startAppServer, type AppServer } from './support/app-server';
import { ChatPage } from './support/chat-page';
import { e2eEnabled, launchChromium } from './support/chromium';
import { CHUNK_DELAY_MS, fakeModelResponder } from './support/fake-model';
import { dropPhotos, pastePhoto, photoBytes, type PhotoSpec } from './support/photos';
import { DOCS_SCREENSHOTS_DIR } from './support/threads-page';

const BATTERY_ANSWER = [
  'That battery is swollen: the pouch has puffed up well past flat, and the label is stretched across the bulge. Treat it as a fire risk.',
  '',
  '1. **Stop using and charging the laptop** now, and unplug it.',
  '2. Keep it somewhere cool, on a non-flammable surface.',
  '3. Don’t press on the bulge or puncture it.',
  '4. Fit a matching replacement battery, and take the old one to a battery recycling point.',
].join('\n');

const QUESTION = 'Is this laptop battery still safe to use? The case doesn’t close flat any more.';
const PASTE_TARGET = 'form.composer textarea';
const DROP_TARGET = '.photo-drop-target';

interface ContentPart {
  type: string;
  text?: string;
  image_url?: { url: string; detail?: string };
}

/** The turn's own question (the last user message), as parts; a plain string is one text part. */
function questionParts(body: ChatRequestBody): ContentPart[] {
  const content = body.messages.findLast((message) => message.role === 'user')?.content;
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? (content as ContentPart[]) : [];
}

function imagesIn(parts: ContentPart[]): ContentPart[] {
  return parts.filter((part) => part.type === 'image_url');
}

/** Answers about the photos when the question has any, and like the shared fake otherwise. */
const standard = fakeModelResponder({ outage: false });
const responder: FakeResponder = (body, context) => {
  const parts = questionParts(body);
  const images = imagesIn(parts).length;
  if (images === 0 || body.messages.at(-1)?.role !== 'user') return standard(body, context);
  const text = parts.some((part) => part.type === 'text') ? BATTERY_ANSWER : `I can see ${images} photos.`;
  // What gpt-4o-mini reports for a question with photos (2,833 tokens each at low detail); the fake's own
  // estimate would count the base64 of the images as text.
  return { text, delayMsBetweenChunks: CHUNK_DELAY_MS, usage: { prompt_tokens: 2_833 * images + 420, completion_tokens: 86 } };
};

/** The request of the turn whose question had photos, the last one. */
function photoRequest(requests: RecordedChatRequest[]): ContentPart[] {
  const request = requests.findLast((candidate) => imagesIn(questionParts(candidate.body)).length > 0);
  if (!request) throw new Error('the model was sent no photo');
  return questionParts(request.body);
}

/** Uploads at `bytesPerSecond`, so their progress can be watched; `null` lifts the limit. */
async function throttleUploads(cdp: CDPSession, bytesPerSecond: number | null): Promise<void> {
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond ?? -1,
  });
}

async function chooseFiles(page: Page, files: Array<{ name: string; mimeType: string; buffer: Buffer }>): Promise<void> {
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Attach photos' }).click();
  await (await chooser).setFiles(files);
}

function previews(page: Page) {
  return page.getByRole('list', { name: 'Photos to send' }).getByRole('listitem');
}

async function uploadedCount(page: Page): Promise<number> {
  return page.locator('.photo-preview[data-status="uploaded"]').count();
}

/** The natural widths of the question thumbnails, once every one of them has decoded. */
async function decodedWidths(page: Page): Promise<number[]> {
  await page.waitForFunction(() =>
    [...document.querySelectorAll<HTMLImageElement>('article.message-user .message-photos img')].every(
      (image) => image.complete && image.naturalWidth > 0,
    ),
  );
  return page
    .locator('article.message-user .message-photos img')
    .evaluateAll((images: HTMLImageElement[]) => images.map((image) => image.naturalWidth));
}

const HEIC_HEADER = Buffer.concat([
  Buffer.from([0, 0, 0, 24]),
  Buffer.from('ftypheic', 'latin1'),
  Buffer.from([0, 0, 0, 0]),
  Buffer.from('mif1heic', 'latin1'),
  Buffer.alloc(64),
]);

describe.skipIf(!e2eEnabled)('photos in a real browser', () => {
  let app: AppServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    [app, browser] = await Promise.all([startAppServer({ responder }), launchChromium()]);
  });

  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
  });

  afterAll(async () => {
    await browser?.close();
    await app?.[Symbol.asyncDispose]();
  });

  async function signedIn(name: string, options: BrowserContextOptions = {}): Promise<ChatPage> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, colorScheme: 'light', ...options });
    contexts.push(context);
    const chat = new ChatPage(await context.newPage());
    await chat.open(app.url);
    await chat.signIn(name);
    return chat;
  }

  test('attaches by the file chooser and by paste, shows the thumbnails while the answer streams, and again after a reload', async () => {
    const chat = await signedIn('photo-ada');
    const { page } = chat;
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    // A desktop browser offers no camera button.
    expect(await page.getByRole('button', { name: 'Take photo' }).count()).toBe(0);

    const top: PhotoSpec = { scene: 'battery', width: 1600, height: 1200, type: 'image/jpeg' };
    const battery = await photoBytes(page, top);
    await throttleUploads(cdp, 120_000);
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Attach photos' }).click();
    const fileChooser = await chooser;
    expect(fileChooser.isMultiple()).toBe(true);
    expect(await fileChooser.element().getAttribute('accept')).toBe('image/jpeg,image/png,image/webp');
    await fileChooser.setFiles({ name: 'battery.jpg', mimeType: 'image/jpeg', buffer: battery });

    // The preview is the local file, at once; the upload's progress shows on it, and sending waits for it.
    const preview = previews(page).first().getByRole('img', { name: 'Photo 1: battery.jpg' });
    await preview.waitFor();
    expect(await preview.getAttribute('src')).toMatch(/^blob:/);
    const progress = page.getByRole('progressbar', { name: 'Uploading photo 1' });
    await page.waitForFunction(() => {
      const bar = document.querySelector<HTMLProgressElement>('.photo-progress');
      return bar !== null && bar.value > 0 && bar.value < 100;
    });
    const uploading = page.getByRole('button', { name: 'Uploading…' });
    expect(await uploading.isDisabled()).toBe(true);
    await chat.screenshot('photos-01-uploading');
    await chat.composer.fill(QUESTION);
    await chat.composer.press('Enter');
    expect(await chat.questions.count()).toBe(0);
    await page.locator('.photo-preview[data-status="uploaded"]').waitFor({ timeout: 30_000 });
    expect(await progress.count()).toBe(0);
    await throttleUploads(cdp, null);

    // Pasting an image attaches it and leaves the typed words alone.
    await pastePhoto(page, PASTE_TARGET, 'image.png', { scene: 'battery-side', width: 1200, height: 900, type: 'image/png' });
    await expect.poll(() => previews(page).count()).toBe(2);
    await expect.poll(() => uploadedCount(page), { timeout: 20_000 }).toBe(2);
    expect(await chat.composer.inputValue()).toBe(QUESTION);
    expect(await page.getByRole('button', { name: 'Send' }).isEnabled()).toBe(true);

    await chat.composer.press('Enter');
    // The question shows with both photos while the answer streams in; the composer is empty again.
    await page.waitForFunction(
      () =>
        (document.querySelector('article.streaming .live-answer')?.textContent ?? '').length > 20 &&
        document.querySelectorAll('article.message-user .message-photos img').length === 2,
    );
    expect(await previews(page).count()).toBe(0);
    expect(await chat.questions.allTextContents()).toEqual([QUESTION]);
    // Shown from the files the user picked: nothing is downloaded for a photo just sent.
    expect(await decodedWidths(page)).toEqual([1600, 1200]);
    await chat.waitForAnswerCount(1);
    expect(await chat.answers.first().textContent()).toContain('That battery is swollen');

    // The model got the question with both photos, in order, as the server re-encoded them.
    const parts = photoRequest(app.modelRequests);
    expect(parts.map((part) => part.type)).toEqual(['text', 'image_url', 'image_url']);
    expect(parts[0]?.text).toBe(QUESTION);
    expect(parts[1]?.image_url?.url).toMatch(/^data:image\/jpeg;base64,/);
    expect(parts[2]?.image_url?.url).toMatch(/^data:image\/png;base64,/);

    // After a reload the thumbnails come from the server (256 px WebP), sized from the history before they load.
    const thumbnailResponses: number[] = [];
    page.on('response', (response) => {
      if (/\/chat\/attachments\/att_[\w-]+\/thumbnail$/.test(response.url())) thumbnailResponses.push(response.status());
    });
    await page.reload();
    await chat.waitForAnswerCount(1);
    const thumbnails = page.locator('article.message-user .message-photos img');
    await expect.poll(() => thumbnails.count()).toBe(2);
    expect(await decodedWidths(page)).toEqual([256, 256]);
    expect(thumbnailResponses).toEqual([200, 200]);
    expect(await thumbnails.evaluateAll((images: HTMLImageElement[]) => images.map((image) => [image.width, image.height]))).toEqual([
      [160, 120],
      [160, 120],
    ]);
    expect(await thumbnails.first().getAttribute('src')).toMatch(/^blob:/);

    mkdirSync(DOCS_SCREENSHOTS_DIR, { recursive: true });
    await page.screenshot({ path: join(DOCS_SCREENSHOTS_DIR, 'photo-thread.png') });

    // A thumbnail opens the photo full size in a dialog; Escape closes it and focus goes back.
    const opener = page.getByRole('button', { name: 'Open photo 1 of 2 full size' });
    await opener.click();
    const dialog = page.getByRole('dialog', { name: 'Photo 1 of 2' });
    await dialog.waitFor();
    const full = dialog.locator('img[data-variant="full"]');
    await full.waitFor();
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('dialog img[data-variant="full"]')?.naturalWidth ?? 0) > 0);
    expect(await full.evaluate((image: HTMLImageElement) => [image.naturalWidth, image.naturalHeight])).toEqual([1600, 1200]);
    expect(await dialog.getByRole('button', { name: 'Close' }).evaluate((button) => button === document.activeElement)).toBe(true);
    await chat.screenshot('photos-02-full-size');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await opener.evaluate((button) => button === document.activeElement)).toBe(true);
  });

  test('a photo can be removed before sending, a 5th is refused, HEIC is explained, and photos alone are a question', async () => {
    const chat = await signedIn('photo-bo');
    const { page } = chat;
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    const photo = (seed: number) => photoBytes(page, { scene: 'board', width: 900, height: 600, type: 'image/jpeg', seed });
    const aborted: string[] = [];
    page.on('requestfailed', (request) => {
      if (request.url().endsWith('/chat/attachments')) aborted.push(request.failure()?.errorText ?? '');
    });

    // Removed while it uploads: the upload stops and the preview's object URL is revoked.
    await throttleUploads(cdp, 10_000);
    await chooseFiles(page, [{ name: 'slow.jpg', mimeType: 'image/jpeg', buffer: await photo(1) }]);
    await page.getByRole('progressbar', { name: 'Uploading photo 1' }).waitFor();
    const src = await previews(page).first().getByRole('img').getAttribute('src');
    await page.getByRole('button', { name: 'Remove photo 1' }).click();
    expect(await previews(page).count()).toBe(0);
    await expect.poll(() => aborted).toEqual(['net::ERR_ABORTED']);
    expect(await page.evaluate((url) => fetch(url!).then(() => 'alive', () => 'revoked'), src)).toBe('revoked');
    await throttleUploads(cdp, null);

    // HEIC: the server says what to do instead, and the message waits until the photo is removed.
    await chooseFiles(page, [{ name: 'IMG_0001.HEIC', mimeType: 'image/heic', buffer: HEIC_HEADER }]);
    const problems = page.locator('.photo-problems');
    await problems.getByText(/HEIC photos are not supported yet/).waitFor();
    expect(await problems.getAttribute('role')).toBe('alert');
    await chat.composer.fill('what is this?');
    expect(await page.getByRole('button', { name: 'Send' }).isDisabled()).toBe(true);
    await chat.screenshot('photos-03-heic-refused');
    await page.getByRole('button', { name: 'Remove photo 1' }).click();
    expect(await problems.count()).toBe(0);
    await chat.composer.fill('');

    // Two by the file chooser, two dropped on the conversation: four, the most a message takes.
    await chooseFiles(page, [
      { name: 'one.jpg', mimeType: 'image/jpeg', buffer: await photo(2) },
      { name: 'two.jpg', mimeType: 'image/jpeg', buffer: await photo(3) },
    ]);
    await dropPhotos(page, DROP_TARGET, [
      { name: 'three.png', spec: { scene: 'board', width: 640, height: 480, type: 'image/png', seed: 4 } },
      { name: 'four.jpg', spec: { scene: 'battery', width: 640, height: 480, type: 'image/jpeg', seed: 5 } },
    ]);
    expect(await page.locator(DROP_TARGET).count()).toBe(0);
    await expect.poll(() => uploadedCount(page), { timeout: 20_000 }).toBe(4);
    expect(
      await previews(page)
        .getByRole('img')
        .evaluateAll((images: HTMLImageElement[]) => images.map((image) => image.alt)),
    ).toEqual(['Photo 1: one.jpg', 'Photo 2: two.jpg', 'Photo 3: three.png', 'Photo 4: four.jpg']);

    // A 5th is refused, in words, and nothing is uploaded for it.
    await chooseFiles(page, [{ name: 'five.jpg', mimeType: 'image/jpeg', buffer: await photo(6) }]);
    await problems.getByText('You can attach up to 4 photos to a message. One photo was not added.').waitFor();
    expect(await previews(page).count()).toBe(4);
    await chat.screenshot('photos-04-fifth-refused');

    // No words: the photos alone are the question.
    expect(await chat.composer.inputValue()).toBe('');
    await page.getByRole('button', { name: 'Send' }).click();
    await chat.waitForAnswerCount(1);
    expect(await chat.answers.first().textContent()).toContain('I can see 4 photos.');
    const question = page.locator('article.message-user');
    expect(await question.locator('.message-photos img').count()).toBe(4);
    expect(await question.locator('.bubble').count()).toBe(0);
    const parts = photoRequest(app.modelRequests);
    expect(parts.map((part) => part.type)).toEqual(['image_url', 'image_url', 'image_url', 'image_url']);
    expect(parts.map((part) => part.image_url?.url.slice(0, 15))).toEqual([
      'data:image/jpeg',
      'data:image/jpeg',
      'data:image/png;',
      'data:image/jpeg',
    ]);
  });

  test('on a phone the composer opens the camera', async () => {
    const chat = await signedIn('photo-cy', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const { page } = chat;
    const chooser = page.waitForEvent('filechooser');
    await page.getByRole('button', { name: 'Take photo' }).click();
    const camera = await chooser;
    expect(await camera.element().getAttribute('capture')).toBe('environment');
    expect(camera.isMultiple()).toBe(false);
    await camera.setFiles({
      name: 'camera.jpg',
      mimeType: 'image/jpeg',
      buffer: await photoBytes(page, { scene: 'battery', width: 1200, height: 1600, type: 'image/jpeg', seed: 9 }),
    });
    await expect.poll(() => uploadedCount(page), { timeout: 20_000 }).toBe(1);
    // The attach button is still there for the photo library.
    expect(await page.getByRole('button', { name: 'Attach photos' }).isVisible()).toBe(true);
    await chat.composer.fill('Is it safe?');
    await chat.screenshot('photos-05-phone-composer');
    await chat.composer.press('Enter');
    await chat.waitForAnswerCount(1);
    await chat.screenshot('photos-06-phone-thread');
  });
});

describe.skipIf(!e2eEnabled)('photos with a model that cannot see them', () => {
  let app: AppServer;
  let browser: Browser;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    [app, browser] = await Promise.all([startAppServer({ fakeOpenAI: { acceptsImages: false } }), launchChromium()]);
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.[Symbol.asyncDispose]();
  });

  test('says so in the server’s words, and keeps the question with its photo', async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 820 }, colorScheme: 'light' });
    const chat = new ChatPage(await context.newPage());
    await chat.open(app.url);
    await chat.signIn('photo-dee');
    const { page } = chat;
    await chooseFiles(page, [
      {
        name: 'part.jpg',
        mimeType: 'image/jpeg',
        buffer: await photoBytes(page, { scene: 'board', width: 800, height: 600, type: 'image/jpeg' }),
      },
    ]);
    await expect.poll(() => uploadedCount(page), { timeout: 20_000 }).toBe(1);
    await chat.send('What is this part?');

    const error = page.getByRole('alert').filter({ hasText: 'The assistant can’t look at photos' });
    await error.waitFor();
    expect(await error.textContent()).toContain("The configured model can't look at photos.");
    // The model was asked with the photo, and refused it.
    expect(imagesIn(questionParts(app.modelRequests.at(-1)!.body))).toHaveLength(1);
    // The question was saved with its photo, and stays in the thread.
    const question = page.locator('article.message-user');
    await expect.poll(() => question.locator('.message-photos img').count()).toBe(1);
    expect(await chat.questions.allTextContents()).toEqual(['What is this part?']);
    await expect.poll(() => question.getAttribute('data-message-id')).not.toBeNull();
    await chat.screenshot('photos-07-model-cannot-see');

    await page.reload();
    await chat.questions.first().waitFor();
    expect(await chat.questions.allTextContents()).toEqual(['What is this part?']);
    await expect.poll(() => question.locator('.message-photos img').count()).toBe(1);
    expect(await chat.answers.count()).toBe(0);
  });
});
