import { createFixThreadClient, type AppRouter } from '@fixthread/client';
import type { TRPCClient, TRPCWebSocketClient } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

export type WsClient = TRPCWebSocketClient;

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

export function connectApi(token: string): ApiConnection {
  const api = createFixThreadClient({
    // The page's own origin: the server serves the app, and Vite's dev server proxies /trpc to it.
    url: window.location.origin,
    token,
    webSocketOptions: {
      retryDelayMs: reconnectDelayMs,
      // Idle users hold no socket; the next turn opens one.
      lazy: { enabled: true, closeMs: 30_000 },
      keepAlive: { enabled: true, intervalMs: 15_000, pongTimeoutMs: 5_000 },
    },
  });
  // Browsers have a global WebSocket, so the client makes its socket client at once.
  const ws = api.webSocketClient;
  if (!ws) throw new Error('This browser has no WebSocket');
  return { token, client: api.trpc, ws, close: () => void api.close() };
}
