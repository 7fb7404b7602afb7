import { and, eq, isNotNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type ChatRequestMessage } from '@fixthread/testing';
import { imageTokens } from '../attachments/image-tokens';
import { solidImage } from '../attachments/test-images';
import { attachments, conversations, turns } from '../db/schema';
import { AttachmentNotFound, ConflictError, ModelCannotSeeImages, UpstreamUnavailable, ValidationError } from '../errors';
import { startEngineFixture, testDrivers, type EngineFixture, type TestDatabase } from '../testing/index';
import { PHOTOS_UNSEEN } from './offline-answer';
import { DEFAULT_SYSTEM_PROMPT } from './options';
import { fixedPromptTokens } from './run-turn';
import { createToolbox } from './tools/toolbox';
import type { SequencedEvent, TurnEvent } from './types';

let seq = 0;
const newUser = () => `photos${Date.now().toString(36)}${seq++}`;

async function collect(events: AsyncIterable<SequencedEvent>): Promise<TurnEvent[]> {
  const out: TurnEvent[] = [];
  for await (const { event } of events) out.push(event);
  return out;
}

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

/** What the fixture's engine takes off the context budget before any message: system prompt and tools. */
const FIXED_TOKENS = fixedPromptTokens(
  DEFAULT_SYSTEM_PROMPT,
  createToolbox({ ifixitApiUrl: 'http://unused', webSearch: null, timeoutMs: 1, maxRounds: 3, userAgent: 'x' }),
  true,
);
const LOW = imageTokens('gpt-4o-mini', 300, 200, 'low').tokens;
const HIGH = imageTokens('gpt-4o-mini', 300, 200, 'high').tokens;

interface ImagePart {
  type: 'image_url';
  image_url: { url: string; detail: string };
}

const imagePartsOf = (message: ChatRequestMessage | undefined): ImagePart[] =>
  Array.isArray(message?.content) ? (message.content as { type: string }[]).filter((p): p is ImagePart => p.type === 'image_url') : [];
const textOf = (message: ChatRequestMessage | undefined): string =>
  typeof message?.content === 'string'
    ? message.content
    : ((message?.content ?? []) as { type: string; text?: string }[]).map((p) => p.text ?? '').join('');
const bytesOf = (part: ImagePart) => Buffer.from(part.image_url.url.slice(part.image_url.url.indexOf(',') + 1), 'base64');
const userMessagesOf = (fx: EngineFixture, request: number) =>
  fx.openai.requests[request]!.body.messages.filter((m) => m.role === 'user');

