import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '@fixthread/core';
import { testDrivers } from '@fixthread/core/testing';
import {
  startFakeIfixit,
  startFakeOpenAI,
  type FakeOpenAIOptions,
  type FakeResponder,
  type RecordedChatRequest,
} from '@fixthread/testing';
import { createServer } from '../../../server/src/create-server';
import { loadEnv } from '../../../server/src/env';
import { fakeModelResponder, type FakeModelControls } from './fake-model';
import { ensureWebDist, WEB_DIST } from './web-dist';

export interface AppServer extends AsyncDisposable {
  url: string;
  model: FakeModelControls;
  /** The server's database, for states no browser can produce (a reply cut off by a server that died). */
  db: Db;
  /** Every request the fake model received for a turn, in order (the fake keeps thread-title calls apart). */
  modelRequests: RecordedChatRequest[];
}

/**
 * The real server (dev sign-in, built web client) on an ephemeral port, talking to fake OpenAI and iFixit
 * servers, on a fresh database: PGlite, or a new Postgres database when TEST_DATABASE_URL is set.
 */
export async function startAppServer(
  options: {
    webDist?: string;
    env?: Record<string, string>;
    /** Answers the model's requests instead of the shared fake model (whose `model` controls then do nothing). */
    responder?: FakeResponder;
    /** How the fake model behaves besides its replies, e.g. `acceptsImages: false` for a text-only model. */
    fakeOpenAI?: Pick<FakeOpenAIOptions, 'acceptsImages'>;
  } = {},
): Promise<AppServer> {
  // Another build (the render bench's baseline) is served as it is; the default one is rebuilt when stale.
  const webDist = options.webDist ?? WEB_DIST;
  if (!options.webDist) await ensureWebDist();
  const model: FakeModelControls = { outage: false };
  const driver = testDrivers().at(-1);
  if (!driver) throw new Error('no test database driver');
  const database = await driver.open();
  const openai = await startFakeOpenAI({ ...options.fakeOpenAI, responder: options.responder ?? fakeModelResponder(model) });
  const ifixit = await startFakeIfixit();
  const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-web-e2e-'));
  const env = loadEnv({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    // E2E_LOG_LEVEL=info shows the server's request log when a browser test needs debugging.
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
    OPENAI_API_KEY: 'e2e-key',
    OPENAI_BASE_URL: openai.baseURL,
    // No SDK retries: an outage reaches the browser at once instead of after back-off.
    OPENAI_MAX_RETRIES: '0',
    IFIXIT_API_URL: ifixit.apiUrl,
    DATA_DIR: dataDir,
    WEB_DIST_DIR: webDist,
    // Server settings a suite needs on top (e.g. THREAD_TITLES=heuristic, for titles it can predict).
    ...options.env,
  });
  const server = await createServer({ env, database });
  const url = await server.start();
  return {
    url,
    model,
    db: database.db,
    modelRequests: openai.requests,
    [Symbol.asyncDispose]: async () => {
      await server.stop();
      await Promise.all([openai.close(), ifixit.close()]);
      await database[Symbol.asyncDispose]();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
