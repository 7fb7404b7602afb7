import { randomBytes } from 'node:crypto';
import type { TurnEvent } from '@fixthread/core';
import { attachments, conversations } from '@fixthread/core/schema';
import { testDrivers } from '@fixthread/core/testing';
import type { ChatRequestMessage } from '@fixthread/testing';
import { TRPCClientError } from '@trpc/client';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAMERA_MAKE, GPS_DATUM, phonePhoto, pngBomb, solidImage } from '../../../packages/core/src/attachments/test-images';
import { errorCodeOf } from '../../../packages/client/src/index';
import type { FixThreadClient } from '../src/client';
import { FAKE_REPLY, startHarness, type Harness } from './support/harness';
import { request, type ErrorResponseBody } from './support/http';
import { connect } from './support/trpc';

/** Small, so the tests can go over it cheaply; the photos below are well under it. */
const MAX_IMAGE_BYTES = 300_000;

interface Uploaded {
  id: string;
  content_type: string;
  width: number;
  height: number;
  byte_size: number;
  url: string;
  thumbnail_url: string;
}

interface ImagePart {
  type: 'image_url';
  image_url: { url: string; detail: string };
}

const HTML = Buffer.from('<!doctype html><html><body><script>alert(document.cookie)</script></body></html>');
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>');

function photoForm(bytes: Uint8Array, filename: string, type: string, field = 'file'): FormData {
  const form = new FormData();
  form.append(field, new Blob([bytes], { type }), filename);
  return form;
}

const imagePartsOf = (messages: ChatRequestMessage[]): ImagePart[] =>
  messages.flatMap((m) => (Array.isArray(m.content) ? (m.content as { type: string }[]) : [])).filter((p): p is ImagePart => p.type === 'image_url');
const bytesOfPart = (part: ImagePart) => Buffer.from(part.image_url.url.slice(part.image_url.url.indexOf(',') + 1), 'base64');

