import type { ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyInstance } from 'fastify';
import { errorBody, toPublicError, type PublicError } from '../errors';
import { RAW_ERROR_HEADERS } from './helmet';
import { HeadersTooLarge, UrlTooLong } from './limit-errors';

export interface RequestSizeLimits {
  maxHeaderBytes: number;
  maxUrlBytes: number;
}

/**
 * Node's parser counts the request line into its `maxHeaderSize`, so it is given room for both limits and
 * refuses only what is beyond either; `limitRequestSizes` then holds each to its own limit, so a long URL is
 * a 414 and a large header block a 431. What Node refuses never becomes a request: it is answered on the
 * socket here, in the API's error shape rather than Fastify's default body.
 */
export function requestSizeServerOptions(limits: RequestSizeLimits): {
  http: ServerOptions;
  clientErrorHandler: (error: ConnectionError, socket: Socket) => void;
} {
  return {
    http: { maxHeaderSize: limits.maxHeaderBytes + limits.maxUrlBytes },
    clientErrorHandler(error, socket) {
      // A reset connection has no one to answer.
      if (error.code === 'ECONNRESET' || socket.destroyed) return;
      if (!socket.writable) return void socket.destroy();
      // Destroyed once the answer is flushed: the client may still be sending the rest of its request.
      socket.end(rawResponse(clientErrorOf(error, limits)), () => socket.destroy());
    },
  };
}

function clientErrorOf(error: ConnectionError, limits: RequestSizeLimits): PublicError {
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return toPublicError(requestLineOverflowed(error.rawPacket, limits) ? new UrlTooLong(limits.maxUrlBytes) : new HeadersTooLarge(limits.maxHeaderBytes));
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, code: 'REQUEST_TIMEOUT', message: 'The request took too long to arrive' };
  return { status: 400, code: 'BAD_REQUEST', message: 'Malformed HTTP request' };
}

/**
 * The parser does not say which part overflowed; the data it choked on does when it starts with the request
 * line and that line runs past the URL limit.
 */
function requestLineOverflowed(packet: unknown, limits: RequestSizeLimits): boolean {
  if (!Buffer.isBuffer(packet) || !/^[A-Z]+ /.test(packet.subarray(0, 16).toString('latin1'))) return false;
  const lineEnd = packet.indexOf('\r\n');
  return lineEnd === -1 || lineEnd > limits.maxUrlBytes;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
};

function rawResponse(visible: PublicError): string {
  const body = JSON.stringify(errorBody(visible));
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    connection: 'close',
    ...RAW_ERROR_HEADERS,
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${visible.status} ${REASONS[visible.status] ?? 'Error'}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * The URL and the header block, each against its own limit, before any route runs (404s and WebSocket
 * upgrades included). Header bytes are counted as they arrived: `name: value` and CRLF per line.
 */
export function limitRequestSizes(app: FastifyInstance, limits: RequestSizeLimits): void {
  app.addHook('onRequest', async (request) => {
    if (Buffer.byteLength(request.raw.url ?? '') > limits.maxUrlBytes) throw new UrlTooLong(limits.maxUrlBytes);
    if (headerBlockBytes(request.raw.rawHeaders) > limits.maxHeaderBytes) throw new HeadersTooLarge(limits.maxHeaderBytes);
  });
}

function headerBlockBytes(rawHeaders: string[]): number {
  let bytes = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) bytes += Buffer.byteLength(rawHeaders[i]!) + Buffer.byteLength(rawHeaders[i + 1]!) + 4;
  return bytes;
}
