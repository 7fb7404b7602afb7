import type { AppRouter } from '@fixthread/server/router';
import { createTRPCClient, createWSClient, httpBatchLink, splitLink, wsLink, type TRPCClient } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export type WsClient = ReturnType<typeof createWSClient>;

/** One signed-in user's link to the API: HTTP for queries and mutations, a WebSocket for streamed turns. */
export interface ApiConnection {
  /** The bearer token, for the REST calls tRPC doesn't cover (downloads). */
  token: string;
  client: TRPCClient<AppRouter>;
  ws: WsClient;
  close: () => void;
}

/** Reconnect quickly at first, then back off to at most 10 s between attempts. */
function reconnectDelayMs(attempt: number): number {
  return Math.min(500 * 2 ** attempt, 10_000);
}

function webSocketUrl(path: string): string {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${window.location.host}${path}`;
}

export function connectApi(token: string): ApiConnection {
  const ws = createWSClient({
    url: webSocketUrl('/trpc'),
    connectionParams: () => ({ token }),
    retryDelayMs: reconnectDelayMs,
    // Idle users hold no socket; the next turn opens one.
    lazy: { enabled: true, closeMs: 30_000 },
    keepAlive: { enabled: true, intervalMs: 15_000, pongTimeoutMs: 5_000 },
  });
  const client = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: wsLink({ client: ws }),
        false: httpBatchLink({ url: '/trpc', headers: () => ({ Authorization: `Bearer ${token}` }) }),
      }),
    ],
  });
  return { token, client, ws, close: () => void ws.close() };
}