describe.each(testDrivers())('photo attachments over HTTP and tRPC on $name', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(driver, { env: { MAX_IMAGE_BYTES: String(MAX_IMAGE_BYTES) } });
  });
  afterAll(() => h.close());

  const storedRows = () =>
    h.database.db.select({ id: attachments.id, userId: attachments.userId, messageId: attachments.messageId }).from(attachments);
  const messagesOf = async (userId: string) => (await h.database.db.select().from(conversations)).filter((m) => m.userId === userId);

  async function upload(token: string | undefined, form: FormData | string, headers: Record<string, string> = {}) {
    const response = await fetch(`${h.url}/chat/attachments`, {
      method: 'POST',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: form,
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: JSON.parse(text) as Uploaded & ErrorResponseBody };
  }

  async function uploaded(token: string, bytes: Uint8Array, filename = 'photo.jpg', type = 'image/jpeg'): Promise<Uploaded> {
    const answer = await upload(token, photoForm(bytes, filename, type));
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body;
  }

  async function fetchImage(token: string, path: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${h.url}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
    return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
  }

  async function expectHealthy(): Promise<void> {
    expect((await request<{ status: string }>(`${h.url}/health`)).body.status).toBe('ok');
  }

  it('takes a PNG named photo.jpg and declared image/jpeg as the PNG it is', async () => {
    const token = await h.token('png-as-jpg');
    const png = await solidImage('png', 64, 48, 4);
    const answer = await upload(token, photoForm(png, 'photo.jpg', 'image/jpeg'));
    expect(answer.status).toBe(201);
    const { id, byte_size, ...rest } = answer.body;
    expect(id).toMatch(/^att_[A-Za-z0-9_-]{22}$/);
    expect(byte_size).toBeGreaterThan(0);
    expect(rest).toEqual({
      content_type: 'image/png',
      width: 64,
      height: 48,
      url: `/chat/attachments/${id}`,
      thumbnail_url: `/chat/attachments/${id}/thumbnail`,
    });
    expect((await storedRows()).filter((row) => row.userId === 'png-as-jpg')).toEqual([
      { id: answer.body.id, userId: 'png-as-jpg', messageId: null },
    ]);
  });

  it.each([
    ['an HTML page named photo.png', HTML],
    ['an SVG named photo.png', SVG],
  ])('refuses %s with 415 UNSUPPORTED_IMAGE, storing nothing', async (_label, bytes) => {
    const token = await h.token('not-images');
    const before = (await storedRows()).length;
    const answer = await upload(token, photoForm(bytes, 'photo.png', 'image/png'));
    expect(answer.status).toBe(415);
    expect(answer.body.error.code).toBe('UNSUPPORTED_IMAGE');
    expect(answer.body.error.message).toMatch(/JPEG, PNG or WebP/);
    expect((await storedRows()).length).toBe(before);
  });

  it('refuses a file over MAX_IMAGE_BYTES with 413 IMAGE_TOO_LARGE, just over it or far over it, storing nothing', async () => {
    const token = await h.token('too-large');
    const before = (await storedRows()).length;
    const pngStart = (await solidImage('png', 8, 8)).subarray(0, 16);
    // Just over: within the body's allowance for multipart framing, so the file's own count refuses it.
    const justOver = Buffer.concat([pngStart, randomBytes(MAX_IMAGE_BYTES + 1 - pngStart.length)]);
    const far = Buffer.concat([pngStart, randomBytes(3 * MAX_IMAGE_BYTES)]);
    for (const bytes of [justOver, far]) {
      const answer = await upload(token, photoForm(bytes, 'big.png', 'image/png'));
      expect(answer.status, `${bytes.length} bytes`).toBe(413);
      expect(answer.body.error).toEqual({ code: 'IMAGE_TOO_LARGE', message: 'The image is larger than 0.3 MB.' });
    }
    expect((await storedRows()).length).toBe(before);
    // Exactly at the limit is not too large (it is refused as the noise it is).
    const atLimit = await upload(token, photoForm(justOver.subarray(0, MAX_IMAGE_BYTES), 'big.png', 'image/png'));
    expect(atLimit.body.error.code).toBe('UNSUPPORTED_IMAGE');
    await expectHealthy();
  });

  it('refuses a decompression bomb from its header (422), and keeps serving', async () => {
    const token = await h.token('bomb');
    const before = (await storedRows()).length;
    const bomb = pngBomb(30_000, 30_000);
    expect(bomb.length).toBeLessThan(MAX_IMAGE_BYTES);
    const started = performance.now();
    const answer = await upload(token, photoForm(bomb, 'bomb.png', 'image/png'));
    expect(answer.status).toBe(422);
    expect(answer.body.error.code).toBe('IMAGE_TOO_MANY_PIXELS');
    expect(performance.now() - started).toBeLessThan(5_000);
    expect((await storedRows()).length).toBe(before);
    await expectHealthy();
    await uploaded(token, await solidImage('jpeg', 40, 30));
  });

  it('refuses what is not one photo in a multipart `file` field with a clear 4xx', async () => {
    const token = await h.token('bad-uploads');
    const before = (await storedRows()).length;
    const json = await upload(token, JSON.stringify({ file: 'aGVsbG8=' }), { 'content-type': 'application/json' });
    expect(json.status).toBe(415);
    expect(json.body.error).toEqual({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Send the photo as multipart/form-data, in a file field named `file`.' });
    const raw = await upload(token, 'raw bytes', { 'content-type': 'image/png' });
    expect(raw.status).toBe(415);
    const none = await upload(token, undefined as unknown as string);
    expect(none.status).toBe(415);

    const fieldsOnly = new FormData();
    fieldsOnly.append('caption', 'my phone');
    const noFile = await upload(token, fieldsOnly);
    expect(noFile.status).toBe(400);
    expect(noFile.body.error).toMatchObject({ code: 'VALIDATION', details: { field: 'file' } });

    const wrongField = await upload(token, photoForm(await solidImage('png', 8, 8), 'a.png', 'image/png', 'photo'));
    expect(wrongField.status).toBe(400);
    expect(wrongField.body.error.message).toMatch(/named `file`/);

    const twoFiles = photoForm(await solidImage('png', 8, 8), 'a.png', 'image/png');
    twoFiles.append('file', new Blob([await solidImage('png', 8, 8)]), 'b.png');
    const two = await upload(token, twoFiles);
    expect(two.status).toBe(400);
    expect(two.body.error.message).toMatch(/one photo/);

    const broken = await upload(token, '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\nabc', {
      'content-type': 'multipart/form-data; boundary=xyz',
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error).toMatchObject({ code: 'VALIDATION', details: { field: 'file' } });
    expect((await storedRows()).length).toBe(before);
    await expectHealthy();
  });

  it('leaves the other routes JSON-only: a multipart body to POST /chat is still 415', async () => {
    const token = await h.token('multipart-elsewhere');
    const form = new FormData();
    form.append('message', 'hello');
    const response = await fetch(`${h.url}/chat`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    expect(response.status).toBe(415);
    expect(((await response.json()) as ErrorResponseBody).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await messagesOf('multipart-elsewhere')).toEqual([]);
  });

  it('refuses an upload without a token with 401, before reading it', async () => {
    const before = (await storedRows()).length;
    const answer = await upload(undefined, photoForm(await solidImage('png', 8, 8), 'a.png', 'image/png'));
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    expect(answer.body.error.code).toBe('UNAUTHORIZED');
    expect((await storedRows()).length).toBe(before);
  });

  it('serves the owner the stored bytes with headers no browser can turn into a page, and a 304 for its ETag', async () => {
    const token = await h.token('serve-owner');
    const photo = await uploaded(token, await solidImage('png', 600, 400), 'screenshot.jpg', 'text/html');
    const full = await fetchImage(token, photo.url);
    expect(full.status).toBe(200);
    expect(full.bytes.length).toBe(photo.byte_size);
    expect(await sharp(full.bytes).metadata()).toMatchObject({ format: 'png', width: 600, height: 400 });
    expect(Object.fromEntries(full.headers)).toMatchObject({
      'content-type': 'image/png',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      'content-disposition': `inline; filename="${photo.id}.png"`,
      'cache-control': 'private, max-age=31536000, immutable',
      'cross-origin-resource-policy': 'same-origin',
      vary: 'Authorization',
      'content-length': String(photo.byte_size),
    });
    const etag = full.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);

    const again = await fetchImage(token, photo.url, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.bytes.length).toBe(0);
    expect(again.headers.get('etag')).toBe(etag);
    expect((await fetchImage(token, photo.url, { 'if-none-match': '"something-else"' })).status).toBe(200);

    const thumbnail = await fetchImage(token, photo.thumbnail_url);
    expect(thumbnail.status).toBe(200);
    expect(thumbnail.headers.get('content-type')).toBe('image/webp');
    expect(thumbnail.headers.get('x-content-type-options')).toBe('nosniff');
    expect(thumbnail.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(await sharp(thumbnail.bytes).metadata()).toMatchObject({ format: 'webp', width: 256, height: 171 });
    const thumbnailEtag = thumbnail.headers.get('etag')!;
    expect(thumbnailEtag).toBe(`${etag.slice(0, -1)}-thumb"`);
    expect((await fetchImage(token, photo.thumbnail_url, { 'if-none-match': thumbnailEtag })).status).toBe(304);
    // The full image's ETag does not stand for the thumbnail.
    expect((await fetchImage(token, photo.thumbnail_url, { 'if-none-match': etag })).status).toBe(200);
  });

  it('serves a photo without its EXIF: no GPS position, no camera make', async () => {
    const token = await h.token('exif');
    const original = await phonePhoto('jpeg');
    // The GPS directory's tags are numbers; its map datum is the text that shows it is there.
    for (const planted of ['Exif', CAMERA_MAKE, GPS_DATUM]) expect(original.includes(planted), planted).toBe(true);
    const photo = await uploaded(token, original);
    // Stored upright: the phone took it sideways with an orientation tag.
    expect([photo.width, photo.height]).toEqual([200, 300]);
    for (const path of [photo.url, photo.thumbnail_url]) {
      const { bytes } = await fetchImage(token, path);
      const text = bytes.toString('latin1');
      for (const planted of ['Exif', 'GPS', CAMERA_MAKE, GPS_DATUM]) expect(text.includes(planted), `${planted} in ${path}`).toBe(false);
      expect((await sharp(bytes).metadata()).exif).toBeUndefined();
    }
  });

  it('sends photos with a message: the model gets them, history lists them, and they are still served', async () => {
    const token = await h.token('send-photos');
    const first = await uploaded(token, await solidImage('jpeg', 320, 240));
    const second = await uploaded(token, await solidImage('png', 100, 100));
    const requestsBefore = h.openai.requests.length;
    const sent = await request<{ response: string }>(`${h.url}/chat`, {
      token,
      json: { message: 'What is wrong with this board?', attachments: [second.id, first.id] },
    });
    expect(sent.status).toBe(200);
    expect(sent.body.response).toBe(FAKE_REPLY);
    const parts = imagePartsOf(h.openai.requests[requestsBefore]!.body.messages);
    expect(parts).toHaveLength(2);
    expect((await fetchImage(token, second.url)).bytes.equals(bytesOfPart(parts[0]!))).toBe(true);

    // A photo alone is a question too.
    const third = await uploaded(token, await solidImage('webp', 50, 50));
    const streamed = await fetch(`${h.url}/chat/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: '', attachments: [third.id] }),
    });
    expect(streamed.status).toBe(200);
    expect(await streamed.text()).toContain('"type":"done"');

    const history = await request<{ messages: { role: string; content: string; attachments: unknown[] }[] }>(`${h.url}/chat/history`, { token });
    expect(history.body.messages.map((m) => [m.role, m.attachments])).toEqual([
      [
        'user',
        [
          { id: second.id, content_type: 'image/png', width: 100, height: 100 },
          { id: first.id, content_type: 'image/jpeg', width: 320, height: 240 },
        ],
      ],
      ['assistant', []],
      ['user', [{ id: third.id, content_type: 'image/webp', width: 50, height: 50 }]],
      ['assistant', []],
    ]);
    expect((await fetchImage(token, first.url)).status).toBe(200);
    expect((await fetchImage(token, third.thumbnail_url)).status).toBe(200);

    // Sent once, an id cannot be sent again.
    const resent = await request<ErrorResponseBody>(`${h.url}/chat`, { token, json: { message: 'again', attachments: [first.id] } });
    expect(resent.status).toBe(404);
    expect(resent.body.error.code).toBe('ATTACHMENT_NOT_FOUND');
  });

  it('refuses attachments that are not a list of ids, naming the field', async () => {
    const token = await h.token('bad-attachments');
    for (const value of ['att_x', [42], { id: 'att_x' }]) {
      const answer = await request<ErrorResponseBody>(`${h.url}/chat`, { token, json: { message: 'hi', attachments: value } });
      expect(answer.status).toBe(400);
      expect(answer.body.error.details?.field).toMatch(/^attachments/);
    }
    expect(await messagesOf('bad-attachments')).toEqual([]);
  });

  it('treats another user’s attachment id as unknown everywhere: 404, and nothing stored', async () => {
    const owner = await h.token('photo-owner');
    const photo = await uploaded(owner, await solidImage('jpeg', 80, 60));
    const intruder = await h.token('photo-intruder');
    const client = connect(h.url, intruder);
    try {
      for (const path of [photo.url, photo.thumbnail_url, '/chat/attachments/att_AAAAAAAAAAAAAAAAAAAAAA', '/chat/attachments/nonsense']) {
        const answer = await fetchImage(intruder, path);
        expect(answer.status, path).toBe(404);
        expect(JSON.parse(answer.bytes.toString()), path).toEqual({ error: { code: 'ATTACHMENT_NOT_FOUND', message: 'Attachment not found' } });
      }
      const json = { message: 'Is this mine now?', attachments: [photo.id] };
      const sent = await request<ErrorResponseBody>(`${h.url}/chat`, { token: intruder, json });
      expect(sent.status).toBe(404);
      expect(sent.body.error.code).toBe('ATTACHMENT_NOT_FOUND');
      const streamed = await request<ErrorResponseBody>(`${h.url}/chat/stream`, { token: intruder, json });
      expect(streamed.status).toBe(404);
      expect(streamed.body.error.code).toBe('ATTACHMENT_NOT_FOUND');
      const viaTrpc = await client.trpc.chat.send.mutate(json).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(viaTrpc).toBeInstanceOf(TRPCClientError);
      expect(errorCodeOf(viaTrpc)).toBe('ATTACHMENT_NOT_FOUND');
      expect((viaTrpc as TRPCClientError<never>).data).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404 });

      expect(await messagesOf('photo-intruder')).toEqual([]);
      expect((await storedRows()).find((row) => row.id === photo.id)).toEqual({ id: photo.id, userId: 'photo-owner', messageId: null });
      // Still the owner's to send.
      expect((await request(`${h.url}/chat`, { token: owner, json: { message: 'Mine.', attachments: [photo.id] } })).status).toBe(200);
    } finally {
      await client.close();
    }
  });

  describe('over tRPC', () => {
    let client: FixThreadClient;
    beforeAll(async () => {
      client = connect(h.url, await h.token('trpc-photos'));
    });
    afterAll(() => client.close());

    it('chat.upload takes FormData over HTTP, and chat.stream over the WebSocket sends the photo to the model', async () => {
      const form = photoForm(await solidImage('png', 120, 90), 'photo.jpg', 'image/jpeg');
      const photo = await client.trpc.chat.upload.mutate(form);
      const { id, byte_size, ...rest } = photo;
      expect(id).toMatch(/^att_[A-Za-z0-9_-]{22}$/);
      expect(byte_size).toBeGreaterThan(0);
      expect(rest).toEqual({ content_type: 'image/png', width: 120, height: 90, url: `/chat/attachments/${id}`, thumbnail_url: `/chat/attachments/${id}/thumbnail` });

      const requestsBefore = h.openai.requests.length;
      const events: TurnEvent[] = [];
      await new Promise<void>((resolve, reject) => {
        client.trpc.chat.stream.subscribe(
          { message: 'Which screw is this?', attachments: [photo.id] },
          { onData: ({ data }) => events.push(data), onError: reject, onComplete: resolve },
        );
      });
      expect(events.at(-1)).toMatchObject({ type: 'done', stopped: false });
      const parts = imagePartsOf(h.openai.requests[requestsBefore]!.body.messages);
      expect(parts).toHaveLength(1);
      expect(parts[0]!.image_url.url).toMatch(/^data:image\/png;base64,/);
      const served = await fetchImage(await h.token('trpc-photos'), photo.url);
      expect(bytesOfPart(parts[0]!).equals(served.bytes)).toBe(true);

      const history = await client.trpc.chat.history.query();
      expect(history.messages.find((m) => m.role === 'user')?.attachments).toEqual([
        { id: photo.id, content_type: 'image/png', width: 120, height: 90 },
      ]);
    });

    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: unknown) => error,
      );

    it('chat.upload refuses what the REST route refuses, with the same codes', async () => {
      const before = (await storedRows()).length;
      expect(errorCodeOf(await failure(client.trpc.chat.upload.mutate(photoForm(SVG, 'a.png', 'image/png'))))).toBe('UNSUPPORTED_IMAGE');
      const justOver = Buffer.concat([HTML, randomBytes(MAX_IMAGE_BYTES)]);
      expect(errorCodeOf(await failure(client.trpc.chat.upload.mutate(photoForm(justOver, 'a.png', 'image/png'))))).toBe('IMAGE_TOO_LARGE');
      const far = Buffer.concat([HTML, randomBytes(4 * MAX_IMAGE_BYTES)]);
      const farError = await failure(client.trpc.chat.upload.mutate(photoForm(far, 'a.png', 'image/png')));
      expect(errorCodeOf(farError)).toBe('IMAGE_TOO_LARGE');
      expect((farError as TRPCClientError<never>).data).toMatchObject({ httpStatus: 413 });
      expect(errorCodeOf(await failure(client.trpc.chat.upload.mutate(photoForm(pngBomb(30_000, 30_000), 'a.png', 'image/png'))))).toBe(
        'IMAGE_TOO_MANY_PIXELS',
      );
      const wrongField = await failure(client.trpc.chat.upload.mutate(photoForm(await solidImage('png', 8, 8), 'a.png', 'image/png', 'photo')));
      expect((wrongField as TRPCClientError<never>).data).toMatchObject({ errorCode: 'VALIDATION', field: 'file' });
      expect((await storedRows()).length).toBe(before);
    });

    it('chat.upload without a token is UNAUTHORIZED, and a multipart body without Content-Length is refused unread', async () => {
      const anonymous = connect(h.url, 'not-a-token');
      try {
        const error = await failure(anonymous.trpc.chat.upload.mutate(photoForm(await solidImage('png', 8, 8), 'a.png', 'image/png')));
        expect(errorCodeOf(error)).toBe('UNAUTHORIZED');
        // A body too large is refused from its Content-Length before tRPC (and so its token check) sees it.
        const far = photoForm(randomBytes(2 * MAX_IMAGE_BYTES), 'a.png', 'image/png');
        expect(errorCodeOf(await failure(anonymous.trpc.chat.upload.mutate(far)))).toBe('IMAGE_TOO_LARGE');
      } finally {
        await anonymous.close();
      }
      const chunked = await fetch(`${h.url}/trpc/chat.upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await h.token('trpc-photos')}`, 'content-type': 'multipart/form-data; boundary=xyz' },
        body: new Blob(['--xyz--']).stream(),
        duplex: 'half',
      });
      expect(chunked.status).toBe(400);
      expect(await chunked.json()).toMatchObject({ error: { data: { errorCode: 'VALIDATION', field: 'Content-Length' } } });
    });
  });
});
