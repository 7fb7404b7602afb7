import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { eventIdOf, type Turn } from '@fixthread/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isServerSide, toPublicError } from '../errors';

export interface SseOptions {
  /** Comment lines at this interval keep proxies from closing a stream that is waiting on a slow tool. */
  keepAliveMs: number;
  /** Counts the streams being served (the metrics' active streams); entered as one opens, left as it ends. */
  streams?: { enter(): () => void };
  /** True once the server is shutting down: a stream ending then closes its connection. */
  closing?: () => boolean;
}

/**
 * Streams a started turn as `data: {json}\n\n` events. Called only once `startTurn` has succeeded, so
 * validation and quota errors have already gone out as JSON with a 4xx status. A client that disconnects
 * only stops the delivery; the engine finishes and saves the turn.
 */
export async function streamTurnAsSse(
  request: FastifyRequest,
  reply: FastifyReply,
  turn: Turn,
  options: SseOptions,
  afterSeq?: number,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    // nginx buffers proxied responses unless told otherwise, which would hold every token back.
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  });
  const leave = options.streams?.enter();
  const disconnected = new AbortController();
  const onClose = () => disconnected.abort();
  res.on('close', onClose);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), options.keepAliveMs);
  try {
    for await (const { event, seq } of turn.events({ signal: disconnected.signal, afterSeq })) {
      await writeEvent(res, event, disconnected.signal, eventIdOf(turn.id, seq));
    }
  } catch (error) {
    if (!disconnected.signal.aborted) await reportError(request, res, error, disconnected.signal);
  } finally {
    clearInterval(keepAlive);
    res.off('close', onClose);
    // The connection is kept alive for the client's next request (a new one per turn cost more than the turn's
    // SQL). Fastify closes idle connections once, as shutdown starts; one that goes idle later would hold the
    // shutdown for the whole keep-alive timeout, so it is closed as its stream ends.
    const socket = res.socket;
    corkForTick(res);
    res.end(() => {
      if (options.closing?.()) socket?.end();
    });
    leave?.();
  }
}

async function reportError(request: FastifyRequest, res: ServerResponse, error: unknown, signal: AbortSignal) {
  const visible = toPublicError(error);
  if (isServerSide(visible)) request.log.error({ err: error }, 'turn failed after the stream started');
  try {
    await writeEvent(res, { type: 'error', content: visible.message, code: visible.code }, signal);
  } catch {
    // The client left while we were reporting; nothing more to tell it.
  }
}

/**
 * Honours backpressure: a slow reader holds this writer, never the turn, which runs on regardless. The `id:`
 * line is what EventSource sends back as `Last-Event-ID` to resume.
 */
async function writeEvent(res: ServerResponse, event: object, signal: AbortSignal, id?: string): Promise<void> {
  const idLine = id === undefined ? '' : `id: ${id}\n`;
  corkForTick(res);
  if (res.write(`${idLine}data: ${JSON.stringify(event)}\n\n`)) return;
  await once(res, 'drain', { signal });
}

/**
 * Events written in the same tick (a turn's last tokens, its done event and the response's end, typically) go
 * out in one system call instead of one each; the response is uncorked on the next tick, so none waits for I/O.
 */
function corkForTick(res: ServerResponse): void {
  if (res.writableCorked > 0) return;
  res.cork();
  process.nextTick(() => res.uncork());
}
