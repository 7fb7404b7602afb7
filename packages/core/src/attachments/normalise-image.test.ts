import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageTooLarge, ImageTooManyPixels, UnsupportedImage } from '../errors';
import { DEFAULT_IMAGE_LIMITS, MAX_LONG_SIDE, THUMBNAIL_LONG_SIDE } from './image-limits';
import { normaliseImage } from './normalise-image';
import { CAMERA_MAKE, GPS_DATUM, RED, ftypBox, phonePhoto, pixelAt, pngBomb, solidImage, type FixtureFormat } from './test-images';

const dir = mkdtempSync(join(tmpdir(), 'fixthread-images-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The upload as a client sends it: bytes under a name that may lie. */
function uploaded(name: string, bytes: Buffer): Buffer {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return readFileSync(path);
}

async function refusal(input: Uint8Array, limits = DEFAULT_IMAGE_LIMITS): Promise<unknown> {
  try {
    await normaliseImage(input, limits);
  } catch (error) {
    return error;
  }
  throw new Error('expected the image to be refused');
}

/** Red or green whatever the colour profile did to them. */
const isRed = (p: { r: number; g: number }) => p.r > 150 && p.r - p.g > 100;
const isGreen = (p: { r: number; g: number }) => p.g > 150 && p.g - p.r > 100;

function near(actual: { r: number; g: number; b: number }, expected: { r: number; g: number; b: number }): boolean {
  return Math.abs(actual.r - expected.r) + Math.abs(actual.g - expected.g) + Math.abs(actual.b - expected.b) < 40;
}

describe('normaliseImage: the real type, from the bytes', () => {
  it('accepts a PNG named .jpg, as a PNG', async () => {
    const image = await normaliseImage(uploaded('photo.jpg', await solidImage('png', 40, 30)));
    expect(image.contentType).toBe('image/png');
    expect((await sharp(image.bytes).metadata()).format).toBe('png');
  });

  it.each([
    ['HTML', 'page.png', '<!doctype html><html><script>alert(document.cookie)</script></html>'],
    ['SVG', 'icon.png', '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)"><rect width="10" height="10"/></svg>'],
  ])('refuses %s named .png with UNSUPPORTED_IMAGE', async (_kind, name, text) => {
    const error = await refusal(uploaded(name, Buffer.from(text)));
    expect(error).toBeInstanceOf(UnsupportedImage);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_IMAGE', message: 'Attach a JPEG, PNG or WebP image.' });
  });

  it('refuses GIF, AVIF and empty uploads', async () => {
    const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).gif().toBuffer();
    const avif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).avif().toBuffer();
    for (const bytes of [gif, avif, Buffer.alloc(0)]) {
      expect(await refusal(bytes)).toMatchObject({ code: 'UNSUPPORTED_IMAGE' });
    }
  });

  it('refuses HEIC, saying what to do instead: this sharp cannot decode HEVC', async () => {
    // The finding behind the refusal. Should a build with HEVC be installed, this fails: time to accept HEIC.
    expect(sharp.format.heif.input.fileSuffix).not.toContain('.heic');
    await expect(
      sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).heif({ compression: 'hevc' }).toBuffer(),
    ).rejects.toThrow(/Unsupported compression/);

    const error = await refusal(Buffer.concat([ftypBox('heic', ['mif1', 'heic']), Buffer.alloc(64)]));
    expect(error).toBeInstanceOf(UnsupportedImage);
    expect((error as Error).message).toMatch(/^HEIC photos are not supported yet: export the photo as JPEG/);
  });

  it('refuses bytes that start like an image but are not one, and a truncated JPEG', async () => {
    const fakePng = Buffer.concat([(await solidImage('png', 8, 8)).subarray(0, 8), Buffer.from('<html>not really</html>')]);
    const photo = await solidImage('jpeg', 400, 300);
    const truncated = photo.subarray(0, Math.floor(photo.length / 2));
    for (const bytes of [fakePng, truncated]) {
      const error = await refusal(bytes);
      expect(error).toBeInstanceOf(UnsupportedImage);
      expect((error as Error).message).toMatch(/could not be read/);
    }
  });
});

