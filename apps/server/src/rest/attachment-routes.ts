import fastifyMultipart from '@fastify/multipart';
import {
  DomainError,
  ImageTooLarge,
  ValidationError,
  type AttachmentFile,
  type AttachmentVariant,
  type ChatEngine,
} from '@fixthread/core';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { errorBody } from '../errors';
import { presentUpload } from '../present-upload';
import { isMultipartFormData, refuseOversizedUpload } from '../upload-limits';
import { attachmentParams, uploadBody } from '../validation';
import { documented, errors, jsonResponse, type ResponseDoc } from './openapi';
import { errorBodySchema, imageBytesSchema, uploadedAttachmentSchema } from './response-schemas';

export interface AttachmentRoutesOptions {
  engine: ChatEngine;
  maxImageBytes: number;
}

const EXTENSIONS: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' };

/**
 * The bytes behind an id never change, so a browser may keep them for good; `private` keeps them out of
 * shared caches, and `Vary: Authorization` keeps one signed-in user's copy from answering another's request
 * in the same browser.
 */
const CACHE_CONTROL = 'private, max-age=31536000, immutable';

const NOT_MULTIPART = errorBody({
  status: 415,
  code: 'UNSUPPORTED_MEDIA_TYPE',
  message: 'Send the photo as multipart/form-data, in a file field named `file`.',
});

/**
 * Photo uploads and their bytes, registered inside the chat routes so their bearer check covers these too.
 * The multipart parser is registered in this plugin only: every other route keeps refusing anything but JSON.
 */
export const attachmentRoutes: FastifyPluginAsync<AttachmentRoutesOptions> = async (app, { engine, maxImageBytes }) => {
  await app.register(fastifyMultipart, {
    // One file, and room for a stray small field or two; the file's own limit is the engine's byte limit.
    limits: { fileSize: maxImageBytes, files: 1, fields: 4, fieldSize: 1024, parts: 6, headerPairs: 20 },
  });

  const uploadErrors = {
    ...errors(401, 503),
    400: jsonResponse('VALIDATION (`details.field` is `file`): no file in a field named `file`, a second file, or a body that is not readable multipart.', errorBodySchema),
    413: jsonResponse('The photo is larger than the server’s MAX_IMAGE_BYTES (IMAGE_TOO_LARGE).', errorBodySchema),
    415: jsonResponse(
      'The body is not multipart/form-data (UNSUPPORTED_MEDIA_TYPE), or the file is not a JPEG, PNG or WebP image, whatever its name says (UNSUPPORTED_IMAGE). HEIC is refused with a message saying how to export a JPEG.',
      errorBodySchema,
    ),
    422: jsonResponse('The image declares more pixels than the server decodes (IMAGE_TOO_MANY_PIXELS), as a decompression bomb does.', errorBodySchema),
  };

  app.post(
    '/chat/attachments',
    {
      ...documented({
        tags: ['chat'],
        operationId: 'uploadAttachment',
        summary: 'Upload a photo, to send with a message',
        description:
          'The photo is checked by its bytes, turned upright, scaled to at most 2048 px, re-encoded without its metadata (EXIF, GPS, camera) and stored, unsent. ' +
          'Send it by naming its `id` in `attachments` of POST /chat, /chat/stream or /chat/edit; unsent uploads are deleted after 24 hours.',
        consumes: ['multipart/form-data'],
        body: uploadBody,
        response: { 201: jsonResponse('The stored photo.', uploadedAttachmentSchema), ...uploadErrors },
      }),
      onRequest: async (request, reply) => {
        // Answered here rather than through the error handler, whose 415 speaks of JSON bodies.
        if (!isMultipartFormData(request.headers['content-type'])) return reply.status(415).send(NOT_MULTIPART);
        refuseOversizedUpload(request.headers, maxImageBytes);
      },
    },
    async (request, reply) => {
      const bytes = await readPhoto(app, request, maxImageBytes);
      return reply.status(201).send(presentUpload(await engine.uploadAttachment(request.userId, bytes)));
    },
  );

  const imageResponse = (description: string): ResponseDoc => ({
    description,
    content: Object.fromEntries(Object.keys(EXTENSIONS).map((type) => [type, { schema: imageBytesSchema }])),
  });
  const served = (variant: AttachmentVariant) => async (request: FastifyRequest, reply: FastifyReply) => {
    const { id } = request.params as { id: string };
    await sendImage(request, reply, id, variant, await engine.attachment(request.userId, id, variant));
  };
  const notFound = jsonResponse('No such attachment: another user’s id, an unknown one and a malformed one are the same 404 ATTACHMENT_NOT_FOUND.', errorBodySchema);
  // A 304 has no body: a `null` schema is how the document says so (no content), and OperationDoc's type
  // knows only responses with content.
  const notModified = z.null().meta({ description: '`If-None-Match` named the current ETag: no body.' }) as unknown as ResponseDoc;

  app.get(
    '/chat/attachments/:id',
    documented({
      tags: ['chat'],
      operationId: 'getAttachment',
      summary: 'A photo the user uploaded, as stored',
      description:
        'Only its owner gets it. The content type is the stored one, never the uploader’s, and the browser is told not to sniff it, run it or embed it elsewhere. ' +
        'It never changes, so it may be cached for good (privately); send `If-None-Match` with its ETag to get a 304.',
      params: attachmentParams,
      response: { 200: imageResponse('The photo.'), 304: notModified, ...errors(401, 503), 404: notFound },
    }),
    served('full'),
  );

  app.get(
    '/chat/attachments/:id/thumbnail',
    documented({
      tags: ['chat'],
      operationId: 'getAttachmentThumbnail',
      summary: 'A photo’s thumbnail',
      description: 'A WebP at most 256 px on the long side, served like the photo itself.',
      params: attachmentParams,
      response: { 200: imageResponse('The thumbnail.'), 304: notModified, ...errors(401, 503), 404: notFound },
    }),
    served('thumbnail'),
  );
};

