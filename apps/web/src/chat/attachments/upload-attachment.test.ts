import { describe, expect, test } from 'vitest';
import { uploadErrorOf } from './upload-attachment';

describe('uploadErrorOf', () => {
  test('uses the server’s message and code', () => {
    const body = {
      error: {
        code: 'UNSUPPORTED_IMAGE',
        message: 'HEIC photos are not supported yet: export the photo as JPEG and attach it again.',
      },
    };
    const error = uploadErrorOf(415, body);
    expect(error).toMatchObject({ status: 415, code: 'UNSUPPORTED_IMAGE', message: body.error.message });
  });

  test('keeps each of the photo refusals’ own words', () => {
    expect(uploadErrorOf(413, { error: { code: 'IMAGE_TOO_LARGE', message: 'The image is larger than 10 MB.' } }).message).toBe(
      'The image is larger than 10 MB.',
    );
    expect(
      uploadErrorOf(422, { error: { code: 'IMAGE_TOO_MANY_PIXELS', message: 'The image has more than 50 megapixels.' } }).message,
    ).toBe('The image has more than 50 megapixels.');
  });

  test('without our JSON body (a proxy’s page), says what the status means', () => {
    expect(uploadErrorOf(413, undefined)).toMatchObject({ status: 413, code: undefined, message: 'That photo is too large to upload.' });
    expect(uploadErrorOf(415, { message: 'nope' }).message).toMatch(/JPEG, PNG or WebP/);
    expect(uploadErrorOf(422, 'text').message).toMatch(/too many pixels/);
    expect(uploadErrorOf(502, null).message).toBe('The photo couldn’t be uploaded (HTTP 502). Try again.');
  });
});
