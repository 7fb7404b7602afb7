import { randomUUID } from 'node:crypto';
import fastifyWebsocket from '@fastify/websocket';
import {
  createChatEngine,
  createRedisLiveEvents,
  createRedisRequestCounter,
  createRequestLimiter,
  inProcessLiveEvents,
  inProcessRequestCounter,
  type RequestLimiter,
  type ChatEngine,
  type Database,
  type LiveEvents,
} from '@fixthread/core';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { fastifyTRPCPlugin, type FastifyTRPCPluginOptions } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { DestinationStream } from 'pino';
import { authFromEnv } from './auth/auth-config';
import { engineOptionsFromEnv, rateLimitFromEnv, type Env } from './env';
import { errorBody, isServerSide, toPublicError } from './errors';
import { registerRateLimit } from './limits/rate-limit';
import { logStreamOption } from './log-destination';
import { logSerializers } from './log-serializers';
import { createObservability, type Observability } from './observability/observability';
import { authRoutes } from './rest/auth-routes';
import { chatRoutes } from './rest/chat-routes';
import { healthRoute } from './rest/health-route';
import { registerOpenApi } from './rest/openapi';
import { registerWebClient } from './rest/web-client';
import { RequestLogController } from './request-logging';
import { registerCors } from './security/cors';
import { RAW_ERROR_HEADERS, registerHelmet } from './security/helmet';
import { limitRequestSizes, requestSizeServerOptions } from './security/request-size-limits';
import { WebSocketLimits } from './security/websocket-limits';
import { openServerDatabase } from './server-database';
import { logStartupSummary, serverInfoOf, startupFacts } from './startup-summary';
import { refuseInvalidUtf8Bodies } from './strict-utf8-body';
import { limitTrpcUploads } from './upload-limits';
import { corkEachTick } from './websocket-corking';
import { closeWebSocketsCleanly } from './websocket-shutdown';
import { ActiveStreams } from './trpc/active-streams';
import { appRouter, type AppRouter } from './trpc/root';
import { createContextFactory, publicErrorOf, trpcErrorShape } from './trpc/trpc';

export interface CreateServerOptions {
  env: Env;
  /** An already-open, migrated database (tests). The caller keeps ownership: `stop()` leaves it open. */
  database?: Database;
  /** Where JSON log lines go (tests capture them); stdout by default. */
  logStream?: DestinationStream;
  sseKeepAliveMs?: number;
  /** Where spans go instead of OTEL_EXPORTER_OTLP_ENDPOINT (tests: an in-memory exporter). */
  spanProcessor?: SpanProcessor;
}

export interface FixThreadServer {
  app: FastifyInstance;
  /** Listens on env HOST:PORT and resolves with the base URL (PORT 0 picks a free port). */
  start(): Promise<string>;
  /**
   * Stops accepting work and lets in-flight turns finish and be saved; turns still running after `graceMs`
   * are stopped, which saves each one's partial answer marked stopped. Then closes the database it opened.
   * Calling it again returns the same shutdown.
   */
  stop(options?: StopOptions): Promise<void>;
}

export interface StopOptions {
  /** Default: no limit, every turn finishes. */
  graceMs?: number;
}

const WS_PING_MS = 30_000;

