import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** Images for tests, made on the spot so no binary fixture has to be committed. */

export const RED = { r: 255, g: 0, b: 0 };
export const GREEN = { r: 0, g: 255, b: 0 };

/** Strings planted in the metadata, to look for in the bytes afterwards. */
export const CAMERA_MAKE = 'FixThreadTestPhone';
export const GPS_DATUM = 'WGS-84';

export type FixtureFormat = 'jpeg' | 'png' | 'webp';

/** Green, with a red square in the top-left corner: where the square ends up shows how the image was turned. */
export function markedImage(width: number, height: number) {
  const side = Math.min(width, height) / 2;
  return sharp({ create: { width, height, channels: 3, background: GREEN } }).composite([
    { input: { create: { width: side, height: side, channels: 3, background: RED } }, left: 0, top: 0 },
  ]);
}

/**
 * As a phone takes it: stored sideways with EXIF orientation 6 (turn 90° clockwise to view), the camera's
 * make, a GPS position, and a Display P3 colour profile.
 */
export async function phonePhoto(format: FixtureFormat, width = 300, height = 200): Promise<Buffer> {
  const encoded =
    format === 'jpeg'
      ? markedImage(width, height).jpeg({ quality: 95 })
      : format === 'png'
        ? markedImage(width, height).png()
        : markedImage(width, height).webp({ quality: 95 });
  return encoded
    .withExif({
      IFD0: { Make: CAMERA_MAKE },
      // IFD3 is the GPS directory.
      IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 1234/100', GPSLongitudeRef: 'W', GPSLongitude: '0/1 7/1 3900/100', GPSMapDatum: GPS_DATUM },
    })
    .withMetadata({ orientation: 6 })
    .withIccProfile('p3')
    .toBuffer();
}

export async function solidImage(format: FixtureFormat, width: number, height: number, channels: 3 | 4 = 3): Promise<Buffer> {
  const image = sharp({ create: { width, height, channels, background: { r: 40, g: 90, b: 200, alpha: 0.5 } } });
  if (format === 'jpeg') return image.jpeg().toBuffer();
  if (format === 'png') return image.png().toBuffer();
  return image.webp().toBuffer();
}

/**
 * A decompression bomb: a PNG whose header declares `width` × `height` 1-bit grey pixels, all black. Deflate
 * packs the rows a thousandfold, so 30000 × 30000 (900 megapixels, gigabytes once decoded to 8-bit RGB) is a
 * file of about a hundred kilobytes.
 */
export function pngBomb(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.writeUInt8(1, 8); // bit depth
  header.writeUInt8(0, 9); // greyscale
  // Each row: filter byte 0, then width bits of zeros.
  const rows = Buffer.alloc((1 + Math.ceil(width / 8)) * height);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(rows, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** The opening `ftyp` box of an ISO-BMFF file, which is all the type sniffer reads. */
export function ftypBox(majorBrand: string, compatibleBrands: string[]): Buffer {
  const size = 16 + 4 * compatibleBrands.length;
  const box = Buffer.alloc(size);
  box.writeUInt32BE(size, 0);
  box.write('ftyp', 4, 'latin1');
  box.write(majorBrand, 8, 'latin1');
  compatibleBrands.forEach((brand, i) => box.write(brand, 16 + 4 * i, 'latin1'));
  return box;
}

/** The RGB of one pixel, ignoring any colour profile. */
export async function pixelAt(image: Buffer, x: number, y: number): Promise<{ r: number; g: number; b: number }> {
  const { data, info } = await sharp(image, { ignoreIcc: true }).raw().toBuffer({ resolveWithObject: true });
  const at = (y * info.width + x) * info.channels;
  return { r: data[at] ?? -1, g: data[at + 1] ?? -1, b: data[at + 2] ?? -1 };
}
