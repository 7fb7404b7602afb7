import type { Database, TurnObserver } from '@fixthread/core';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { FastifyInstance } from 'fastify';
import type { Env } from '../env';
import { ActiveStreams } from '../trpc/active-streams';
import { createServerMetrics } from './metrics';
import { registerMetricsRoute } from './metrics-route';
import { startTracing } from './tracing';

export interface Observability {
  /** For the engine: turns and database work, counted. */
  observer: TurnObserver;
  /** For the SSE routes: the streams they serve, counted. */
  sseStreams: ActiveStreams;
  /**
   * Request spans, /metrics, and the WebSocket and subscription gauges. Call after @fastify/websocket is
   * registered (its server is counted, and its route wrapper must be the one this wraps) and before any route.
   */
  instrument(app: FastifyInstance, trpcStreams: ActiveStreams): void;
  /** Flushes the spans of the turns that ran; call after the engine has drained. */
  shutdown(): Promise<void>;
}

export function createObservability(env: Env, database: Database, spanProcessor?: SpanProcessor): Observability {
  const metrics = createServerMetrics(database);
  const tracing = startTracing(env, spanProcessor);
  const sseStreams = new ActiveStreams();
  metrics.countStreams('sse', sseStreams);
  return {
    observer: metrics.observer,
    sseStreams,
    instrument(app, trpcStreams) {
      tracing.instrument(app);
      metrics.countStreams('trpc', trpcStreams);
      metrics.countWebSockets(app.websocketServer);
      registerMetricsRoute(app, { registry: metrics.registry, token: env.METRICS_TOKEN, port: env.METRICS_PORT });
    },
    shutdown: () => tracing.shutdown(),
  };
}