/**
 * The one file part's bytes, read to the end of the body so that a second file is noticed. The part's file
 * name and Content-Type are the client's say-so: the engine reads the bytes.
 */
async function readPhoto(app: FastifyInstance, request: FastifyRequest, maxImageBytes: number): Promise<Uint8Array> {
  let photo: Buffer | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type !== 'file') continue;
      if (part.fieldname !== 'file') throw new ValidationError(`Attach the photo in a file field named \`file\`, not \`${part.fieldname}\`.`, 'file');
      photo = await part.toBuffer();
    }
  } catch (error) {
    if (error instanceof DomainError) throw error;
    if (error instanceof app.multipartErrors.RequestFileTooLargeError) throw new ImageTooLarge(maxImageBytes);
    // Anything else comes from reading the client's body: a second file, too many fields, a broken part.
    request.log.info({ err: error }, 'multipart upload refused');
    throw new ValidationError('The upload could not be read: send one photo as multipart/form-data, in a file field named `file`.', 'file');
  }
  if (!photo) throw new ValidationError('Attach the photo in a file field named `file`.', 'file');
  return photo;
}

async function sendImage(request: FastifyRequest, reply: FastifyReply, id: string, variant: AttachmentVariant, image: AttachmentFile): Promise<void> {
  const etag = `"${image.sha256}${variant === 'thumbnail' ? '-thumb' : ''}"`;
  void reply.header('etag', etag).header('cache-control', CACHE_CONTROL).header('vary', 'Authorization');
  if (matchesEtag(request.headers['if-none-match'], etag)) {
    await reply.status(304).send();
    return;
  }
  await reply
    .type(image.contentType)
    .header('x-content-type-options', 'nosniff')
    .header('content-disposition', `inline; filename="${id}${variant === 'thumbnail' ? '-thumbnail' : ''}.${EXTENSIONS[image.contentType] ?? 'bin'}"`)
    // Opened on its own, the image can run nothing and load nothing, whatever a browser made of it.
    .header('content-security-policy', "default-src 'none'; sandbox")
    .header('cross-origin-resource-policy', 'same-origin')
    .send(image.bytes);
}

function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const candidate = tag.trim();
    return candidate === '*' || candidate.replace(/^W\//, '') === etag;
  });
}
