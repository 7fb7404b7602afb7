import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { parseSse, parseSseEvents, type SseEvent } from '@fixthread/testing';
import WebSocket from 'ws';

/**
 * Clients that put exactly the given bytes on the wire: no JSON encoding, no default content type, no
 * UTF-8 clean-up, any method. Every call is bounded by a timeout, so a server that never answers fails the
 * test ("never a hang") instead of stalling it.
 */

export const REQUEST_TIMEOUT_MS = 10_000;

export interface RawRequest {
  method: string;
  /** Path and query exactly as sent on the request line (not re-encoded). */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: Buffer;
  text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  json: unknown;
}

export function rawRequest(
  baseUrl: string,
  init: RawRequest,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const body = typeof init.body === 'string' ? Buffer.from(init.body, 'utf8') : init.body;
  const headers: Record<string, string> = { ...init.headers };
  if (body !== undefined) headers['content-length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, method: init.method, path: init.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const bytes = Buffer.concat(chunks);
          const text = bytes.toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, text, json: tryJson(text) });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`${init.method} ${init.path}: no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(body);
  });
}

export function tryJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `data:` payloads of an SSE body, each parsed as JSON (a payload that is not JSON is kept as a string). */
export async function sseEvents(text: string): Promise<unknown[]> {
  const events: unknown[] = [];
  async function* once(): AsyncGenerator<string> {
    yield text;
  }
  for await (const data of parseSse(once())) events.push(tryJson(data) ?? data);
  return events;
}

/** Every SSE event of a body, with its `event:` name (tRPC SSE uses `connected`, `serialized-error`, `return`). */
export async function sseFrames(text: string): Promise<SseEvent[]> {
  const frames: SseEvent[] = [];
  async function* once(): AsyncGenerator<string> {
    yield text;
  }
  for await (const frame of parseSseEvents(once())) frames.push(frame);
  return frames;
}

export interface WsClose {
  code: number;
  reason: string;
}

/** A parsed server frame: a tRPC response (`{id, result}` / `{id, error}`), or a string such as "PING". */
export type WsFrame =
  { id?: unknown; result?: { type?: string; data?: unknown; id?: string }; error?: TrpcErrorShape } | string;

export interface TrpcErrorShape {
  code: number;
  message: string;
  data: { code: string; httpStatus: number; errorCode?: string; path?: string; field?: string | null };
}

/**
 * A `ws` client speaking tRPC's WebSocket protocol by hand, as any non-TypeScript client would:
 * `/trpc?connectionParams=1`, then `{"method":"connectionParams","data":{...}}` as the first message.
 */
export class RawTrpcSocket {
  readonly frames: WsFrame[] = [];
  readonly closed: Promise<WsClose>;
  private readonly waiters = new Set<() => void>();
  private closeInfo: WsClose | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const text = data.toString('utf8');
      this.frames.push(isBinary ? `<binary ${text}>` : ((tryJson(text) as WsFrame | undefined) ?? text));
      this.notify();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        resolve(this.closeInfo);
        this.notify();
      });
    });
    ws.on('error', () => {
      // Surfaces as a close; an error on a socket the server dropped is not a test failure by itself.
    });
  }

  /** Opens the socket; `params` (when given) goes out as the connectionParams message. */
  static async open(
    baseUrl: string,
    params?: unknown,
    options: { connectionParams?: boolean } = {},
  ): Promise<RawTrpcSocket> {
    const wantsParams = options.connectionParams ?? params !== undefined;
    const ws = new WebSocket(
      `${baseUrl.replace(/^http/, 'ws')}/trpc${wantsParams ? '?connectionParams=1' : ''}`,
    );
    const socket = new RawTrpcSocket(ws);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('WebSocket did not open in time')), REQUEST_TIMEOUT_MS);
      ws.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    if (params !== undefined) socket.send(JSON.stringify({ method: 'connectionParams', data: params }));
    return socket;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get closeState(): WsClose | undefined {
    return this.closeInfo;
  }

  send(data: string | Buffer, options: { binary?: boolean } = {}): void {
    this.ws.send(data, { binary: options.binary ?? typeof data !== 'string' });
  }

  /** Sends one tRPC request and collects its frames until the call is over (or the socket closes). */
  async call(
    message: {
      id: number | string;
      method: string;
      params: { path: string; input?: unknown; lastEventId?: string };
    },
    timeoutMs = REQUEST_TIMEOUT_MS,
  ): Promise<WsFrame[]> {
    const start = this.frames.length;
    this.send(JSON.stringify(message));
    const mine = () => this.frames.slice(start).filter((f) => typeof f !== 'string' && f.id === message.id);
    await this.until(
      () => {
        const frames = mine();
        const last = frames.at(-1);
        if (typeof last !== 'object') return false;
        if (last.error) return true;
        if (message.method === 'subscription') return last.result?.type === 'stopped';
        return last.result?.type === 'data';
      },
      timeoutMs,
      `${message.method} ${message.params.path}`,
    );
    return mine();
  }

  /** Resolves once `done()` holds or the socket has closed; rejects after the timeout. */
  async until(done: () => boolean, timeoutMs = REQUEST_TIMEOUT_MS, what = 'frame'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done() && !this.closeInfo) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `WebSocket: no answer for ${what} within ${timeoutMs} ms; frames so far: ${JSON.stringify(this.frames).slice(0, 500)}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await Promise.race([this.closed, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    if ((this.ws.readyState as number) !== WebSocket.CLOSED) this.ws.terminate();
  }

  private notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }
}
