import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isMultipartFormData } from './upload-limits';

/** A request body that is not UTF-8: refused, since decoding would silently store U+FFFD in its place. */
export class InvalidUtf8Body extends Error {
  readonly statusCode = 400;
  constructor() {
    super('Request body is not valid UTF-8');
    this.name = 'InvalidUtf8Body';
  }
}

const invalidBodies = new WeakSet<FastifyRequest>();

/**
 * Checks every request body as it streams in (Fastify's and tRPC's parsers both decode with replacement
 * characters), then refuses the request before its handler runs. The check only marks the request: an error
 * raised inside the body stream can fire before Fastify listens to it, and the request then hangs. Registered
 * on the root instance, so it covers the tRPC plugin's routes too.
 */
export function refuseInvalidUtf8Bodies(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    // A multipart body carries a photo's binary bytes; its reader takes only the file part.
    if (request.headers['content-type'] === undefined || isMultipartFormData(request.headers['content-type'])) return payload;
    return payload.pipe(new Utf8Validator(() => invalidBodies.add(request)));
  });
  app.addHook('preValidation', async (request) => {
    if (invalidBodies.has(request)) throw new InvalidUtf8Body();
  });
}

class Utf8Validator extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private valid = true;

  constructor(private readonly onInvalid: () => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.valid) this.check(() => this.decoder.decode(chunk, { stream: true }));
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.valid) this.check(() => this.decoder.decode());
    callback();
  }

  private check(decode: () => unknown): void {
    try {
      decode();
    } catch {
      this.valid = false;
      this.onInvalid();
    }
  }
}
