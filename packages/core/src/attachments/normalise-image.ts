import { createHash } from 'node:crypto';
import sharp, { type Sharp, type SharpOptions } from 'sharp';
import type { AttachmentContentType } from '../db/schema';
import { ImageTooLarge, ImageTooManyPixels, UnsupportedImage } from '../errors';
import { DEFAULT_IMAGE_LIMITS, MAX_LONG_SIDE, THUMBNAIL_CONTENT_TYPE, THUMBNAIL_LONG_SIDE, type ImageLimits } from './image-limits';
import { sniffImageType, type ImageKind } from './sniff-image-type';
import { createWorkSlots } from './work-slots';

// Every upload is decoded once and never again, so libvips' operation cache (up to 50 MB by default) would only
// hold memory. One libvips thread per image, and at most two images at once: on a 2-core server that keeps
// both cores busy without oversubscribing them, bounds peak memory to two decodes, and leaves libuv's small
// thread pool (shared with fs, dns and crypto) free for the rest of the server. One thread is also sharp's own
// default on glibc without jemalloc, where more threads fragment the heap.
sharp.cache(false);
sharp.concurrency(1);
const slots = createWorkSlots(2);

export interface EncodedImage<Type extends string = string> {
  contentType: Type;
  bytes: Buffer;
  width: number;
  height: number;
}

export interface NormalisedImage extends EncodedImage<AttachmentContentType> {
  thumbnail: EncodedImage<typeof THUMBNAIL_CONTENT_TYPE>;
  /** Of `bytes`, hex. */
  sha256: string;
}

const HEIC_REFUSAL =
  'HEIC photos are not supported yet: export the photo as JPEG (on an iPhone, Settings › Camera › Formats › Most Compatible) and attach it again.';

/**
 * Checks the real type and size, then stores only what we re-encoded: upright (EXIF orientation applied),
 * at most 2048 px on the long side, never enlarged, and with no metadata at all (EXIF with its GPS position,
 * XMP, IPTC, ICC; colours are converted to sRGB, which viewers assume without a profile). `ImageTooLarge`,
 * `UnsupportedImage` for the wrong type and `ImageTooManyPixels` are thrown before any pixel is decoded;
 * damaged pixel data is an `UnsupportedImage` too, once decoding meets it.
 */
export async function normaliseImage(input: Uint8Array, limits: ImageLimits = DEFAULT_IMAGE_LIMITS): Promise<NormalisedImage> {
  if (input.byteLength > limits.maxBytes) throw new ImageTooLarge(limits.maxBytes);
  const kind = acceptedKind(input);
  return slots.run(async () => {
    await checkHeader(input, kind, limits);
    const full = await encode(
      sharp(input, decodeOptions(limits)).rotate().resize(MAX_LONG_SIDE, MAX_LONG_SIDE, { fit: 'inside', withoutEnlargement: true }),
      kind,
    );
    const thumbnail = await thumbnailOf(full.bytes, limits);
    return { ...full, thumbnail, sha256: createHash('sha256').update(full.bytes).digest('hex') };
  });
}

type AcceptedKind = Extract<ImageKind, 'jpeg' | 'png' | 'webp'>;

function acceptedKind(input: Uint8Array): AcceptedKind {
  const kind = sniffImageType(input);
  // sharp's prebuilt libvips decodes AVIF but not HEVC, which HEIC needs (the codec is patent-encumbered).
  if (kind === 'heic') throw new UnsupportedImage(HEIC_REFUSAL);
  if (kind === undefined || kind === 'avif') throw new UnsupportedImage();
  return kind;
}

/**
 * The header alone (sharp's metadata() decodes no pixels), so a small file that declares a huge image is
 * refused without the memory to decode it. libvips picks its loader by sniffing too: its verdict must agree.
 */
async function checkHeader(input: Uint8Array, kind: AcceptedKind, limits: ImageLimits): Promise<void> {
  let header: sharp.Metadata;
  try {
    header = await sharp(input, { ...decodeOptions(limits), limitInputPixels: false }).metadata();
  } catch (error) {
    throw unreadable(error);
  }
  if (header.format !== kind) throw new UnsupportedImage();
  const { width, height } = header;
  if (Math.max(width, height) > limits.maxSide) {
    throw new ImageTooManyPixels(`The image is ${width} × ${height} pixels; its sides may be at most ${limits.maxSide} pixels.`);
  }
  if (width * height > limits.maxPixels) {
    const megapixels = (n: number) => `${Math.round(n / 1e5) / 10} megapixels`;
    throw new ImageTooManyPixels(`The image has ${megapixels(width * height)}; at most ${megapixels(limits.maxPixels)} are accepted.`);
  }
}

/** libvips' own guards stay on behind the header check: its pixel limit, and refusing corrupt pixel data. */
function decodeOptions(limits: ImageLimits): SharpOptions {
  return { limitInputPixels: limits.maxPixels, sequentialRead: true, failOn: 'error' };
}

/**
 * Photos (JPEG) stay JPEG, with mozjpeg: slower to encode (about 0.8 s for a noisy 12 MP photo here, against
 * 0.2 s) but about a fifth smaller, and the bytes are stored once and then sent with every turn they stay in
 * context. PNG stays lossless PNG: it is mostly screenshots, whose text JPEG would smear, and it may carry
 * transparency. WebP stays WebP, which keeps transparency too.
 */
async function encode(pipeline: Sharp, kind: AcceptedKind): Promise<EncodedImage<AttachmentContentType>> {
  switch (kind) {
    case 'jpeg':
      return run(pipeline.jpeg({ quality: 85, mozjpeg: true }), 'image/jpeg');
    case 'png':
      return run(pipeline.png(), 'image/png');
    case 'webp':
      return run(pipeline.webp({ quality: 85 }), 'image/webp');
  }
}

/** From the normalised image, already upright and small, rather than decoding the upload a second time. */
async function thumbnailOf(full: Buffer, limits: ImageLimits): Promise<EncodedImage<typeof THUMBNAIL_CONTENT_TYPE>> {
  const pipeline = sharp(full, decodeOptions(limits))
    .resize(THUMBNAIL_LONG_SIDE, THUMBNAIL_LONG_SIDE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75 });
  return run(pipeline, THUMBNAIL_CONTENT_TYPE);
}

async function run<Type extends string>(pipeline: Sharp, contentType: Type): Promise<EncodedImage<Type>> {
  try {
    const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
    return { contentType, bytes: data, width: info.width, height: info.height };
  } catch (error) {
    throw unreadable(error);
  }
}

/** Bytes that start like an image but do not decode as one: truncated, corrupt, or crafted. */
function unreadable(cause: unknown): UnsupportedImage {
  const error = new UnsupportedImage('The image could not be read: it may be damaged. Attach a JPEG, PNG or WebP image.');
  error.cause = cause;
  return error;
}
