import { join } from 'node:path';
import { DEFAULT_IMAGE_LIMITS, DEFAULT_SYSTEM_PROMPT } from '@fixthread/core';
import { describe, expect, it } from 'vitest';
import { engineOptionsFromEnv, EnvError, loadEnv, rateLimitFromEnv } from './env';
import { workspaceRoot } from './workspace-root';
import { logsArePretty } from './log-destination';

const SECRET = 'x'.repeat(32);

function problemsOf(source: Record<string, string>): string[] {
  try {
    loadEnv(source);
  } catch (error) {
    if (error instanceof EnvError) return error.problems.map((p) => p.variable);
    throw error;
  }
  throw new Error('loadEnv accepted the environment');
}

describe('loadEnv', () => {
  it('applies the documented defaults', () => {
    const env = loadEnv({});
    const root = workspaceRoot();
    expect(env).toMatchObject({
      NODE_ENV: 'development',
      PORT: 8000,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      OPENAI_MODEL: 'gpt-4o-mini',
      SYSTEM_PROMPT: DEFAULT_SYSTEM_PROMPT,
      MAX_CONTEXT_TOKENS: 8000,
      MAX_MESSAGE_CHARS: 8000,
      BODY_LIMIT_BYTES: 65_536,
      IFIXIT_API_URL: 'https://www.ifixit.com/api/2.0',
      TOOL_TIMEOUT_MS: 8000,
      MAX_TOOL_ROUNDS: 4,
      SHUTDOWN_GRACE_MS: 20_000,
      DATA_DIR: join(root, '.data'),
      WEB_DIST_DIR: join(root, 'apps', 'web', 'dist'),
    });
    expect(env.TOKEN_QUOTA).toBeUndefined();
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('finds the workspace root by its pnpm-workspace.yaml', () => {
    expect(workspaceRoot()).toBe(join(import.meta.dirname, '..', '..', '..'));
  });

  it('binds all interfaces in production and loopback otherwise', () => {
    expect(loadEnv({ NODE_ENV: 'production', JWT_SECRET: SECRET }).HOST).toBe('0.0.0.0');
    expect(loadEnv({ NODE_ENV: 'test' }).HOST).toBe('127.0.0.1');
    expect(loadEnv({ HOST: '::' }).HOST).toBe('::');
  });

  it('treats empty values as unset', () => {
    expect(loadEnv({ PORT: '', OPENAI_API_KEY: '' })).toMatchObject({ PORT: 8000, OPENAI_API_KEY: undefined });
  });

  it('resolves relative DATA_DIR and WEB_DIST_DIR from the workspace root, keeps absolute ones', () => {
    const env = loadEnv({ DATA_DIR: 'var/data', WEB_DIST_DIR: '/srv/web' });
    expect(env.DATA_DIR).toBe(join(workspaceRoot(), 'var', 'data'));
    expect(env.WEB_DIST_DIR).toBe('/srv/web');
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'verbose'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['OPENAI_BASE_URL', 'not a url'],
    ['MAX_MESSAGE_CHARS', '0'],
    ['MAX_CONTEXT_TOKENS', '-5'],
    ['BODY_LIMIT_BYTES', '1.5'],
    ['TOKEN_QUOTA', 'lots'],
    ['TOOL_TIMEOUT_MS', '10'],
    ['JWT_SECRET', 'short'],
    ['JWKS_URL', 'ftp://keys.example.com'],
  ])('names the variable when %s=%j is invalid', (variable, value) => {
    expect(problemsOf({ [variable]: value })).toEqual([variable]);
  });

  it('reports every bad variable at once, in a message that names them', () => {
    try {
      loadEnv({ PORT: 'x', TOKEN_QUOTA: 'y' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(EnvError);
      expect((error as Error).message).toMatch(/PORT: /);
      expect((error as Error).message).toMatch(/TOKEN_QUOTA: /);
    }
  });

  it('refuses production without JWT_SECRET or JWKS_URL', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual(['JWT_SECRET']);
    expect(() => loadEnv({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET or JWKS_URL/);
    expect(() => loadEnv({ NODE_ENV: 'production', JWKS_URL: 'https://auth.example.com/jwks.json' })).not.toThrow();
  });

  it('never echoes a secret value in its message', () => {
    expect(() => loadEnv({ JWT_SECRET: 'tiny-secret' })).toThrow(expect.objectContaining({ message: expect.not.stringContaining('tiny-secret') as string }) as Error);
  });
});

describe('rateLimitFromEnv', () => {
  it('is off unless RATE_LIMIT_PER_MINUTE is set', () => {
    expect(rateLimitFromEnv(loadEnv({ REDIS_URL: 'redis://127.0.0.1:6379' }))).toBeNull();
  });

  it('counts in process without Redis, and in Redis under REDIS_KEY_PREFIX with it', () => {
    expect(rateLimitFromEnv(loadEnv({ RATE_LIMIT_PER_MINUTE: '30' }))).toEqual({ perMinute: 30, redis: null });
    expect(
      rateLimitFromEnv(loadEnv({ RATE_LIMIT_PER_MINUTE: '30', REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: 'a:' })),
    ).toEqual({ perMinute: 30, redis: { url: 'redis://127.0.0.1:6379', prefix: 'a:' } });
  });

  it('refuses a limit that is not a positive whole number', () => {
    expect(() => loadEnv({ RATE_LIMIT_PER_MINUTE: '0' })).toThrow(/RATE_LIMIT_PER_MINUTE/);
    expect(() => loadEnv({ DAILY_TOKEN_QUOTA: '1.5' })).toThrow(/DAILY_TOKEN_QUOTA/);
  });
});

describe('engineOptionsFromEnv', () => {
  it('maps the environment onto the engine settings', () => {
    const env = loadEnv({
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'http://localhost:11434/v1',
      OPENAI_MODEL: 'llama3.1',
      OPENAI_MAX_RETRIES: '0',
      OPENAI_TIMEOUT_MS: '5000',
      SYSTEM_PROMPT: 'Be brief.',
      MAX_CONTEXT_TOKENS: '4000',
      MAX_MESSAGE_CHARS: '500',
      IFIXIT_API_URL: 'http://ifixit.test/api/2.0',
      WEB_SEARCH_URL: 'http://searxng.test',
      TOOL_TIMEOUT_MS: '2000',
      MAX_TOOL_ROUNDS: '2',
      TOKEN_QUOTA: '100000',
      DAILY_TOKEN_QUOTA: '20000',
    });
    expect(engineOptionsFromEnv(env)).toEqual({
      llm: { apiKey: 'sk-test', baseURL: 'http://localhost:11434/v1', model: 'llama3.1', maxRetries: 0, timeoutMs: 5000 },
      systemPrompt: 'Be brief.',
      maxContextTokens: 4000,
      maxMessageChars: 500,
      tools: {
        ifixitApiUrl: 'http://ifixit.test/api/2.0',
        webSearch: { provider: 'searxng', url: 'http://searxng.test' },
        timeoutMs: 2000,
        maxRounds: 2,
        userAgent: expect.stringContaining('FixThread') as string,
      },
      tokenQuota: 100_000,
      dailyTokenQuota: 20_000,
      titles: 'model',
      imageLimits: { ...DEFAULT_IMAGE_LIMITS, maxBytes: 10 * 1024 * 1024 },
    });
  });

  it('uses the offline responder when neither a key nor a base URL is set', () => {
    expect(engineOptionsFromEnv(loadEnv({})).llm).toBeNull();
    expect(engineOptionsFromEnv(loadEnv({})).tokenQuota).toBeNull();
    expect(engineOptionsFromEnv(loadEnv({})).dailyTokenQuota).toBeNull();
    expect(engineOptionsFromEnv(loadEnv({})).tools.webSearch).toBeNull();
  });

  it('configures a keyless local model from OPENAI_BASE_URL alone', () => {
    expect(engineOptionsFromEnv(loadEnv({ OPENAI_BASE_URL: 'http://localhost:11434/v1' })).llm).toMatchObject({
      baseURL: 'http://localhost:11434/v1',
      model: 'gpt-4o-mini',
    });
  });

  it('prefers Tavily when its key is set', () => {
    const env = loadEnv({ TAVILY_API_KEY: 'tvly-1' });
    expect(engineOptionsFromEnv(env).tools.webSearch).toEqual({ provider: 'tavily', apiKey: 'tvly-1', url: undefined });
  });
});

describe('loadEnv: metrics and tracing', () => {
  it('serves no metrics and traces nothing by default, and names the service fixthread', () => {
    const env = loadEnv({});
    expect(env.METRICS_TOKEN).toBeUndefined();
    expect(env.METRICS_PORT).toBeUndefined();
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    expect(env.OTEL_SERVICE_NAME).toBe('fixthread');
  });

  it('reads the metrics token and port, the OTLP endpoint and the service name', () => {
    expect(
      loadEnv({
        METRICS_TOKEN: 'a-long-enough-scrape-token',
        METRICS_PORT: '9464',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_SERVICE_NAME: 'fixthread-eu',
      }),
    ).toMatchObject({
      METRICS_TOKEN: 'a-long-enough-scrape-token',
      METRICS_PORT: 9464,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_SERVICE_NAME: 'fixthread-eu',
    });
  });

  it('refuses a short metrics token, a bad metrics port, a non-HTTP OTLP endpoint', () => {
    expect(problemsOf({ METRICS_TOKEN: 'short' })).toEqual(['METRICS_TOKEN']);
    expect(problemsOf({ METRICS_PORT: '0' })).toEqual(['METRICS_PORT']);
    expect(problemsOf({ METRICS_PORT: '70000' })).toEqual(['METRICS_PORT']);
    expect(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'grpc://collector:4317' })).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT']);
  });

  it('refuses METRICS_PORT equal to PORT, where /metrics would be open without its token', () => {
    expect(problemsOf({ PORT: '8000', METRICS_PORT: '8000' })).toEqual(['METRICS_PORT']);
    expect(problemsOf({ METRICS_PORT: '8000' })).toEqual(['METRICS_PORT']);
  });
});

describe('log settings', () => {
  it('LOG_FORMAT is unset by default, and requests slower than 1 s are the slow ones', () => {
    const env = loadEnv({});
    expect(env.LOG_FORMAT).toBeUndefined();
    expect(env.SLOW_REQUEST_MS).toBe(1000);
  });

  it('reads LOG_FORMAT and SLOW_REQUEST_MS, and refuses other values', () => {
    expect(loadEnv({ LOG_FORMAT: 'pretty', SLOW_REQUEST_MS: '250' })).toMatchObject({ LOG_FORMAT: 'pretty', SLOW_REQUEST_MS: 250 });
    expect(problemsOf({ LOG_FORMAT: 'yaml' })).toEqual(['LOG_FORMAT']);
    expect(problemsOf({ SLOW_REQUEST_MS: '0' })).toEqual(['SLOW_REQUEST_MS']);
    expect(problemsOf({ SLOW_REQUEST_MS: 'soon' })).toEqual(['SLOW_REQUEST_MS']);
  });

  it('logs are pretty in development on a terminal, JSON in production, in tests and through a pipe, unless LOG_FORMAT says', () => {
    const pretty = (source: Record<string, string>, terminal: boolean) => logsArePretty(loadEnv({ JWT_SECRET: SECRET, ...source }), terminal);
    expect(pretty({ NODE_ENV: 'development' }, true)).toBe(true);
    expect(pretty({ NODE_ENV: 'development' }, false)).toBe(false);
    expect(pretty({ NODE_ENV: 'production' }, true)).toBe(false);
    expect(pretty({ NODE_ENV: 'test' }, true)).toBe(false);
    expect(pretty({ NODE_ENV: 'production', LOG_FORMAT: 'pretty' }, false)).toBe(true);
    expect(pretty({ NODE_ENV: 'development', LOG_FORMAT: 'json' }, true)).toBe(false);
  });
});

describe('photo uploads', () => {
  it('MAX_IMAGE_BYTES defaults to 10 MB and reaches the engine with the other image limits', () => {
    const env = loadEnv({});
    expect(env.MAX_IMAGE_BYTES).toBe(10_485_760);
    expect(engineOptionsFromEnv(env).imageLimits).toEqual({ ...DEFAULT_IMAGE_LIMITS, maxBytes: 10_485_760 });
  });

  it('reads MAX_IMAGE_BYTES and passes it on, leaving the pixel limits as they are', () => {
    const env = loadEnv({ MAX_IMAGE_BYTES: '2000000' });
    expect(env.MAX_IMAGE_BYTES).toBe(2_000_000);
    expect(engineOptionsFromEnv(env).imageLimits).toEqual({ ...DEFAULT_IMAGE_LIMITS, maxBytes: 2_000_000 });
  });

  it('refuses a MAX_IMAGE_BYTES that is not a whole number, below 1 KB or above 100 MB', () => {
    expect(problemsOf({ MAX_IMAGE_BYTES: '10MB' })).toEqual(['MAX_IMAGE_BYTES']);
    expect(problemsOf({ MAX_IMAGE_BYTES: '100' })).toEqual(['MAX_IMAGE_BYTES']);
    expect(problemsOf({ MAX_IMAGE_BYTES: String(100 * 1024 * 1024 + 1) })).toEqual(['MAX_IMAGE_BYTES']);
  });
});
