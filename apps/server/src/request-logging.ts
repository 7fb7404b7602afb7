import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * Fastify's request log lines, quieter: one line per request, once it is answered, at debug, since at info
 * they would drown everything else. A request worth a look is raised to warn: a server error (its cause is
 * logged at error by the error handler), or a slow answer. Streams (SSE, WebSocket) stay open as long as a
 * reply runs, so they are never "slow".
 */
export class RequestLogController extends LogController {
  constructor(private readonly options: { slowMs: number }) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const fields = { req: request, res: reply, responseTime: Math.round(reply.elapsedTime) };
    if (error) {
      reply.log.error({ ...fields, err: error }, 'request errored');
    } else if (reply.statusCode >= 500) {
      reply.log.warn(fields, 'request failed with a server error');
    } else if (reply.elapsedTime > this.options.slowMs && !isStream(request, reply)) {
      reply.log.warn({ ...fields, slowRequestMs: this.options.slowMs }, 'slow request');
    } else {
      reply.log.debug(fields, 'request completed');
    }
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'route not found');
  }
}

const EVENT_STREAM = /^content-type:\s*text\/event-stream/im;

function isStream(request: FastifyRequest, reply: FastifyReply): boolean {
  if (request.headers.upgrade?.toLowerCase() === 'websocket') return true;
  const type = reply.getHeader('content-type');
  if (typeof type === 'string') return type.startsWith('text/event-stream');
  // The REST SSE routes hijack the reply and pass their headers to `writeHead`, which keeps none of them to
  // read back; the header block it sent is still on the response (Node's `_header`, as `headersSent` reads it).
  const sent = (reply.raw as unknown as { _header?: unknown })._header;
  return typeof sent === 'string' && EVENT_STREAM.test(sent);
}
