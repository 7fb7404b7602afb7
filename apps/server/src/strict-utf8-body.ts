import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance } from 'fastify';

/** A request body that is not UTF-8: refused, since decoding would silently store U+FFFD in its place. */
export class InvalidUtf8Body extends Error {
  readonly statusCode = 400;
  constructor() {
    super('Request body is not valid UTF-8');
    this.name = 'InvalidUtf8Body';
  }
}

/**
 * Checks every request body as it streams in, before any parser decodes it (Fastify's and tRPC's both decode
 * with replacement characters). Registered on the root instance, so it covers the tRPC plugin's routes too.
 */
export function refuseInvalidUtf8Bodies(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    if (request.headers['content-type'] === undefined) return payload;
    return payload.pipe(new Utf8Validator());
  });
}

class Utf8Validator extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      callback(new InvalidUtf8Body());
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.decoder.decode();
    } catch {
      callback(new InvalidUtf8Body());
      return;
    }
    callback();
  }
}