describe('normaliseImage: limits', () => {
  it('refuses more bytes than the limit before decoding them', async () => {
    // A PNG signature then junk: decoding it would fail as unreadable, so IMAGE_TOO_LARGE means it never got that far.
    const oversized = Buffer.concat([(await solidImage('png', 8, 8)).subarray(0, 8), Buffer.alloc(DEFAULT_IMAGE_LIMITS.maxBytes)]);
    const error = await refusal(oversized);
    expect(error).toBeInstanceOf(ImageTooLarge);
    expect(error).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: 'The image is larger than 10 MB.' });

    const small = await solidImage('png', 64, 64);
    expect(await refusal(small, { ...DEFAULT_IMAGE_LIMITS, maxBytes: small.length - 1 })).toBeInstanceOf(ImageTooLarge);
    await expect(normaliseImage(small, { ...DEFAULT_IMAGE_LIMITS, maxBytes: small.length })).resolves.toBeDefined();
  });

  it('refuses a decompression bomb from its header, quickly and without the memory to decode it', async () => {
    const bomb = pngBomb(30_000, 30_000);
    expect(bomb.length).toBeLessThan(200_000);
    // What it claims: 900 megapixels.
    expect(await sharp(bomb, { limitInputPixels: false }).metadata()).toMatchObject({ format: 'png', width: 30_000, height: 30_000 });

    const rssBefore = process.memoryUsage.rss();
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 2);
    const started = performance.now();
    const error = await refusal(bomb).finally(() => clearInterval(sampler));
    const elapsed = performance.now() - started;
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());

    expect(error).toBeInstanceOf(ImageTooManyPixels);
    expect(error).toMatchObject({ code: 'IMAGE_TOO_MANY_PIXELS', message: 'The image is 30000 × 30000 pixels; its sides may be at most 12000 pixels.' });
    expect(elapsed).toBeLessThan(1_000);
    expect(rssPeak - rssBefore).toBeLessThan(100 * 1024 * 1024);
  });

  it('refuses too many pixels within the side limit, and a side past it however few pixels', async () => {
    const wide = await refusal(pngBomb(10_000, 6_000));
    expect(wide).toMatchObject({ code: 'IMAGE_TOO_MANY_PIXELS', message: 'The image has 60 megapixels; at most 50 megapixels are accepted.' });
    expect(await refusal(pngBomb(12_001, 10))).toMatchObject({ code: 'IMAGE_TOO_MANY_PIXELS' });
  });
});

