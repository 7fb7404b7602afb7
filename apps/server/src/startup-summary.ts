import type { Database } from '@fixthread/core';
import type { FastifyBaseLogger } from 'fastify';
import { engineOptionsFromEnv, type Env } from './env';
import type { ServerInfo } from './trpc/routers/server-info';

/** How this server runs, once it is up: for the start-up line, and for clients (`server.info`). */
export interface StartupFacts {
  database: Pick<Database, 'driver' | 'location' | 'migrations'>;
  /** `null`: no model configured, answers come from iFixit guides. */
  model: { name: string; host: string } | null;
  auth: { mode: 'dev' } | { mode: 'jwt'; secret: boolean; jwksHost: string | null };
  liveEvents: { mode: 'in-process' } | { mode: 'redis'; host: string };
}

export function startupFacts(env: Env, database: Database): StartupFacts {
  const llm = engineOptionsFromEnv(env).llm;
  return {
    database: { driver: database.driver, location: database.location, migrations: database.migrations },
    model: llm ? { name: llm.model, host: llm.baseURL ? new URL(llm.baseURL).host : 'api.openai.com' } : null,
    auth:
      env.JWT_SECRET || env.JWKS_URL
        ? { mode: 'jwt', secret: Boolean(env.JWT_SECRET), jwksHost: env.JWKS_URL ? new URL(env.JWKS_URL).host : null }
        : { mode: 'dev' },
    // Host and port only: a Redis URL may carry a password.
    liveEvents: env.REDIS_URL ? { mode: 'redis', host: new URL(env.REDIS_URL).host } : { mode: 'in-process' },
  };
}

export function serverInfoOf(facts: StartupFacts): ServerInfo {
  return { model: { configured: facts.model !== null, name: facts.model?.name ?? null }, database: facts.database.driver };
}

/**
 * The one line that says how the server came up, readable at a glance:
 * `FixThread ready on http://127.0.0.1:8000: database PGlite at /srv/.data/pglite (migrations 0000_init…
 * applied now), model offline (answers from iFixit guides), auth dev sign-in, live events in process`.
 */
export function startupSummary(url: string, facts: StartupFacts): string {
  return `FixThread ready on ${url}: ${[
    `database ${describeDatabase(facts.database)}`,
    `model ${facts.model ? `${facts.model.name} at ${facts.model.host}` : 'offline (answers from iFixit guides)'}`,
    `auth ${describeAuth(facts.auth)}`,
    `live events ${facts.liveEvents.mode === 'redis' ? `Redis at ${facts.liveEvents.host}` : 'in process'}`,
  ].join(', ')}`;
}

/**
 * Logs the summary at info, its facts as the `startup` field for log queries (human-readable logs leave it
 * out: the line says it all); resolves the URL, for `start()` to return.
 */
export function logStartupSummary(log: FastifyBaseLogger, url: string, facts: StartupFacts): string {
  log.info({ startup: { url, ...facts } }, startupSummary(url, facts));
  return url;
}

function describeDatabase(database: StartupFacts['database']): string {
  const where = database.driver === 'pglite' ? `PGlite at ${database.location}` : `Postgres at ${database.location}`;
  return `${where} (${describeMigrations(database.migrations)})`;
}

function describeMigrations(migrations: Database['migrations']): string {
  if (!migrations) return 'migrations not checked';
  const { appliedNow, alreadyApplied } = migrations;
  if (appliedNow.length === 0) return `migrations up to date at ${alreadyApplied.at(-1) ?? 'none'}`;
  const before = alreadyApplied.length > 0 ? ` on top of ${alreadyApplied.length} already applied` : '';
  return `migrations applied now: ${appliedNow.join(', ')}${before}`;
}

function describeAuth(auth: StartupFacts['auth']): string {
  if (auth.mode === 'dev') return 'dev sign-in (never expose publicly)';
  const ways = [auth.secret && 'HS256 secret', auth.jwksHost && `JWKS at ${auth.jwksHost}`].filter(Boolean);
  return `JWT (${ways.join(' or ')})`;
}
