import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeIfixit, startFakeOpenAI, type FakeIfixit, type FakeOpenAI } from '@fixthread/testing';
import { freePort, startPrivatePostgres, type PrivatePostgres } from '../test/support/private-postgres';
import { startPrivateRedis, type PrivateRedis } from '../test/support/private-redis';
import { kill, startBundle, type Started } from '../test/support/server-process';
import { TEST_JWT_SECRET } from '../test/support/tokens';
import { soakResponder } from './fake-model';

/** One server process slot: a fixed port, so clients find a restarted instance where it was. */
export interface Instance {
  name: string;
  url: string;
  env: Record<string, string>;
  server: Started | undefined;
  /** Set while the soak itself kills it, so that exit is not counted as a crash. */
  killing: boolean;
  /** Every log line of every run of this slot. */
  logs: string[];
}

/** A server that exited without being killed: a crash the soak found. */
export interface UnexpectedExit {
  instance: string;
  exit: Started['exit'];
  lastLines: string[];
}

export interface Cluster extends AsyncDisposable {
  instances: Instance[];
  postgres: PrivatePostgres;
  redis: PrivateRedis | undefined;
  openai: FakeOpenAI;
  databaseUrl: string;
  unexpectedExits: UnexpectedExit[];
  /** SIGKILL, then the same instance again on its port. */
  killAndRestart(instance: Instance): Promise<void>;
  /** Writes every instance's logs under a fresh directory; returns it. */
  saveLogs(): string;
}

export async function startCluster(options: { redis: boolean }): Promise<Cluster> {
  const stack: Array<() => PromiseLike<void>> = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-soak-'));
  stack.push(async () => rmSync(dataDir, { recursive: true, force: true }));
  const dispose = async () => {
    for (const undo of stack.reverse()) await Promise.resolve(undo()).catch(() => {});
  };
  try {
    const openai = await startFakeOpenAI({ responder: soakResponder, record: false });
    stack.push(() => openai.close());
    const ifixit: FakeIfixit = await startFakeIfixit();
    stack.push(() => ifixit.close());
    const postgres = await startPrivatePostgres();
    stack.push(() => postgres[Symbol.asyncDispose]());
    const redis = options.redis ? await startPrivateRedis() : undefined;
    if (redis) stack.push(() => redis[Symbol.asyncDispose]());

    const baseEnv: Record<string, string> = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      // info: startBundle waits for the "Server listening" line; requests are logged at debug only.
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      JWT_SECRET: TEST_JWT_SECRET,
      DATA_DIR: dataDir,
      WEB_DIST_DIR: join(dataDir, 'no-web-client'),
      DATABASE_URL: postgres.url,
      OPENAI_API_KEY: 'soak-key',
      OPENAI_BASE_URL: openai.baseURL,
      IFIXIT_API_URL: ifixit.apiUrl,
      // Thread titles would be model calls outside any turn; the soak checks each turn's charges.
      THREAD_TITLES: 'heuristic',
      SHUTDOWN_GRACE_MS: '1000',
      ...(redis ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'soak:' } : {}),
    };
    const names = redis ? ['a', 'b'] : ['a'];
    const instances: Instance[] = [];
    for (const name of names) {
      const port = await freePort();
      instances.push({
        name,
        url: `http://127.0.0.1:${port}`,
        env: { ...baseEnv, PORT: String(port) },
        server: undefined,
        killing: false,
        logs: [],
      });
    }
    const unexpectedExits: UnexpectedExit[] = [];

    const launch = async (instance: Instance) => {
      const server = await startBundle(instance.env);
      instance.server = server;
      void server.exited.then(() => {
        instance.logs.push(...server.logs);
        if (instance.killing) return;
        unexpectedExits.push({
          instance: instance.name,
          exit: server.exit,
          lastLines: server.logs.slice(-30),
        });
        // Keep the soak going on a crashed instance; the crash itself is already a failure.
        if (!disposed) void launch(instance).catch(() => {});
      });
    };
    let disposed = false;
    stack.push(async () => {
      disposed = true;
      for (const instance of instances) {
        instance.killing = true;
        await kill(instance.server);
      }
    });
    // One at a time: the first applies the migrations, which the others would wait on anyway.
    for (const instance of instances) await launch(instance);

    return {
      instances,
      postgres,
      redis,
      openai,
      databaseUrl: postgres.url,
      unexpectedExits,
      killAndRestart: async (instance) => {
        instance.killing = true;
        await kill(instance.server);
        instance.killing = false;
        await launch(instance);
      },
      saveLogs: () => {
        const dir = mkdtempSync(join(tmpdir(), 'fixthread-soak-logs-'));
        for (const instance of instances) {
          const current = instance.server && !instance.server.exit ? instance.server.logs : [];
          writeFileSync(
            join(dir, `instance-${instance.name}.log`),
            [...instance.logs, ...current].join('\n'),
          );
        }
        writeFileSync(join(dir, 'postgres.log'), postgres.log());
        if (redis) writeFileSync(join(dir, 'redis.log'), redis.log());
        return dir;
      },
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
