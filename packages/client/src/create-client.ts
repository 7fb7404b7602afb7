import {
  createTRPCClient,
  createWSClient,
  httpBatchLink,
  httpLink,
  isNonJsonSerializable,
  splitLink,
  wsLink,
  type TRPCClient,
  type TRPCLink,
  type TRPCWebSocketClient,
  type WebSocketClientOptions,
} from '@trpc/client';
import type { AppRouter } from './app-router.js';
import { deferredLink } from './deferred-link.js';
import { globalWebSocket, loadWsPackage, type WebSocketImplementation } from './web-socket.js';

/** The bearer JWT, or a function returning a fresh one (called per HTTP batch and per WebSocket connect). */
export type TokenSource = string | (() => string | Promise<string>);

/**
 * tRPC's WebSocket client settings that a caller may tune (the URL, the token and the implementation come
 * from the client's options). `lazy` defaults to opening the socket for the first subscription and closing
 * it after 5 s without traffic.
 */
export type WebSocketOptions = Pick<WebSocketClientOptions, 'retryDelayMs' | 'lazy' | 'keepAlive' | 'onOpen' | 'onError' | 'onClose'>;

export interface FixThreadClientOptions {
  /** The server's origin, e.g. `http://localhost:8000` (in a browser served by it, `location.origin`); tRPC is under `/trpc`. */
  url: string;
  token: TokenSource;
  /**
   * The WebSocket for streamed turns. By default the runtime's own; on Node 20, which has none, the `ws`
   * package is loaded when the first subscription starts. Queries and mutations never need one.
   */
  WebSocket?: WebSocketImplementation;
  webSocketOptions?: WebSocketOptions;
}

export interface FixThreadClient {
  trpc: TRPCClient<AppRouter>;
  /**
   * tRPC's WebSocket client, e.g. for its `connectionState`. It exists from the start where a WebSocket
   * implementation is at hand (browsers, Node 22+, the `WebSocket` option); on Node 20 without one, from the
   * first subscription on.
   */
  readonly webSocketClient: TRPCWebSocketClient | undefined;
  /** Closes the WebSocket now, if one is open; HTTP calls need no cleanup. */
  close(): Promise<void>;
}

/**
 * The socket opens for the first subscription and closes once none has had traffic for this long, so a
 * client that only queries holds no socket, and a script that forgets `close()` still exits soon after.
 */
const IDLE_SOCKET = { enabled: true, closeMs: 5_000 };

/**
 * Subscriptions (`chat.stream` and the like) go over a WebSocket, authenticated by `connectionParams`
 * because browsers can't set headers on one; an upload (`chat.upload` with FormData) goes alone over HTTP as
 * multipart/form-data, since a batch is JSON; everything else goes over batched HTTP. HTTP calls carry an
 * Authorization header.
 */
export function createFixThreadClient(options: FixThreadClientOptions): FixThreadClient {
  const base = options.url.replace(/\/+$/, '');
  const token = async () => (typeof options.token === 'function' ? options.token() : options.token);
  let webSocketClient: TRPCWebSocketClient | undefined;
  let closed = false;

  const webSocketLink = (WebSocket: WebSocketImplementation): TRPCLink<AppRouter> => {
    webSocketClient = createWSClient({
      lazy: IDLE_SOCKET,
      ...options.webSocketOptions,
      url: `${base.replace(/^http/, 'ws')}/trpc`,
      connectionParams: async () => ({ token: await token() }),
      // tRPC types this as the DOM's WebSocket; it uses only what WebSocketImplementation describes.
      WebSocket: WebSocket as unknown as WebSocketClientOptions['WebSocket'],
    });
    return wsLink<AppRouter>({ client: webSocketClient });
  };
  const available = options.WebSocket ?? globalWebSocket();
  const subscriptions = available
    ? webSocketLink(available)
    : deferredLink<AppRouter>(async () => {
        const WebSocket = await loadWsPackage();
        if (closed) throw new Error('This FixThread client was closed.');
        return webSocketLink(WebSocket);
      });

  const http = { url: `${base}/trpc`, headers: async () => ({ authorization: `Bearer ${await token()}` }) };
  const trpc = createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (operation) => operation.type === 'subscription',
        true: subscriptions,
        false: splitLink({
          condition: (operation) => isNonJsonSerializable(operation.input),
          true: httpLink(http),
          false: httpBatchLink(http),
        }),
      }),
    ],
  });
  return {
    trpc,
    get webSocketClient() {
      return webSocketClient;
    },
    close: async () => {
      closed = true;
      await webSocketClient?.close();
    },
  };
}
