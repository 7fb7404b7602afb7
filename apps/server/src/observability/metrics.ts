import type { Database, TurnObserver, TurnOutcome } from '@fixthread/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const TURN_OUTCOMES: TurnOutcome[] = ['completed', 'stopped', 'failed', 'interrupted'];

/** From a fast first token on a warm model to a slow tool round before any text. */
const TTFT_BUCKETS_SECONDS = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30];
const TURN_DURATION_BUCKETS_SECONDS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120];

/** Anything whose current count is read at each scrape (ActiveStreams). */
export interface Sized {
  readonly size: number;
}

export interface ServerMetrics {
  /** This server's own registry, not prom-client's global one: two servers in one process stay apart. */
  registry: Registry;
  /** Handed to the engine, which calls it as turns run. */
  observer: TurnObserver;
  /** Streams (SSE responses, tRPC subscriptions) being served, counted at each scrape. */
  countStreams(transport: 'sse' | 'trpc', streams: Sized): void;
  /** The WebSocket server's open connections, and how many it has accepted. */
  countWebSockets(server: WebSocketServerLike): void;
}

export interface WebSocketServerLike {
  readonly clients: Sized;
  on(event: 'connection', listener: () => void): unknown;
}

/**
 * Every metric is prefixed `fixthread_`. The database pool: postgres.js does not expose its connections in
 * use, so what is reported is what is known for certain, the configured maximum and the engine's database
 * operations waiting for an answer; the embedded PGlite runs one statement at a time (a maximum of 1), so
 * there the operations in flight beyond one are its queue.
 */
export function createServerMetrics(database: Pick<Database, 'db' | 'driver'>): ServerMetrics {
  const registry = new Registry();
  const registers = [registry];
  // Includes fixthread_nodejs_eventloop_lag_seconds and its percentiles.
  collectDefaultMetrics({ register: registry, prefix: 'fixthread_' });

  const turns = new Counter({ name: 'fixthread_turns_total', help: 'Turns ended, by outcome.', labelNames: ['outcome'], registers });
  for (const outcome of TURN_OUTCOMES) turns.inc({ outcome }, 0);
  const running = new Gauge({ name: 'fixthread_turns_running', help: 'Turns this instance is running now.', registers });
  const firstToken = new Histogram({
    name: 'fixthread_turn_time_to_first_token_seconds',
    help: 'From the question being stored to the first answer token being published to readers.',
    buckets: TTFT_BUCKETS_SECONDS,
    registers,
  });
  const duration = new Histogram({
    name: 'fixthread_turn_duration_seconds',
    help: 'From the question being stored to the turn ending, by outcome.',
    labelNames: ['outcome'],
    buckets: TURN_DURATION_BUCKETS_SECONDS,
    registers,
  });
  for (const outcome of TURN_OUTCOMES) duration.zero({ outcome });
  const streamedTokens = new Counter({
    name: 'fixthread_streamed_tokens_total',
    help: 'Answer tokens (tokenizer count of the text) streamed to readers, counted as each turn ends.',
    registers,
  });
  const usageTokens = new Counter({
    name: 'fixthread_usage_tokens_total',
    help: 'Tokens charged for turns: kind="reported" as the provider reported them, "estimated" where it reported nothing.',
    labelNames: ['kind'],
    registers,
  });
  for (const kind of ['reported', 'estimated']) usageTokens.inc({ kind }, 0);

  const streams = new Map<string, Sized>();
  new Gauge({
    name: 'fixthread_active_streams',
    help: 'Turn streams being served now, by transport (sse, trpc).',
    labelNames: ['transport'],
    registers,
    collect() {
      for (const [transport, counted] of streams) this.set({ transport }, counted.size);
    },
  });
  let webSockets: Sized = { size: 0 };
  new Gauge({
    name: 'fixthread_websocket_connections',
    help: 'WebSocket connections open now.',
    registers,
    collect() {
      this.set(webSockets.size);
    },
  });
  const webSocketsOpened = new Counter({
    name: 'fixthread_websocket_connections_opened_total',
    help: 'WebSocket connections accepted.',
    registers,
  });

  const driver = { driver: database.driver };
  const poolMax = new Gauge({
    name: 'fixthread_db_pool_max_connections',
    help: 'Connections the database pool may open (PGlite: one, it runs one statement at a time).',
    labelNames: ['driver'],
    registers,
  });
  poolMax.set(driver, maxConnections(database));
  const inFlight = new Gauge({
    name: 'fixthread_db_operations_in_flight',
    help: "The engine's database operations waiting for an answer now.",
    labelNames: ['driver'],
    registers,
  });
  inFlight.set(driver, 0);

  const observer: TurnObserver = {
    turnStarted: () => running.inc(),
    firstToken: (ms) => firstToken.observe(ms / 1000),
    turnEnded: (outcome, summary) => {
      running.dec();
      turns.inc({ outcome });
      duration.observe({ outcome }, summary.durationMs / 1000);
      streamedTokens.inc(summary.streamedTokens);
      usageTokens.inc({ kind: summary.usage.estimated ? 'estimated' : 'reported' }, summary.usage.total_tokens);
    },
    databaseOperationStarted: () => {
      inFlight.inc(driver);
      return () => inFlight.dec(driver);
    },
  };

  return {
    registry,
    observer,
    countStreams: (transport, counted) => {
      streams.set(transport, counted);
    },
    countWebSockets: (server) => {
      webSockets = server.clients;
      server.on('connection', () => webSocketsOpened.inc());
    },
  };
}

/** postgres.js keeps its options on the client drizzle wraps; PGlite is a single connection. */
function maxConnections(database: Pick<Database, 'db' | 'driver'>): number {
  if (database.driver === 'pglite') return 1;
  const max = (database.db as { $client?: { options?: { max?: unknown } } }).$client?.options?.max;
  return typeof max === 'number' ? max : Number.NaN;
}
