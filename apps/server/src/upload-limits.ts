import { ImageTooLarge, ValidationError } from '@fixthread/core';
import type { FastifyInstance } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Room for the multipart framing around the file (boundaries, the part's headers, a few small fields): a
 * body within MAX_IMAGE_BYTES plus this may still hold a file over the limit, which the file's own count
 * (busboy's `fileSize`, the engine's byte check) then refuses.
 */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

export function isMultipartFormData(contentType: string | undefined): boolean {
  return contentType !== undefined && /^multipart\/form-data\b/i.test(contentType);
}

/** A declared Content-Length too large to hold a photo within the limit: refused before a byte is read. */
export function refuseOversizedUpload(headers: IncomingHttpHeaders, maxImageBytes: number): void {
  const length = headers['content-length'];
  if (length !== undefined && Number(length) > maxImageBytes + MULTIPART_OVERHEAD_BYTES) throw new ImageTooLarge(maxImageBytes);
}

/**
 * tRPC's Fastify adapter hands a multipart body to tRPC as the raw stream, and tRPC reads it whole
 * (`Request.formData()`) with no size limit, and Fastify's bodyLimit does not apply to a stream. So a
 * multipart call to any procedure must declare its length, and a length over the limit is refused here,
 * before tRPC reads anything. Node's HTTP parser never delivers more body than the declared length, and
 * fetch and browsers always declare it for FormData.
 */
export function limitTrpcUploads(app: FastifyInstance, maxImageBytes: number): void {
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/trpc/') || !isMultipartFormData(request.headers['content-type'])) return;
    if (request.headers['content-length'] === undefined) {
      throw new ValidationError('Send the upload with a Content-Length header.', 'Content-Length');
    }
    refuseOversizedUpload(request.headers, maxImageBytes);
  });
}
