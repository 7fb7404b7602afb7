import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import type { ChatEngineOptions, WebSearchOptions } from '@fixthread/core';
import { DEFAULT_IMAGE_LIMITS, DEFAULT_SYSTEM_PROMPT } from '@fixthread/core';
import { workspaceRoot } from './workspace-root';

/**
 * The only reader of `process.env`. Empty values count as unset, so a blank line in a `.env` file means
 * "use the default" rather than "invalid".
 */
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: integer(0, 65_535).default(8000),
  /**
   * Loopback outside production so a dev server (with its dev-login endpoint) is not reachable from the
   * network by accident; all interfaces in production, where the server usually runs in a container.
   */
  HOST: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `pretty`: human-readable lines (pino-pretty); `json`: one JSON object a line. Unset: pretty only in development on a terminal. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  /** Requests are logged at debug; one slower than this (streams aside, long by design) at warn. */
  SLOW_REQUEST_MS: integer(1).default(1_000),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// connection string' }).optional(),
  /**
   * Several instances on one database: they share live turn events (Redis Streams) and stops (pub/sub)
   * through it. Unset: one instance, everything live stays in process.
   */
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  /** Prefix of every Redis key and channel, so several deployments can share one Redis. */
  REDIS_KEY_PREFIX: z.string().min(1).max(64).default('fixthread:'),
  /** Relative paths are taken from the workspace root, like the default. */
  DATA_DIR: z.string().min(1).optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: httpUrl.optional(),
  OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
  /** The SDK's own retries (429, 5xx, dropped connections) before a turn fails with 503. */
  OPENAI_MAX_RETRIES: integer(0, 10).default(2),
  OPENAI_TIMEOUT_MS: integer(1000).default(60_000),
  SYSTEM_PROMPT: z.string().min(1).default(DEFAULT_SYSTEM_PROMPT),
  MAX_CONTEXT_TOKENS: integer(256).default(8000),
  MAX_MESSAGE_CHARS: integer(1).default(8000),
  BODY_LIMIT_BYTES: integer(1024).default(64 * 1024),
  /**
   * Largest photo upload (the file's own bytes), refused before anything is decoded. An upload is held in
   * memory whole while it is checked, hence the ceiling.
   */
  MAX_IMAGE_BYTES: integer(1024, 100 * 1024 * 1024).default(10 * 1024 * 1024),
  IFIXIT_API_URL: httpUrl.default('https://www.ifixit.com/api/2.0'),
  /** A SearXNG instance; with TAVILY_API_KEY it instead overrides Tavily's endpoint. */
  WEB_SEARCH_URL: httpUrl.optional(),
  TAVILY_API_KEY: z.string().min(1).optional(),
  TOOL_TIMEOUT_MS: integer(100).default(8000),
  MAX_TOOL_ROUNDS: integer(0, 20).default(4),
  /**
   * How a thread is named after its first answer: `model` (a short, charged model call) or `heuristic` (the
   * question's first words). Without a model it is always `heuristic`.
   */
  THREAD_TITLES: z.enum(['model', 'heuristic']).default('model'),
  /** Lifetime tokens per user; unset means unlimited. */
  TOKEN_QUOTA: integer(1).optional(),
  /** Tokens per user per UTC day, beside the lifetime TOKEN_QUOTA; unset means unlimited. */
  DAILY_TOKEN_QUOTA: integer(1).optional(),
  /**
   * Requests per user per minute across every route and transport (Redis-backed, so shared by every instance,
   * when REDIS_URL is set); unset means unlimited.
   */
  RATE_LIMIT_PER_MINUTE: integer(1).optional(),
  /** Browser origins allowed to call the API cross-origin, comma-separated (`https://a.example,https://b.example`); unset: none. */
  CORS_ORIGINS: z
    .string()
    .transform((value) => value.split(',').map((origin) => origin.trim()).filter(Boolean))
    .pipe(z.array(z.url({ protocol: /^https?$/, error: 'each origin must be an http(s) URL' })))
    .optional(),
  /** A WebSocket that has not authenticated by then is closed (1008, "Not authenticated in time"). */
  WS_AUTH_TIMEOUT_MS: integer(100, 600_000).default(10_000),
  /** Subscriptions (streamed turns, exports) one WebSocket may have open at once; one more is refused with 429. */
  WS_MAX_SUBSCRIPTIONS: integer(1, 1_000).default(16),
  /** Largest request header block; beyond it the request is refused with a JSON 431. */
  MAX_HEADER_BYTES: integer(1024, 1024 * 1024).default(16 * 1024),
  /** Longest request URL (path and query); beyond it the request is refused with a JSON 414. */
  MAX_URL_BYTES: integer(256, 1024 * 1024).default(8 * 1024),
  /** HS256 secret, used as-is (a Supabase project's JWT secret works unchanged). */
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  JWT_ISSUER: z.string().min(1).optional(),
  JWKS_URL: httpUrl.optional(),
  WEB_DIST_DIR: z.string().min(1).optional(),
  /**
   * How long a shutdown lets replies in flight finish; then they are stopped and saved with what they have.
   * Keep it about 10 s under the orchestrator's own limit (Kubernetes: 30 s) to leave time for those saves.
   */
  SHUTDOWN_GRACE_MS: integer(0).default(20_000),
  /** Postgres only: a database operation that has not answered by then fails with 503 DATABASE_UNAVAILABLE. */
  DATABASE_TIMEOUT_MS: integer(100, 60_000).default(1_000),
  /** Serves GET /metrics on the main port to scrapers that send it as `Authorization: Bearer …`. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Serves /metrics without a token on this port of 127.0.0.1 only, for an agent on the same host. */
  METRICS_PORT: integer(1, 65_535).optional(),
  /** OTLP/HTTP collector base URL (spans go to `<url>/v1/traces`); unset, nothing is traced. */
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('fixthread'),
});

