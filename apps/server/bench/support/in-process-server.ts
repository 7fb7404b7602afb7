/**
 * The real server (createServer, dev-auth mode, quiet logger) on an ephemeral port in this process, on a bench
 * database, talking to the fake model. The database is injected so the raw baselines can share it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type FixThreadServer } from '../../src/create-server';
import { loadEnv, type Env } from '../../src/env';
import type { BenchDatabase, BenchDriver } from './databases';
import { startFakeModel, type FakeModel } from './fake-model';
import { benchEnv } from './server-env';

export interface InProcessServer {
  url: string;
  env: Env;
  server: FixThreadServer;
  db: BenchDatabase;
  model: FakeModel;
  close(): Promise<void>;
}

export async function startInProcessServer(driver: BenchDriver): Promise<InProcessServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-bench-'));
  const model = await startFakeModel();
  const db = await driver.open(dataDir);
  const env = loadEnv(benchEnv({ openaiBaseUrl: model.openai.baseURL, dataDir }));
  // The database is injected so the raw baselines can share it (and its pool); the server does not close it.
  const server = await createServer({ env, database: db.database });
  const url = await server.start();
  return {
    url,
    env,
    server,
    db,
    model,
    close: async () => {
      await server.stop();
      await model.openai.close();
      await db.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
