import { DomainError, RateLimited, UnauthorizedError, type ChatEngine, type RequestLimiter } from '@fixthread/core';
import { initTRPC, TRPCError } from '@trpc/server';
import type { CreateFastifyContextOptions } from '@trpc/server/adapters/fastify';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import WebSocket from 'ws';
import { z } from 'zod';
import { assertNotExpired, authenticateHeader } from '../auth/authenticate';
import type { AuthenticatedUser, VerifyToken } from '../auth/verify-token';
import { INTERNAL_ERROR, ServerShuttingDown, toPublicError, trpcCodeFor, type PublicError } from '../errors';
import { TooManySubscriptions } from '../security/limit-errors';
import { releasedWhenDone, type SubscriptionSlots, type WebSocketLimits } from '../security/websocket-limits';
import type { ActiveStreams } from './active-streams';
import type { ServerInfo } from './routers/server-info';

export interface Context {
  engine: ChatEngine;
  streams: ActiveStreams;
  /** Set when the server starts shutting down: sockets still open must not start new turns. */
  shutdown: { readonly started: boolean };
  user: AuthenticatedUser | null;
  /** Why `user` is null, so the procedure that needs a user can say what was wrong with the token. */
  authError: UnauthorizedError | null;
  serverInfo: ServerInfo;
  /** The subscriber's WebSocket (null over HTTP), so a stream can wait for it to drain. */
  socket: WebSocket | null;
  /** The socket's subscriptions in flight; null over HTTP, where each subscription is its own request. */
  subscriptionSlots: SubscriptionSlots | null;
  /** Over a WebSocket, calls pass no Fastify hook, so the rate limit is counted here, per call. */
  limiter: RequestLimiter | null;
}

export interface ContextDeps {
  engine: ChatEngine;
  streams: ActiveStreams;
  shutdown: { readonly started: boolean };
  verify: VerifyToken;
  serverInfo: ServerInfo;
  webSockets: WebSocketLimits;
  /** RATE_LIMIT_PER_MINUTE; null when off. */
  limiter: RequestLimiter | null;
}

/**
 * Never throws: over WebSocket a throwing createContext closes the socket, and the client would reconnect in
 * a loop instead of seeing UNAUTHORIZED. Browsers can't set headers on a WebSocket, so there the token comes
 * in `connectionParams`, a message on the socket (Node clients may set the upgrade's Authorization header
 * instead). Over HTTP it is the Authorization header only: tRPC also fills `connectionParams` from an HTTP
 * request's `?connectionParams=` query, which would put tokens in URLs, and so in access logs and proxies.
 */
export function createContextFactory({ verify, webSockets, ...deps }: ContextDeps) {
  return async ({ req, res, info }: CreateFastifyContextOptions): Promise<Context> => {
    const socket = isWebSocket(res) ? res : null;
    const authorization = socket
      ? (bearerFromConnectionParams(info.connectionParams) ?? req.headers.authorization)
      : req.headers.authorization;
    const subscriptionSlots = socket ? webSockets.subscriptionSlots() : null;
    try {
      const user = await authenticateHeader(verify, authorization);
      if (socket) webSockets.authenticated(socket);
      return { ...deps, socket, user, authError: null, subscriptionSlots };
    } catch (error) {
      const authError = error instanceof UnauthorizedError ? error : new UnauthorizedError();
      return { ...deps, socket, user: null, authError, subscriptionSlots };
    }
  };
}

/**
 * tRPC's WebSocket handler passes the socket as `res`; HTTP calls get the FastifyReply the adapter's type names.
 * `ws` is the package @fastify/websocket creates its sockets with; were they ever different copies, WebSocket
 * calls would fail as unauthorized rather than HTTP calls accept a token from the URL.
 */
function isWebSocket(res: unknown): res is WebSocket {
  return res instanceof WebSocket;
}

function bearerFromConnectionParams(params: Record<string, string | undefined> | null): string | undefined {
  const token = params?.token;
  return token === undefined ? undefined : `Bearer ${token}`;
}

const t = initTRPC.context<Context>().create({
  isDev: false,
  // `chat.stream` also works over HTTP as a tRPC SSE subscription (httpSubscriptionLink), for clients that
  // can't hold a WebSocket. Its input travels in the URL: our logs never record query strings, but proxies in
  // front may, so the WebSocket stays the recommended transport. Pings keep proxies from closing a stream
  // waiting on a slow tool; tracked ids let EventSource's reconnect resume the same turn.
  sse: {
    enabled: true,
    ping: { enabled: true, intervalMs: 15_000 },
    client: { reconnectAfterInactivityMs: 40_000 },
  },
  errorFormatter: ({ shape, error }) => trpcErrorShape(publicErrorOf(error), shape.data.path),
});

/** The error object of a tRPC response; also used for requests refused before tRPC sees them. */
export function trpcErrorShape(visible: PublicError, path: string | undefined) {
  const code = trpcCodeFor(visible);
  return {
    code: TRPC_ERROR_CODES_BY_KEY[code],
    message: visible.message,
    data: {
      code,
      httpStatus: visible.status,
      path,
      /** The same code the REST API puts in `error.code`. */
      errorCode: visible.code,
      field: visible.details?.field ?? null,
    },
  };
}

/** Our typed errors travel as the TRPCError's cause; tRPC's own client errors (bad path, bad JSON) are safe as they are. */
export function publicErrorOf(error: TRPCError): PublicError {
  const { cause } = error;
  if (
    cause instanceof DomainError ||
    cause instanceof z.ZodError ||
    cause instanceof ServerShuttingDown ||
    cause instanceof TooManySubscriptions
  ) {
    return toPublicError(cause);
  }
  if (error.code === 'INTERNAL_SERVER_ERROR') return INTERNAL_ERROR;
  return { status: getHTTPStatusCodeFromError(error), code: error.code, message: error.message };
}

export const createTRPCRouter = t.router;

/**
 * A WebSocket holds at most WS_MAX_SUBSCRIPTIONS subscriptions at once: each holds a turn's reader and its
 * buffers, so one socket could otherwise pin any amount of the server. The one over the limit is refused;
 * the others go on.
 */
const subscriptionLimit = t.middleware(async ({ ctx, type, next }) => {
  if (type !== 'subscription' || !ctx.subscriptionSlots) return next();
  let release: () => void;
  try {
    release = ctx.subscriptionSlots.take();
  } catch (error) {
    if (!(error instanceof TooManySubscriptions)) throw error;
    throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: error.message, cause: error });
  }
  const result = await next();
  if (!result.ok || !isAsyncIterable(result.data)) {
    release();
    return result;
  }
  return { ...result, data: releasedWhenDone(result.data, release) };
});

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * Handlers behind this see `ctx.userId` and never re-check it. A WebSocket call also counts against the
 * user's rate limit here (an HTTP one was counted by the Fastify hook already).
 */
export const protectedProcedure = t.procedure
  .use(async ({ ctx, next }) => {
    if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: ctx.authError?.message, cause: ctx.authError ?? undefined });
    try {
      assertNotExpired(ctx.user);
    } catch (error) {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Token expired', cause: error });
    }
    if (ctx.socket && ctx.limiter) {
      try {
        await ctx.limiter.check(ctx.user.userId);
      } catch (error) {
        if (error instanceof RateLimited) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: error.message, cause: error });
        throw error;
      }
    }
    return next({ ctx: { userId: ctx.user.userId } });
  })
  .use(subscriptionLimit);
