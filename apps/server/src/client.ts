/**
 * The entry point for TypeScript consumers (`@fixthread/server`): the router's type and a typed client.
 * Only types come from the server, so this module is safe to bundle into a browser app.
 */
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink, type TRPCClient } from '@trpc/client';
import type { AppRouter } from './trpc/root';

export type { AppRouter };

type TokenSource = string | (() => string | Promise<string>);

export interface FixThreadClientOptions {
  /** The server's origin, e.g. `http://localhost:8000`; tRPC is served under `/trpc`. */
  url: string;
  /** The bearer JWT, or a function returning a fresh one (called per HTTP batch and per WebSocket connect). */
  token: TokenSource;
  /** Node 20 has no global WebSocket: pass the `ws` package's constructor there. */
  WebSocket?: typeof globalThis.WebSocket;
}

export interface FixThreadClient {
  trpc: TRPCClient<AppRouter>;
  /** Closes the WebSocket; HTTP calls need no cleanup. */
  close(): Promise<void>;
}

/**
 * Subscriptions (`chat.stream`) go over a WebSocket, authenticated by `connectionParams` because browsers
 * can't set headers on one; everything else goes over batched HTTP with an Authorization header.
 */
export function createFixThreadClient(options: FixThreadClientOptions): FixThreadClient {
  const base = options.url.replace(/\/+$/, '');
  const token = async () => (typeof options.token === 'function' ? options.token() : options.token);
  const wsClient = createWSClient({
    url: `${base.replace(/^http/, 'ws')}/trpc`,
    connectionParams: async () => ({ token: await token() }),
    ...(options.WebSocket ? { WebSocket: options.WebSocket } : {}),
  });
  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink<AppRouter>({ client: wsClient }),
        false: httpBatchLink({
          url: `${base}/trpc`,
          headers: async () => ({ authorization: `Bearer ${await token()}` }),
        }),
      }),
    ],
  });
  return { trpc, close: () => wsClient.close() };
}