export async function createServer(options: CreateServerOptions): Promise<FixThreadServer> {
  const { env } = options;
  const auth = authFromEnv(env);
  const database = options.database ?? (await openServerDatabase(env));
  const ownsDatabase = !options.database;
  const observability = createObservability(env, database, options.spanProcessor);
  const redisTrouble: { report: (error: Error, connection: string) => void; reportLimiter: (error: Error) => void } = {
    report: () => {},
    reportLimiter: () => {},
  };
  const live = env.REDIS_URL
    ? createRedisLiveEvents({
        url: env.REDIS_URL,
        prefix: env.REDIS_KEY_PREFIX,
        onError: (error, connection) => redisTrouble.report(error, connection),
      })
    : inProcessLiveEvents();
  const limiter = requestLimiterFromEnv(env, (error) => redisTrouble.reportLimiter(error));
  try {
    const engine = createChatEngine({
      db: database.db,
      ...engineOptionsFromEnv(env),
      databaseDeadlineMs: database.driver === 'postgres' ? env.DATABASE_TIMEOUT_MS : null,
      live,
      observer: observability.observer,
      requestLimiter: limiter,
    });
    const shutdown = { started: false };
    const app = await buildApp(options, { engine, database, live, auth, shutdown, observability, limiter });
    redisTrouble.reportLimiter = (error) =>
      app.log.warn({ err: error }, 'Redis unreachable: the rate limit is not enforced (requests are let through) until it is back');
    redisTrouble.report = (error, connection) =>
      app.log.warn(
        { err: error, connection },
        'Redis unreachable: turns still run and are saved; other instances follow them from the database until it is back',
      );
    if (auth.mode === 'dev') {
      app.log.warn(
        'DEV AUTH MODE: neither JWT_SECRET nor JWKS_URL is set, so POST /auth/dev-login signs in anyone as any ' +
          `user id (secret kept in ${env.DATA_DIR}/dev-jwt-secret). Never expose this server publicly.`,
      );
    }
    let stopping: Promise<void> | undefined;
    return {
      app,
      start: async () => logStartupSummary(app.log, await app.listen({ port: env.PORT, host: env.HOST }), startupFacts(env, database)),
      stop: ({ graceMs }: StopOptions = {}) =>
        (stopping ??= (async () => {
          shutdown.started = true;
          const deadline = graceMs === undefined ? undefined : setTimeout(() => stopTurnsInFlight(app, engine), graceMs);
          try {
            // Closing Fastify refuses new requests, lets WebSocket subscribers receive their turns' `done` before
            // closing them, and waits for in-flight responses; turns whose readers left may still be running,
            // so the engine drains after it.
            await app.close();
            await engine.drain();
            engine.close();
          } finally {
            clearTimeout(deadline);
          }
          await live.close();
          await limiter?.counter.close();
          await observability.shutdown();
          if (ownsDatabase) await database.close();
        })()),
    };
  } catch (error) {
    await live.close();
    await limiter?.counter.close();
    await observability.shutdown();
    if (ownsDatabase) await database.close();
    throw error;
  }
}

/** RATE_LIMIT_PER_MINUTE, counted in Redis when REDIS_URL is set (shared by every instance), else in process. */
function requestLimiterFromEnv(env: Env, onRedisUnavailable: (error: Error) => void): RequestLimiter | null {
  const config = rateLimitFromEnv(env);
  if (!config) return null;
  const counter = config.redis
    ? createRedisRequestCounter({ ...config.redis, onUnavailable: onRedisUnavailable })
    : inProcessRequestCounter();
  return createRequestLimiter(counter, config.perMinute);
}

/**
 * By the deadline no new turn can start (Fastify answers 503 once closing, and the WebSockets are closed), so
 * one `stopAll` reaches every turn left, queued ones included.
 */
function stopTurnsInFlight(app: FastifyInstance, engine: ChatEngine): void {
  app.log.warn('shutdown grace period over: stopping the replies still in flight and saving what they have');
  engine.stopAll();
}

/** ws's own errors for frames that break the protocol (`WS_ERR_INVALID_UTF8`, `WS_ERR_UNSUPPORTED_MESSAGE_LENGTH`…). */
function isWebSocketProtocolError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('WS_ERR_');
}

interface AppDeps {
  engine: ChatEngine;
  database: Database;
  live: LiveEvents;
  auth: ReturnType<typeof authFromEnv>;
  shutdown: { started: boolean };
  observability: Observability;
  limiter: RequestLimiter | null;
}

