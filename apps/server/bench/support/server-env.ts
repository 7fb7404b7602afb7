/** How the server under test is configured and signed in to, whether it runs in this process or a child. */
import { join } from 'node:path';
import { sanity } from './stats';

/** A closed port: the model is never asked to call a tool, so iFixit is never reached. */
const NO_IFIXIT = 'http://127.0.0.1:9/api/2.0';

/**
 * For parts 8-13 on a shared 2-core machine: a Postgres that answers slowly under the load is not down, and a
 * 503 would end a long run; the 1 s default database deadline is a production setting, not what is measured.
 */
export const LOADED_MACHINE = { DATABASE_TIMEOUT_MS: '10000' };

export interface BenchEnvOptions {
  openaiBaseUrl: string;
  dataDir: string;
  extra?: Record<string, string>;
}

/** The env the server gets, in this process or a child: dev auth (no JWT_SECRET), silent logs, PORT 0. */
export function benchEnv({ openaiBaseUrl, dataDir, extra }: BenchEnvOptions): Record<string, string> {
  return {
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    OPENAI_API_KEY: 'bench-key',
    OPENAI_BASE_URL: openaiBaseUrl,
    IFIXIT_API_URL: NO_IFIXIT,
    DATA_DIR: dataDir,
    WEB_DIST_DIR: join(dataDir, 'no-web-client'),
    ...extra,
  };
}

export async function devLogin(baseUrl: string, userId: string): Promise<string> {
  const response = await fetch(`${baseUrl}/auth/dev-login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  sanity(response.ok, `dev-login for ${userId} answered ${response.status}`);
  const { token } = (await response.json()) as { token: string };
  return token;
}
