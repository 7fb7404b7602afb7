import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestDatabase, TestDriver } from '@fixthread/core/testing';
import { conversations, userUsage } from '@fixthread/core/schema';
import { startFakeIfixit, startFakeOpenAI, type FakeIfixit, type FakeOpenAI } from '@fixthread/testing';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { DestinationStream } from 'pino';
import { createServer, type FixThreadServer } from '../../src/create-server';
import { loadEnv } from '../../src/env';
import { signToken, TEST_JWT_SECRET } from './tokens';

export const FAKE_REPLY = 'Power the phone off, then warm the screen edges before prying.';

export interface HarnessOptions {
  env?: Record<string, string | undefined>;
  logStream?: DestinationStream;
  sseKeepAliveMs?: number;
  /** Reuse a database (restart tests); otherwise the driver opens a fresh one that close() drops. */
  database?: TestDatabase;
  spanProcessor?: SpanProcessor;
}

export interface Harness {
  url: string;
  server: FixThreadServer;
  database: TestDatabase;
  openai: FakeOpenAI;
  ifixit: FakeIfixit;
  dataDir: string;
  token(userId: string): Promise<string>;
  /** Every stored message, oldest first, whoever it belongs to. */
  messages(): Promise<(typeof conversations.$inferSelect)[]>;
  usage(): Promise<(typeof userUsage.$inferSelect)[]>;
  /** Stops the server; drops the database unless it was handed in. */
  close(): Promise<void>;
}

/**
 * The real server on an ephemeral port, wired to a fake OpenAI-compatible model and a fake iFixit, on a fresh
 * database of the given driver. Tests talk to it only as clients do.
 */
export async function startHarness(driver: TestDriver, options: HarnessOptions = {}): Promise<Harness> {
  const database = options.database ?? (await driver.open());
  const openai = await startFakeOpenAI({ defaultReply: { text: FAKE_REPLY } });
  const ifixit = await startFakeIfixit();
  const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-server-test-'));
  const env = loadEnv({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: options.logStream ? 'info' : 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    OPENAI_API_KEY: 'test-key',
    OPENAI_BASE_URL: openai.baseURL,
    // One scripted fake reply per request: the SDK's retries would consume the next one.
    OPENAI_MAX_RETRIES: '0',
    IFIXIT_API_URL: ifixit.apiUrl,
    DATA_DIR: dataDir,
    WEB_DIST_DIR: join(dataDir, 'no-web-client'),
    // A model-made title is one more charged call after a thread's first answer; the tests of titles ask for it.
    THREAD_TITLES: 'heuristic',
    ...options.env,
  });
  const server = await createServer({
    env,
    database,
    logStream: options.logStream,
    sseKeepAliveMs: options.sseKeepAliveMs,
    spanProcessor: options.spanProcessor,
  });
  const url = await server.start();
  return {
    url,
    server,
    database,
    openai,
    ifixit,
    dataDir,
    token: (userId) => signToken(userId),
    messages: async () => (await database.db.select().from(conversations)).sort((a, b) => a.id - b.id),
    usage: () => database.db.select().from(userUsage),
    close: async () => {
      await server.stop();
      await Promise.all([openai.close(), ifixit.close()]);
      if (!options.database) await database[Symbol.asyncDispose]();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
