import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDrivers } from '@fixthread/core/testing';
import { startFakeIfixit, startFakeOpenAI, type FakeResponder } from '@fixthread/testing';
import { createServer } from '../../../server/src/create-server';
import { loadEnv } from '../../../server/src/env';
import { ensureWebDist, WEB_DIST } from './web-dist';

export interface ConfiguredAppServer extends AsyncDisposable {
  url: string;
}

/**
 * Like startAppServer (app-server.ts), for suites that need what it fixes: the fake model's answers (here
 * `responder`) and server settings (`env`, e.g. TOKEN_QUOTA or MAX_MESSAGE_CHARS) on top of the same test
 * environment.
 */
export async function startConfiguredAppServer(options: {
  responder: FakeResponder;
  env?: Record<string, string>;
}): Promise<ConfiguredAppServer> {
  await ensureWebDist();
  const driver = testDrivers().at(-1);
  if (!driver) throw new Error('no test database driver');
  const database = await driver.open();
  const openai = await startFakeOpenAI({ responder: options.responder });
  const ifixit = await startFakeIfixit();
  const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-web-e2e-'));
  const env = loadEnv({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
    OPENAI_API_KEY: 'e2e-key',
    OPENAI_BASE_URL: openai.baseURL,
    OPENAI_MAX_RETRIES: '0',
    IFIXIT_API_URL: ifixit.apiUrl,
    DATA_DIR: dataDir,
    WEB_DIST_DIR: WEB_DIST,
    ...options.env,
  });
  const server = await createServer({ env, database });
  const url = await server.start();
  return {
    url,
    [Symbol.asyncDispose]: async () => {
      await server.stop();
      await Promise.all([openai.close(), ifixit.close()]);
      await database[Symbol.asyncDispose]();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
