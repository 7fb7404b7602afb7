import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';

/** What every fake hands back: where it listens, what it saw, and how to stop it. */
export interface FakeServer<TRecord> extends AsyncDisposable {
  /** Origin without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Every request the fake handled, oldest first. Mutable so a test may clear it between phases. */
  readonly requests: TRecord[];
  close(): Promise<void>;
}

/**
 * Per-request context. `signal` aborts when the client goes away or the fake is closed, so a
 * handler that is sleeping (hang, slow stream) stops instead of writing to a dead socket or
 * keeping the process alive after the test.
 */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  readonly signal: AbortSignal;
}

export type RequestHandler = (ctx: RequestContext) => Promise<void>;

export interface HttpServerHandle {
  readonly url: string;
  close(): Promise<void>;
}

/** Listens on an ephemeral 127.0.0.1 port; a handler that throws becomes a plain 500 so a fake bug surfaces in the test. */
export async function startHttpServer(handler: RequestHandler): Promise<HttpServerHandle> {
  const shutdown = new AbortController();
  const server = createServer((req, res) => {
    const perRequest = new AbortController();
    res.on('close', () => perRequest.abort());
    const signal = AbortSignal.any([perRequest.signal, shutdown.signal]);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    handler({ req, res, url, signal }).catch((error: unknown) => {
      if (signal.aborted) return;
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`fake server error: ${error instanceof Error ? error.message : String(error)}`);
      } else {
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        shutdown.abort();
        server.close(() => resolve());
        // SDK clients keep connections alive; without this, close() would wait for their idle timeout.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Wraps a started server plus its records into the public `FakeServer` shape. */
export function toFakeServer<TRecord, TExtra extends object>(
  handle: HttpServerHandle,
  requests: TRecord[],
  extra: TExtra,
): FakeServer<TRecord> & TExtra {
  return Object.assign(extra, {
    url: handle.url,
    requests,
    close: () => handle.close(),
    [Symbol.asyncDispose]: () => handle.close(),
  });
}