describe('normaliseImage: what is stored', () => {
  it.each(['jpeg', 'png', 'webp'] as const)('strips EXIF (GPS too), ICC and the orientation tag from a %s photo', async (format: FixtureFormat) => {
    const photo = await phonePhoto(format);
    const before = await sharp(photo).metadata();
    expect(before).toMatchObject({ orientation: 6 });
    expect(before.exif).toBeDefined();
    expect(photo.includes(GPS_DATUM)).toBe(true);
    expect(photo.includes(CAMERA_MAKE)).toBe(true);
    if (format === 'jpeg') expect(photo.includes('Exif')).toBe(true);

    const image = await normaliseImage(photo);
    const after = await sharp(image.bytes).metadata();
    expect(after.exif).toBeUndefined();
    expect(after.xmp).toBeUndefined();
    expect(after.iptc).toBeUndefined();
    expect(after.icc).toBeUndefined();
    expect(after.orientation).toBeUndefined();
    for (const marker of ['Exif', 'GPS', GPS_DATUM, CAMERA_MAKE, 'ICC_PROFILE', 'iCCP', 'eXIf']) {
      expect(image.bytes.includes(marker), marker).toBe(false);
    }
    const thumbnail = await sharp(image.thumbnail.bytes).metadata();
    expect(thumbnail.exif).toBeUndefined();
    expect(thumbnail.icc).toBeUndefined();
  });

  it('turns a sideways photo upright: sides swapped, its top-left corner now top-right', async () => {
    const photo = await phonePhoto('jpeg', 300, 200);
    expect(isRed(await pixelAt(photo, 10, 10))).toBe(true);
    expect(isGreen(await pixelAt(photo, 300 - 10, 10))).toBe(true);

    const image = await normaliseImage(photo);
    expect([image.width, image.height]).toEqual([200, 300]);
    expect(isRed(await pixelAt(image.bytes, 200 - 10, 10))).toBe(true);
    expect(isGreen(await pixelAt(image.bytes, 10, 10))).toBe(true);
    expect(isGreen(await pixelAt(image.bytes, 200 - 10, 300 - 10))).toBe(true);
    const thumbnail = image.thumbnail;
    expect([thumbnail.width, thumbnail.height]).toEqual([171, 256]);
    expect(isRed(await pixelAt(thumbnail.bytes, thumbnail.width - 5, 5))).toBe(true);
    expect(isGreen(await pixelAt(thumbnail.bytes, 5, 5))).toBe(true);
  });

  it('converts a Display P3 photo to sRGB rather than dropping its profile and shifting its colours', async () => {
    const photo = await phonePhoto('png', 300, 200);
    // Stored in P3, pure red is no longer 255/0/0; read as sRGB without its profile it would look dull.
    expect(near(await pixelAt(photo, 10, 10), RED)).toBe(false);
    const image = await normaliseImage(photo);
    expect(near(await pixelAt(image.bytes, 200 - 10, 10), RED)).toBe(true);
  });

  it('fits the long side into 2048 px, never enlarges, and keeps thumbnails within 256 px', async () => {
    const cases: [FixtureFormat, number, number, [number, number], [number, number]][] = [
      ['jpeg', 4000, 3000, [2048, 1536], [256, 192]],
      ['png', 1500, 5000, [614, 2048], [77, 256]],
      ['webp', 640, 480, [640, 480], [256, 192]],
      ['jpeg', 100, 50, [100, 50], [100, 50]],
    ];
    for (const [format, width, height, full, thumb] of cases) {
      const image = await normaliseImage(await solidImage(format, width, height));
      expect([image.width, image.height], `${format} ${width}×${height}`).toEqual(full);
      expect(Math.max(image.width, image.height)).toBeLessThanOrEqual(MAX_LONG_SIDE);
      const stored = await sharp(image.bytes).metadata();
      expect([stored.width, stored.height]).toEqual(full);
      expect([image.thumbnail.width, image.thumbnail.height], `thumbnail of ${width}×${height}`).toEqual(thumb);
      expect(Math.max(image.thumbnail.width, image.thumbnail.height)).toBeLessThanOrEqual(THUMBNAIL_LONG_SIDE);
      expect(image.thumbnail.contentType).toBe('image/webp');
      expect((await sharp(image.thumbnail.bytes).metadata()).format).toBe('webp');
    }
  });

  it('re-encodes JPEG as JPEG, PNG as PNG and WebP as WebP, keeping transparency', async () => {
    const jpeg = await normaliseImage(await solidImage('jpeg', 64, 64));
    expect(jpeg.contentType).toBe('image/jpeg');
    expect((await sharp(jpeg.bytes).metadata()).format).toBe('jpeg');
    for (const format of ['png', 'webp'] as const) {
      const image = await normaliseImage(await solidImage(format, 64, 64, 4));
      expect(image.contentType).toBe(`image/${format}`);
      expect(await sharp(image.bytes).metadata()).toMatchObject({ format, hasAlpha: true });
    }
  });

  it('gives the SHA-256 of the stored bytes', async () => {
    const image = await normaliseImage(await solidImage('png', 32, 32));
    expect(image.sha256).toBe(createHash('sha256').update(image.bytes).digest('hex'));
    expect(image.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('normalises several uploads at once, each to its own result', async () => {
    const sizes = [
      [120, 80],
      [80, 120],
      [300, 300],
      [64, 32],
      [33, 77],
    ] as const;
    const images = await Promise.all(sizes.map(async ([w, h]) => normaliseImage(await solidImage('jpeg', w, h))));
    expect(images.map((image) => [image.width, image.height])).toEqual(sizes.map(([w, h]) => [w, h]));
  });
});