describe.each(testDrivers())('photos in the chat engine on $name', (driver) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await driver.open();
  });
  afterAll(async () => {
    await database?.[Symbol.asyncDispose]();
  });

  const messageRows = (userId: string) =>
    database.db.select().from(conversations).where(eq(conversations.userId, userId)).orderBy(conversations.id);
  const turnRows = (userId: string) => database.db.select().from(turns).where(eq(turns.userId, userId));
  const linkedPhotos = (userId: string) =>
    database.db
      .select({ id: attachments.id, messageId: attachments.messageId, position: attachments.position })
      .from(attachments)
      .where(and(eq(attachments.userId, userId), isNotNull(attachments.messageId)))
      .orderBy(attachments.messageId, attachments.position);

  async function upload(fx: EngineFixture, userId: string, width = 300, height = 200): Promise<string> {
    return (await fx.engine.uploadAttachment(userId, await solidImage('jpeg', width, height))).id;
  }

  it('sends the photos to the model as image parts, newest at high detail, and replays them at low detail later', async () => {
    await using fx = await startEngineFixture(database, { maxContextTokens: 100_000 });
    const user = newUser();
    fx.openai.setDefaultReply({ text: 'That is a swollen battery.' });
    const wide = await fx.engine.uploadAttachment(user, await solidImage('jpeg', 300, 200));
    expect(wide).toMatchObject({ content_type: 'image/jpeg', width: 300, height: 200 });
    expect(wide.byte_size).toBeGreaterThan(0);
    const tall = await upload(fx, user, 200, 300);

    await fx.engine.send(user, 'What is wrong with this phone?', { attachments: [wide.id, tall] });
    const [question] = userMessagesOf(fx, 0);
    const parts = question!.content as { type: string }[];
    expect(parts.map((p) => p.type)).toEqual(['text', 'image_url', 'image_url']);
    expect(parts[0]).toEqual({ type: 'text', text: 'What is wrong with this phone?' });
    const images = imagePartsOf(question);
    expect(images.map((p) => p.image_url.detail)).toEqual(['high', 'high']);
    expect(images.every((p) => p.image_url.url.startsWith('data:image/jpeg;base64,'))).toBe(true);
    // In the order sent, and exactly the bytes stored (normalised), which are what the engine serves.
    for (const [index, id] of [wide.id, tall].entries()) {
      const stored = await fx.engine.attachment(user, id, 'full');
      expect(stored.contentType).toBe('image/jpeg');
      expect(bytesOf(images[index]!).equals(stored.bytes)).toBe(true);
    }
    const thumbnail = await fx.engine.attachment(user, tall, 'thumbnail');
    expect(thumbnail.contentType).toBe('image/webp');
    expect(thumbnail.sha256).toBe((await fx.engine.attachment(user, tall)).sha256);

    await fx.engine.send(user, 'And how do I replace it?');
    const [earlier, newest] = userMessagesOf(fx, 1);
    expect(imagePartsOf(earlier).map((p) => p.image_url.detail)).toEqual(['low', 'low']);
    expect(bytesOf(imagePartsOf(earlier)[1]!).equals((await fx.engine.attachment(user, tall)).bytes)).toBe(true);
    expect(newest!.content).toBe('And how do I replace it?');

    const history = await fx.engine.history(user);
    expect(history.messages.map((m) => m.attachments)).toEqual([
      [
        { id: wide.id, content_type: 'image/jpeg', width: 300, height: 200 },
        { id: tall, content_type: 'image/jpeg', width: 200, height: 300 },
      ],
      [],
      [],
      [],
    ]);
    const exported = await fx.engine.exportThread(user);
    const listed: string[][] = [];
    for await (const message of exported.messages) listed.push(message.attachments.map((a) => a.id));
    expect(listed).toEqual([[wide.id, tall], [], [], []]);
  });

  it('drops older photos before older text: only what the budget holds after the text, newest first', async () => {
    // Room for the text, the question's photo at low detail (not high) and one earlier photo, not two.
    const budget = 2 * LOW + 600;
    expect(budget).toBeLessThan(HIGH);
    await using fx = await startEngineFixture(database, { maxContextTokens: FIXED_TOKENS + budget });
    const user = newUser();
    fx.openai.setDefaultReply({ text: 'Noted.' });
    for (const n of [1, 2, 3]) await fx.engine.send(user, `Photo ${n} of the logic board`, { attachments: [await upload(fx, user)] });
    await fx.engine.send(user, 'Photo 4 of the logic board', { attachments: [await upload(fx, user)] });

    const messages = fx.openai.requests[3]!.body.messages.slice(1);
    // Every message that fitted before is still there, in order: only photos made way.
    expect(messages.map((m) => [m.role, textOf(m).split('\n\n')[0]])).toEqual([
      ['user', 'Photo 1 of the logic board'],
      ['assistant', 'Noted.'],
      ['user', 'Photo 2 of the logic board'],
      ['assistant', 'Noted.'],
      ['user', 'Photo 3 of the logic board'],
      ['assistant', 'Noted.'],
      ['user', 'Photo 4 of the logic board'],
    ]);
    const users = messages.filter((m) => m.role === 'user');
    expect(users.map((m) => imagePartsOf(m).map((p) => p.image_url.detail))).toEqual([[], [], ['low'], ['low']]);
    // The model still learns a photo was there.
    expect(users.slice(0, 2).map((m) => m.content)).toEqual([
      'Photo 1 of the logic board\n\n[photo not shown: over the context budget]',
      'Photo 2 of the logic board\n\n[photo not shown: over the context budget]',
    ]);
  });

  it('charges what the provider reports, and counts the photos in the estimate, marked as one, when it reports nothing', async () => {
    await using fx = await startEngineFixture(database);
    const [reported, unreported] = [newUser(), newUser()];
    fx.openai.enqueue({ text: 'A fuse.', usage: { prompt_tokens: 3000, completion_tokens: 5 } }, { text: 'A fuse.', usage: 'none' });
    const exact = await (await fx.engine.startTurn(reported, 'What is this?', { attachments: [await upload(fx, reported)] })).done;
    expect(exact.usage).toEqual({ total_tokens: 3005, estimated: false });
    const estimate = await (await fx.engine.startTurn(unreported, 'What is this?', { attachments: [await upload(fx, unreported)] })).done;
    expect(estimate.usage.estimated).toBe(true);
    // The photo went at low detail (high does not fit the fixture's budget): its tokens are in the estimate.
    expect(imagePartsOf(userMessagesOf(fx, 1)[0]).map((p) => p.image_url.detail)).toEqual(['low']);
    expect(estimate.usage.total_tokens).toBeGreaterThan(LOW);
    expect(estimate.usage.total_tokens).toBeLessThan(LOW + FIXED_TOKENS + 100);
  });

  it("refuses another user's photo, an unknown one, a malformed one and one already sent, storing nothing", async () => {
    await using fx = await startEngineFixture(database);
    const [owner, intruder] = [newUser(), newUser()];
    fx.openai.setDefaultReply({ text: 'ok' });
    const theirs = await upload(fx, owner);

    for (const ids of [[theirs], ['att_AAAAAAAAAAAAAAAAAAAAAA'], ['not-an-id'], [theirs, 'att_AAAAAAAAAAAAAAAAAAAAAA']]) {
      expect(await failure(fx.engine.send(intruder, 'look at this', { attachments: ids }))).toBeInstanceOf(AttachmentNotFound);
    }
    expect(await failure(fx.engine.attachment(intruder, theirs))).toBeInstanceOf(AttachmentNotFound);
    expect(await failure(fx.engine.attachment(intruder, theirs, 'thumbnail'))).toBeInstanceOf(AttachmentNotFound);
    expect(await failure(fx.engine.attachment(intruder, '../etc/passwd'))).toBeInstanceOf(AttachmentNotFound);
    expect(await messageRows(intruder)).toEqual([]);
    expect(await turnRows(intruder)).toEqual([]);
    expect(await linkedPhotos(owner)).toEqual([]);
    expect(fx.openai.requests).toHaveLength(0);

    // Still the owner's to send, once; a second message cannot take it again.
    await fx.engine.send(owner, 'my photo', { attachments: [theirs] });
    expect(await failure(fx.engine.send(owner, 'again', { attachments: [theirs] }))).toBeInstanceOf(AttachmentNotFound);
    expect((await messageRows(owner)).map((m) => m.content)).toEqual(['my photo', 'ok']);
    expect(await turnRows(owner)).toHaveLength(1);
    const [question] = await messageRows(owner);
    expect(await linkedPhotos(owner)).toEqual([{ id: theirs, messageId: question!.id, position: 0 }]);
  });

  it('refuses five photos, the same photo twice and photos on a regenerate as validation errors', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    const ids = await Promise.all([1, 2, 3, 4, 5].map(() => upload(fx, user)));
    const tooMany = await failure(fx.engine.send(user, 'five', { attachments: ids }));
    expect(tooMany).toBeInstanceOf(ValidationError);
    expect(tooMany).toMatchObject({ field: 'attachments' });
    expect(await failure(fx.engine.send(user, 'twice', { attachments: [ids[0]!, ids[0]!] }))).toMatchObject({ field: 'attachments' });
    expect(await failure(fx.engine.regenerate(user, { attachments: [ids[0]!] }))).toMatchObject({ field: 'attachments' });
    expect(await failure(fx.engine.send(user, '   '))).toBeInstanceOf(ValidationError);
    expect(await messageRows(user)).toEqual([]);
  });

  it('takes a photo alone as a question', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.enqueue({ text: 'That looks like a charging port.' });
    const id = await upload(fx, user);
    const { response } = await fx.engine.send(user, '  ', { attachments: [id] });
    expect(response).toBe('That looks like a charging port.');
    const [question] = userMessagesOf(fx, 0);
    expect((question!.content as { type: string }[]).map((p) => p.type)).toEqual(['image_url']);
    const history = await fx.engine.history(user);
    expect(history.messages[0]).toMatchObject({ role: 'user', content: '', attachments: [{ id }] });
  });

  it('a model that cannot see photos fails the turn with a clear error and keeps the message, which a vision model answers later', async () => {
    await using textOnly = await startFakeOpenAI({ acceptsImages: false });
    const user = newUser();
    let questionId: number;
    let photo: string;
    {
      await using fx = await startEngineFixture(database, { llmBaseURL: textOnly.baseURL });
      photo = await upload(fx, user);
      const turn = await fx.engine.startTurn(user, 'Which screw is this?', { attachments: [photo] });
      const error = await failure(turn.done);
      expect(error).toBeInstanceOf(ModelCannotSeeImages);
      expect(error).toMatchObject({ code: 'MODEL_CANNOT_SEE_IMAGES', message: expect.stringContaining('OPENAI_MODEL') as unknown });
      // The request did carry the photo: the provider refused it.
      expect(imagePartsOf(textOnly.requests[0]!.body.messages.at(-1))).toHaveLength(1);
      // Replayed from the record, it is the same typed error.
      expect(await failure((await fx.engine.resume(user, turn.id)).done)).toBeInstanceOf(ModelCannotSeeImages);
      const rows = await messageRows(user);
      expect(rows.map((r) => [r.role, r.content])).toEqual([['user', 'Which screw is this?']]);
      questionId = rows[0]!.id;
      expect(await linkedPhotos(user)).toEqual([{ id: photo, messageId: questionId, position: 0 }]);
      expect((await turnRows(user))[0]).toMatchObject({ status: 'failed', errorCode: 'MODEL_CANNOT_SEE_IMAGES' });
    }

    // Configured with a vision model, the same message is answered, photo and all.
    await using vision = await startEngineFixture(database);
    vision.openai.enqueue({ text: 'A Phillips #000.' });
    const turn = await vision.engine.regenerate(user);
    expect(turn.userMessageId).toBe(questionId);
    await turn.done;
    const [question] = userMessagesOf(vision, 0);
    expect(textOf(question)).toBe('Which screw is this?');
    expect(bytesOf(imagePartsOf(question)[0]!).equals((await vision.engine.attachment(user, photo)).bytes)).toBe(true);
    expect((await messageRows(user)).map((r) => r.content)).toEqual(['Which screw is this?', 'A Phillips #000.']);
  });

  it("maps other providers' refusals of images, and only for requests that had images", async () => {
    await using fx = await startEngineFixture(database);
    const refusals = [
      { status: 400 as const, message: 'this model does not support image input' },
      { status: 500 as const, message: 'image input is not supported - hint: if this is unexpected, you may need to provide the mmproj' },
      { status: 400 as const, message: 'At most 0 image(s) may be provided in one request.' },
    ];
    for (const error of refusals) {
      const user = newUser();
      fx.openai.enqueue({ error });
      const turn = await fx.engine.startTurn(user, 'what is this?', { attachments: [await upload(fx, user)] });
      expect(await failure(turn.done)).toBeInstanceOf(ModelCannotSeeImages);
    }
    const user = newUser();
    fx.openai.enqueue({ error: { status: 400, message: 'this model does not support image input' } });
    expect(await failure((await fx.engine.startTurn(user, 'text only')).done)).toBeInstanceOf(UpstreamUnavailable);
    fx.openai.enqueue({ error: { status: 400, message: "This model's maximum context length is 128000 tokens.", code: 'context_length_exceeded' } });
    const own = newUser();
    const turn = await fx.engine.startTurn(own, 'long', { attachments: [await upload(fx, own)] });
    expect(await failure(turn.done)).toBeInstanceOf(UpstreamUnavailable);
  });

  it('a retry with the same key and photos is the same turn; with other photos it is a conflict', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.setDefaultReply({ text: 'ok' });
    const [a, b] = [await upload(fx, user), await upload(fx, user)];
    const first = await fx.engine.startTurn(user, 'two photos', { clientMessageId: 'k1', attachments: [a, b] });
    await first.done;
    const again = await fx.engine.startTurn(user, 'two photos', { clientMessageId: 'k1', attachments: [a, b] });
    expect(again.id).toBe(first.id);
    expect(await failure(fx.engine.startTurn(user, 'two photos', { clientMessageId: 'k1', attachments: [b, a] }))).toBeInstanceOf(ConflictError);
    expect(await failure(fx.engine.startTurn(user, 'two photos', { clientMessageId: 'k1' }))).toBeInstanceOf(ConflictError);
    expect(await turnRows(user)).toHaveLength(1);
    expect((await linkedPhotos(user)).map((p) => p.id)).toEqual([a, b]);
    expect(fx.openai.requests).toHaveLength(1);
  });

  it('an edit keeps the photos unless it names others, which may include the ones it keeps', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    fx.openai.setDefaultReply({ text: 'ok' });
    const [a, b] = [await upload(fx, user), await upload(fx, user)];
    await fx.engine.send(user, 'what is this?', { attachments: [a] });

    await (await fx.engine.edit(user, 'what is this chip?')).done;
    expect(imagePartsOf(userMessagesOf(fx, 1).at(-1))).toHaveLength(1);
    expect((await fx.engine.history(user)).messages[0]).toMatchObject({ content: 'what is this chip?', attachments: [{ id: a }] });

    await (await fx.engine.edit(user, 'and these?', { attachments: [b, a] })).done;
    const last = userMessagesOf(fx, 2).at(-1);
    expect(bytesOf(imagePartsOf(last)[0]!).equals((await fx.engine.attachment(user, b)).bytes)).toBe(true);
    expect((await fx.engine.history(user)).messages[0]!.attachments.map((p) => p.id)).toEqual([b, a]);

    await (await fx.engine.edit(user, 'no photos now', { attachments: [] })).done;
    expect(userMessagesOf(fx, 3).at(-1)!.content).toBe('no photos now');
    expect((await fx.engine.history(user)).messages[0]!.attachments).toEqual([]);
    // Dropped photos stay with the superseded question, as its text does; still the user's, never sendable again.
    expect(await fx.engine.attachment(user, a)).toBeDefined();
    expect(await failure(fx.engine.send(user, 'once more', { attachments: [a] }))).toBeInstanceOf(AttachmentNotFound);
  });

  it('a turn queued behind another links its photos when it starts, and stores nothing if one is refused', async () => {
    await using fx = await startEngineFixture(database);
    const user = newUser();
    const stranger = newUser();
    fx.openai.enqueue({ text: 'a slow first answer', chunkSize: 2, delayMsBetweenChunks: 20 }, { text: 'second' });
    const photo = await upload(fx, user);
    const foreign = await upload(fx, stranger);
    const first = await fx.engine.startTurn(user, 'first');
    const [queued, refused] = await Promise.allSettled([
      fx.engine.startTurn(user, 'second, with a photo', { attachments: [photo] }),
      fx.engine.startTurn(user, 'third, with a stranger’s photo', { attachments: [foreign] }),
    ]);
    await first.done;
    expect(refused.status === 'rejected' && refused.reason).toBeInstanceOf(AttachmentNotFound);
    expect(queued.status).toBe('fulfilled');
    if (queued.status === 'fulfilled') await queued.value.done;
    expect(imagePartsOf(userMessagesOf(fx, 1).at(-1))).toHaveLength(1);
    expect((await messageRows(user)).map((r) => r.content)).toEqual(['first', 'a slow first answer', 'second, with a photo', 'second']);
    expect(await turnRows(user)).toHaveLength(2);
    expect(await linkedPhotos(stranger)).toEqual([]);
  });

  it('the offline responder says it cannot look at photos and still searches iFixit on the words', async () => {
    await using fx = await startEngineFixture(database, { offline: true });
    const user = newUser();
    const turn = await fx.engine.startTurn(user, 'My iPhone 12 screen is cracked', { attachments: [await upload(fx, user)] });
    const events = await collect(turn.events());
    const text = events.flatMap((e) => (e.type === 'token' ? [e.content] : [])).join('');
    expect(text.startsWith(PHOTOS_UNSEEN)).toBe(true);
    expect(text).toContain('[iPhone 12 Screen Replacement](');
    const done = events.at(-1);
    expect(done?.type === 'done' && done.sources.map((s) => s.title)).toContain('iPhone 12 Screen Replacement');
    expect(fx.ifixit.requests.some((r) => decodeURIComponent(r.path).endsWith('/iPhone 12 screen cracked'))).toBe(true);

    // A photo alone: the same first sentence, then what to ask.
    const alone = newUser();
    const reply = await fx.engine.send(alone, '', { attachments: [await upload(fx, alone)] });
    expect(reply.response.startsWith(`${PHOTOS_UNSEEN}\n\nHi!`)).toBe(true);
  });
});
