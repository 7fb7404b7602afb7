import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { sniffImageType } from './sniff-image-type';
import { ftypBox, solidImage } from './test-images';

const SVG = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>';
const HTML = '<!doctype html><html><body><img src=x onerror=alert(1)></body></html>';

describe('sniffImageType', () => {
  it.each(['jpeg', 'png', 'webp'] as const)('knows %s by its first bytes', async (format) => {
    expect(sniffImageType(await solidImage(format, 8, 8))).toBe(format);
  });

  it('knows HEIC and AVIF apart by their ftyp brands', async () => {
    expect(sniffImageType(ftypBox('heic', ['mif1', 'heic']))).toBe('heic');
    expect(sniffImageType(ftypBox('mif1', ['heic']))).toBe('heic');
    expect(sniffImageType(ftypBox('heix', ['mif1']))).toBe('heic');
    expect(sniffImageType(ftypBox('msf1', ['hevc']))).toBe('heic');
    expect(sniffImageType(ftypBox('mif1', ['avif', 'miaf']))).toBe('avif');
    const avif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } }).avif().toBuffer();
    expect(sniffImageType(avif)).toBe('avif');
  });

  it('refuses an MP4 and a malformed ftyp box', () => {
    expect(sniffImageType(ftypBox('isom', ['iso2', 'mp41']))).toBeUndefined();
    const lying = ftypBox('heic', ['mif1']);
    lying.writeUInt32BE(4096, 0);
    expect(sniffImageType(lying)).toBeUndefined();
  });

  it('refuses what libvips could decode but we do not accept: SVG, GIF, TIFF', async () => {
    const svg = Buffer.from(SVG);
    // sharp would render it: the refusal is the sniffer's.
    expect((await sharp(svg).metadata()).format).toBe('svg');
    expect(sniffImageType(svg)).toBeUndefined();
    const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).gif().toBuffer();
    expect(sniffImageType(gif)).toBeUndefined();
    const tiff = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).tiff().toBuffer();
    expect(sniffImageType(tiff)).toBeUndefined();
  });

  it.each([
    ['HTML', Buffer.from(HTML)],
    ['PDF', Buffer.from('%PDF-1.7\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\n')],
    ['text', Buffer.from('just some words, not an image')],
    ['empty', Buffer.alloc(0)],
    ['a lone JPEG marker', Buffer.from([0xff, 0xd8])],
    ['RIFF that is not WebP', Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1')],
  ])('refuses %s', (_name, bytes) => {
    expect(sniffImageType(bytes)).toBeUndefined();
  });

  it("reads a view into a larger buffer from the view's own start", () => {
    const padded = Buffer.concat([Buffer.from(HTML), ftypBox('heic', ['mif1'])]);
    expect(sniffImageType(padded.subarray(HTML.length))).toBe('heic');
    expect(sniffImageType(padded)).toBeUndefined();
  });
});
