import {
  context,
  propagation,
  type ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVICE_NAME,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Env } from '../env';

export interface Tracing {
  /**
   * A span per HTTP request, active while its route's handler runs, so a turn the handler starts is its child.
   * Call before the routes are registered (their handlers are wrapped as they are added).
   */
  instrument(app: FastifyInstance): void;
  /** Exports the spans still buffered and uninstalls the SDK; call once the turns have drained. */
  shutdown(): Promise<void>;
}

/** Scrapes and probes every few seconds would bury the requests worth reading. */
const UNTRACED_ROUTES = new Set(['/metrics', '/health']);

/** A collector that is down must not hold a shutdown for the exporter's default 30 s. */
const EXPORT_TIMEOUT_MS = 5_000;

const TRACING_OFF: Tracing = { instrument: () => {}, shutdown: async () => {} };

/**
 * Tracing is on when OTEL_EXPORTER_OTLP_ENDPOINT is set (spans go there over OTLP/HTTP in batches) or a test
 * hands in its own span processor. The SDK is installed process-wide, as OpenTelemetry's API only allows, and
 * core's spans find it through `@opentelemetry/api`. Should the process already have one (a preloaded
 * OpenTelemetry setup, or another server in the same process), every span goes to that one instead.
 */
export function startTracing(env: Pick<Env, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME'>, injected?: SpanProcessor): Tracing {
  const processor = injected ?? otlpProcessor(env.OTEL_EXPORTER_OTLP_ENDPOINT);
  if (!processor) return TRACING_OFF;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME }),
    spanProcessors: [processor],
  });
  // Installs the AsyncLocalStorage context manager (what carries a span across awaits) and W3C propagation.
  provider.register();
  // Duck-typed: a second copy of @opentelemetry/api in the install would have its own ProxyTracerProvider class.
  const installed = trace.getTracerProvider() as Partial<Pick<ProxyTracerProvider, 'getDelegate'>>;
  if (installed.getDelegate?.() === provider) {
    return tracingWith(provider.getTracer('fixthread'), async () => {
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
      }
    });
  }
  void provider.shutdown();
  return tracingWith(trace.getTracer('fixthread'), async () => {}, 'OpenTelemetry was already set up in this process: spans go to that setup');
}

function tracingWith(tracer: Tracer, uninstall: () => Promise<void>, warning?: string): Tracing {
  const contexts = new WeakMap<FastifyRequest, Context>();
  let shutdown: Promise<void> | undefined;
  return {
    instrument(app) {
      if (warning) app.log.warn(warning);
      app.addHook('onRequest', async (request, reply) => {
        const route = request.routeOptions.url;
        if ((route !== undefined && UNTRACED_ROUTES.has(route)) || isWebSocketUpgrade(request)) return;
        const parent = propagation.extract(ROOT_CONTEXT, request.headers);
        const span = tracer.startSpan(
          route === undefined ? request.method : `${request.method} ${route}`,
          {
            kind: SpanKind.SERVER,
            attributes: {
              [ATTR_HTTP_REQUEST_METHOD]: request.method,
              [ATTR_URL_PATH]: request.url.split('?')[0],
              [ATTR_URL_SCHEME]: request.protocol,
              ...(route === undefined ? {} : { [ATTR_HTTP_ROUTE]: route }),
              ...(request.headers['user-agent'] ? { [ATTR_USER_AGENT_ORIGINAL]: request.headers['user-agent'] } : {}),
              'fixthread.request.id': request.id,
            },
          },
          parent,
        );
        contexts.set(request, trace.setSpan(parent, span));
        // The raw socket's close, not onResponse: streamed (hijacked) replies never reach onResponse.
        reply.raw.once('close', () => {
          const status = reply.raw.statusCode;
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR }).setAttribute('error.type', String(status));
          span.end();
        });
      });
      app.addHook('onRoute', (routeOptions) => {
        const handler = routeOptions.handler;
        routeOptions.handler = function (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
          const active = contexts.get(request);
          return active ? context.with(active, () => handler.call(this, request, reply)) : handler.call(this, request, reply);
        };
      });
    },
    shutdown: () => (shutdown ??= uninstall()),
  };
}

function otlpProcessor(endpoint: string | undefined): SpanProcessor | undefined {
  if (endpoint === undefined) return undefined;
  // The variable names the collector's base URL; each signal has its own path under it (OTLP/HTTP spec).
  const url = `${endpoint.replace(/\/+$/, '')}/v1/traces`;
  return new BatchSpanProcessor(new OTLPTraceExporter({ url, timeoutMillis: EXPORT_TIMEOUT_MS }), {
    exportTimeoutMillis: EXPORT_TIMEOUT_MS,
  });
}

/** A WebSocket lives for as long as the client stays; its messages are not requests, and its upgrade is no trace. */
function isWebSocketUpgrade(request: FastifyRequest): boolean {
  return request.headers.upgrade?.toLowerCase() === 'websocket';
}
