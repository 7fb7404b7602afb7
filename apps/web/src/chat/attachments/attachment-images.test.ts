import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { AttachmentImages, attachmentUrl } from './attachment-images';

/** The server's side of the cache: what was asked for, answered with a small PNG-typed blob or a status. */
function fakeServer(status = 200) {
  const requests: Array<{ url: string; authorization: string | undefined }> = [];
  const fetchImage = (async (input: string, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    requests.push({ url: input, authorization: headers.get('authorization') ?? undefined });
    return new Response(status === 200 ? new Blob([new Uint8Array([137, 80, 78, 71])], { type: 'image/png' }) : null, { status });
  }) as typeof fetch;
  return { requests, fetchImage };
}

async function settled(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await vi.advanceTimersByTimeAsync(0);
}

const revoked: string[] = [];

beforeEach(() => {
  vi.useFakeTimers();
  revoked.length = 0;
  const revoke = URL.revokeObjectURL.bind(URL);
  vi.spyOn(URL, 'revokeObjectURL').mockImplementation((url) => {
    revoked.push(url);
    revoke(url);
  });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('AttachmentImages', () => {
  test('names the thumbnail and the full image by id', () => {
    expect(attachmentUrl('att_x', 'thumbnail')).toBe('/chat/attachments/att_x/thumbnail');
    expect(attachmentUrl('att_x', 'full')).toBe('/chat/attachments/att_x');
  });

  test('fetches once with the bearer token, however many show it, and gives a blob URL', async () => {
    const server = fakeServer();
    const images = new AttachmentImages(server.fetchImage);
    expect(images.acquire('tok', 'att_1', 'thumbnail')).toEqual({ url: null, failed: false });
    images.acquire('tok', 'att_1', 'thumbnail');
    await settled();
    expect(server.requests).toEqual([{ url: '/chat/attachments/att_1/thumbnail', authorization: 'Bearer tok' }]);
    expect(images.get('tok', 'att_1', 'thumbnail').url).toMatch(/^blob:/);
  });

  test('revokes the URL a while after the last one stops showing it', async () => {
    const images = new AttachmentImages(fakeServer().fetchImage);
    images.acquire('tok', 'att_1', 'thumbnail');
    images.acquire('tok', 'att_1', 'thumbnail');
    await settled();
    const url = images.get('tok', 'att_1', 'thumbnail').url;
    images.release('tok', 'att_1', 'thumbnail');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(revoked).toEqual([]);
    images.release('tok', 'att_1', 'thumbnail');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(revoked).toEqual([url]);
    expect(images.get('tok', 'att_1', 'thumbnail').url).toBeNull();
  });

  test('shown again before the delay runs out, it is kept', async () => {
    const server = fakeServer();
    const images = new AttachmentImages(server.fetchImage);
    images.acquire('tok', 'att_1', 'full');
    await settled();
    images.release('tok', 'att_1', 'full');
    await vi.advanceTimersByTimeAsync(5_000);
    images.acquire('tok', 'att_1', 'full');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(revoked).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });

  test('a sent photo’s local preview is its thumbnail: nothing is downloaded, and the cache revokes it', async () => {
    const server = fakeServer();
    const images = new AttachmentImages(server.fetchImage);
    const local = URL.createObjectURL(new Blob(['local file']));
    images.adopt('tok', 'att_2', local);
    expect(images.acquire('tok', 'att_2', 'thumbnail')).toEqual({ url: local, failed: false });
    await settled();
    expect(server.requests).toEqual([]);
    images.release('tok', 'att_2', 'thumbnail');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(revoked).toEqual([local]);
  });

  test('another session fetches for itself', async () => {
    const server = fakeServer();
    const images = new AttachmentImages(server.fetchImage);
    images.acquire('tok-a', 'att_1', 'thumbnail');
    images.acquire('tok-b', 'att_1', 'thumbnail');
    await settled();
    expect(server.requests.map((request) => request.authorization)).toEqual(['Bearer tok-a', 'Bearer tok-b']);
  });

  test('a refused image is marked failed, and loads on retry', async () => {
    let status = 404;
    const requests: string[] = [];
    const fetchImage = (async (input: string) => {
      requests.push(input);
      return new Response(status === 200 ? new Blob(['x']) : null, { status });
    }) as typeof fetch;
    const images = new AttachmentImages(fetchImage);
    const changes: string[] = [];
    images.acquire('tok', 'att_3', 'thumbnail');
    images.subscribe('tok', 'att_3', 'thumbnail', () => changes.push(JSON.stringify(images.get('tok', 'att_3', 'thumbnail'))));
    await settled();
    expect(images.get('tok', 'att_3', 'thumbnail')).toEqual({ url: null, failed: true });
    status = 200;
    images.retry('tok', 'att_3', 'thumbnail');
    await settled();
    expect(images.get('tok', 'att_3', 'thumbnail').url).toMatch(/^blob:/);
    expect(requests).toHaveLength(2);
    expect(changes).toHaveLength(3);
  });
});