async function buildApp(
  options: CreateServerOptions,
  { engine, database, live, auth, shutdown, observability, limiter }: AppDeps,
): Promise<FastifyInstance> {
  const { env } = options;
  const requestSizeLimits = { maxHeaderBytes: env.MAX_HEADER_BYTES, maxUrlBytes: env.MAX_URL_BYTES };
  const app = Fastify({
    ...requestSizeServerOptions(requestSizeLimits),
    logger: {
      level: env.LOG_LEVEL,
      serializers: logSerializers,
      // The serializers log no headers; this guards against a future serializer that does.
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization'], censor: '[redacted]' },
      ...logStreamOption(env, options.logStream),
    },
    logController: new RequestLogController({ slowMs: env.SLOW_REQUEST_MS }),
    bodyLimit: env.BODY_LIMIT_BYTES,
    // A URL Fastify cannot route (bad percent-encoding) is answered before any handler or hook (helmet's
    // included); keep our error shape.
    frameworkErrors: (error, _request, reply: FastifyReply) => {
      void reply.status(400).headers(RAW_ERROR_HEADERS).send(errorBody({ status: 400, code: 'BAD_URL', message: error.message }));
    },
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
  });

  await registerHelmet(app);
  limitRequestSizes(app, requestSizeLimits);

  // Every endpoint takes JSON; a text body would otherwise reach the handlers as a string.
  app.removeContentTypeParser('text/plain');
  refuseInvalidUtf8Bodies(app);
  limitTrpcUploads(app, env.MAX_IMAGE_BYTES);

  // A tRPC client calls a procedure whose input is all optional (`chat.clear()`) with no body at all; tRPC
  // would try to parse the empty body as JSON and refuse it. No body means no input, which `{}` says.
  app.addHook('preHandler', async (request) => {
    if (request.method === 'POST' && request.url.startsWith('/trpc/') && (request.body === undefined || request.body === '')) {
      request.body = '{}';
    }
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // Fastify closes idle sockets only once, when closing starts; a reply finishing later would otherwise hold
    // its kept-alive socket, and the shutdown, for the whole keep-alive timeout.
    if (shutdown.started) reply.header('connection', 'close');
  });

  app.setErrorHandler((error, request, reply) => {
    const visible = toPublicError(error);
    if (isServerSide(visible)) request.log.error({ err: error }, 'request failed');
    if (visible.status === 401) void reply.header('www-authenticate', 'Bearer');
    if (visible.retryAfterSeconds !== undefined) void reply.header('retry-after', String(visible.retryAfterSeconds));
    // Refused before tRPC saw it (a body that is not UTF-8): tRPC clients still read a tRPC error.
    const trpcPath = /^\/trpc\/([^?]*)/.exec(request.url)?.[1];
    if (trpcPath !== undefined) return reply.status(visible.status).send({ error: trpcErrorShape(visible, trpcPath) });
    return reply.status(visible.status).send(errorBody(visible));
  });

  // After the error handler: a route takes the handler in place when it is added, and CORS adds `OPTIONS *`.
  await registerCors(app, env.CORS_ORIGINS ?? []);

  // Before any limited route is added: the plugin puts its hook on each route as it is registered.
  if (limiter) await registerRateLimit(app, limiter, auth.verify);

  const streams = new ActiveStreams();
  await app.register(fastifyWebsocket, {
    options: { maxPayload: env.BODY_LIMIT_BYTES },
    preClose: () => closeWebSocketsCleanly(app, engine, streams),
    // A client that sends a broken frame (invalid UTF-8, oversized) is closed by ws with the right code;
    // that is the client's fault, and logging it as an error would let anyone fill the error log.
    errorHandler: (error, socket, request) => {
      if (isWebSocketProtocolError(error)) request.log.info({ code: error.code }, 'WebSocket closed: invalid frame');
      else request.log.error({ err: error }, 'WebSocket failed');
      socket.terminate();
    },
  });
  app.websocketServer.on('connection', corkEachTick);
  const webSockets = new WebSocketLimits({ authTimeoutMs: env.WS_AUTH_TIMEOUT_MS, maxSubscriptions: env.WS_MAX_SUBSCRIPTIONS });
  webSockets.watch(app.websocketServer);
  observability.instrument(app, streams);
  const trpcOptions: FastifyTRPCPluginOptions<AppRouter>['trpcOptions'] = {
    router: appRouter,
    createContext: createContextFactory({
      engine,
      streams,
      shutdown,
      verify: auth.verify,
      serverInfo: serverInfoOf(startupFacts(env, database)),
      webSockets,
      limiter,
    }),
    // A limit's refusal says when to come back, over HTTP as over REST.
    responseMeta: ({ errors }) => {
      const waits = errors.flatMap((error) => publicErrorOf(error).retryAfterSeconds ?? []);
      return waits.length > 0 ? { headers: { 'retry-after': String(Math.max(...waits)) } } : {};
    },
    keepAlive: { enabled: true, pingMs: WS_PING_MS, pongWaitMs: 5_000 },
    onError({ error, path }) {
      if (isWebSocketProtocolError(error.cause)) return;
      if (isServerSide(publicErrorOf(error))) app.log.error({ err: error.cause ?? error, path }, 'tRPC call failed');
    },
  };
  await app.register(fastifyTRPCPlugin, { prefix: '/trpc', useWSS: true, trpcOptions });

  const sse = { keepAliveMs: options.sseKeepAliveMs ?? 15_000, streams: observability.sseStreams, closing: () => shutdown.started };
  await registerOpenApi(app);
  await app.register(chatRoutes, { engine, verify: auth.verify, sse, maxImageBytes: env.MAX_IMAGE_BYTES });
  await app.register(authRoutes, { auth });
  await app.register(healthRoute, { database, live });
  await registerWebClient(app, env.WEB_DIST_DIR);
  return app;
}