type RawEnv = z.infer<typeof schema>;

export interface Env extends Omit<RawEnv, 'HOST' | 'DATA_DIR' | 'WEB_DIST_DIR'> {
  HOST: string;
  /** Absolute. */
  DATA_DIR: string;
  /** Absolute. */
  WEB_DIST_DIR: string;
}

export class EnvError extends Error {
  constructor(readonly problems: { variable: string; problem: string }[]) {
    super(
      'Invalid environment configuration:\n' +
        problems.map(({ variable, problem }) => `  ${variable}: ${problem}`).join('\n'),
    );
    this.name = 'EnvError';
  }
}

export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const present = Object.fromEntries(
    Object.keys(schema.shape).map((key) => [key, source[key] === '' ? undefined : source[key]]),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new EnvError(
      parsed.error.issues.map((issue) => ({ variable: String(issue.path[0] ?? '(env)'), problem: issue.message })),
    );
  }
  const raw = parsed.data;
  if (raw.NODE_ENV === 'production' && !raw.JWT_SECRET && !raw.JWKS_URL) {
    throw new EnvError([
      {
        variable: 'JWT_SECRET',
        problem:
          'authentication is not configured: set JWT_SECRET or JWKS_URL (JWT_SECRET takes an HS256 secret such as ' +
          "the Supabase project's JWT secret). Dev sign-in is disabled when NODE_ENV=production, so the server refuses to start.",
      },
    ]);
  }
  if (raw.METRICS_PORT !== undefined && raw.METRICS_PORT === raw.PORT) {
    throw new EnvError([{ variable: 'METRICS_PORT', problem: 'must differ from PORT (the main port serves /metrics only with METRICS_TOKEN)' }]);
  }
  const root = workspaceRoot();
  const fromRoot = (path: string) => (isAbsolute(path) ? path : resolve(root, path));
  return {
    ...raw,
    HOST: raw.HOST ?? (raw.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1'),
    DATA_DIR: fromRoot(raw.DATA_DIR ?? '.data'),
    WEB_DIST_DIR: fromRoot(raw.WEB_DIST_DIR ?? join('apps', 'web', 'dist')),
  };
}

/**
 * Engine settings from the environment. An LLM is configured by a key or by a base URL alone, since local
 * OpenAI-compatible servers (Ollama, llama.cpp) ignore the key; with neither, core's offline responder answers.
 */
export function engineOptionsFromEnv(env: Env): Omit<ChatEngineOptions, 'db'> {
  const llm =
    env.OPENAI_API_KEY || env.OPENAI_BASE_URL
      ? {
          apiKey: env.OPENAI_API_KEY ?? 'unused',
          baseURL: env.OPENAI_BASE_URL,
          model: env.OPENAI_MODEL,
          maxRetries: env.OPENAI_MAX_RETRIES,
          timeoutMs: env.OPENAI_TIMEOUT_MS,
        }
      : null;
  return {
    llm,
    systemPrompt: env.SYSTEM_PROMPT,
    maxContextTokens: env.MAX_CONTEXT_TOKENS,
    maxMessageChars: env.MAX_MESSAGE_CHARS,
    tools: {
      ifixitApiUrl: env.IFIXIT_API_URL,
      webSearch: webSearchFromEnv(env),
      timeoutMs: env.TOOL_TIMEOUT_MS,
      maxRounds: env.MAX_TOOL_ROUNDS,
      userAgent: 'FixThread/1.0 (repair assistant)',
    },
    tokenQuota: env.TOKEN_QUOTA ?? null,
    dailyTokenQuota: env.DAILY_TOKEN_QUOTA ?? null,
    titles: env.THREAD_TITLES,
    imageLimits: { ...DEFAULT_IMAGE_LIMITS, maxBytes: env.MAX_IMAGE_BYTES },
  };
}

/** RATE_LIMIT_PER_MINUTE, and where its counts live: Redis when REDIS_URL is set, so every instance shares them. */
export function rateLimitFromEnv(env: Env): { perMinute: number; redis: { url: string; prefix: string } | null } | null {
  if (env.RATE_LIMIT_PER_MINUTE === undefined) return null;
  return { perMinute: env.RATE_LIMIT_PER_MINUTE, redis: env.REDIS_URL ? { url: env.REDIS_URL, prefix: env.REDIS_KEY_PREFIX } : null };
}

function webSearchFromEnv(env: Env): WebSearchOptions | null {
  if (env.TAVILY_API_KEY) return { provider: 'tavily', apiKey: env.TAVILY_API_KEY, url: env.WEB_SEARCH_URL };
  if (env.WEB_SEARCH_URL) return { provider: 'searxng', url: env.WEB_SEARCH_URL };
  return null;
}

export function pgliteDir(env: Env): string {
  return join(env.DATA_DIR, 'pglite');
}
