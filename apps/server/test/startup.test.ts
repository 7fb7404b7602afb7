import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { migrationsDir } from '@fixthread/core';
import { openPostgresTestDatabase } from '@fixthread/core/testing';
import { startFakeOpenAI } from '@fixthread/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type FixThreadServer } from '../src/create-server';
import { loadEnv } from '../src/env';
import { lockFileOf, PgliteInUse } from '../src/pglite-lock';
import { workspaceRoot } from '../src/workspace-root';
import { request } from './support/http';
import { signToken, TEST_JWT_SECRET } from './support/tokens';

const TAGS = (JSON.parse(readFileSync(join(migrationsDir(), 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] }).entries.map(
  (entry) => entry.tag,
);

interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

function captureLogs(): { lines: LogLine[]; logStream: Writable } {
  const lines: LogLine[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return { lines, logStream };
}

const summaryOf = (lines: LogLine[]) => lines.filter((line) => line.msg.startsWith('FixThread ready on'));

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fixthread-startup-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A first run as `pnpm start` does it: no model, no auth secret, no Redis, PGlite under DATA_DIR. */
function firstRunEnv(dataDir: string, extra: Record<string, string> = {}) {
  return loadEnv({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    WEB_DIST_DIR: join(dataDir, 'no-web-client'),
    IFIXIT_API_URL: 'http://127.0.0.1:9/api/2.0',
    LOG_LEVEL: 'silent',
    ...extra,
  });
}

async function started(server: FixThreadServer): Promise<string> {
  cleanups.push(() => server.stop());
  return server.start();
}

describe('the start-up summary line', () => {
  it('names the PGlite directory, the migrations applied, offline mode, dev auth and in-process events; then "up to date"', async () => {
    const dataDir = tempDir();
    const first = captureLogs();
    const server = await createServer({ env: firstRunEnv(dataDir, { LOG_LEVEL: 'info' }), logStream: first.logStream });
    const url = await server.start();
    await server.stop();

    const [line, ...more] = summaryOf(first.lines);
    expect(more).toEqual([]);
    expect(line?.level).toBe(30);
    const pglite = join(dataDir, 'pglite');
    expect(line?.msg).toBe(
      `FixThread ready on ${url}: database PGlite at ${pglite} (migrations applied now: ${TAGS.join(', ')}), ` +
        'model offline (answers from iFixit guides), auth dev sign-in (never expose publicly), live events in process',
    );
    expect(line?.startup).toEqual({
      url,
      database: { driver: 'pglite', location: pglite, migrations: { appliedNow: TAGS, alreadyApplied: [] } },
      model: null,
      auth: { mode: 'dev' },
      liveEvents: { mode: 'in-process' },
    });

    const second = captureLogs();
    const again = await createServer({ env: firstRunEnv(dataDir, { LOG_LEVEL: 'info' }), logStream: second.logStream });
    await started(again);
    expect(summaryOf(second.lines)[0]?.msg).toContain(`database PGlite at ${pglite} (migrations up to date at ${TAGS.at(-1)})`);
    expect(summaryOf(second.lines)[0]?.startup).toMatchObject({ database: { migrations: { appliedNow: [], alreadyApplied: TAGS } } });
  });

  it.runIf(process.env.TEST_DATABASE_URL && process.env.TEST_REDIS_URL)(
    'names the Postgres host and database, the model and its host, JWT auth and Redis, never their credentials',
    async () => {
      const postgres = await openPostgresTestDatabase(process.env.TEST_DATABASE_URL!);
      cleanups.push(() => postgres[Symbol.asyncDispose]());
      const openai = await startFakeOpenAI();
      cleanups.push(() => openai.close());
      const databaseUrl = new URL(postgres.url!);
      databaseUrl.password = 'pg-password-SECRET';
      const redisUrl = new URL(process.env.TEST_REDIS_URL!);
      const { lines, logStream } = captureLogs();
      const env = firstRunEnv(tempDir(), {
        DATABASE_URL: databaseUrl.toString(),
        REDIS_URL: redisUrl.toString(),
        REDIS_KEY_PREFIX: `fixthread-startup-${Date.now()}:`,
        JWT_SECRET: TEST_JWT_SECRET,
        OPENAI_API_KEY: 'sk-SECRET-key',
        OPENAI_BASE_URL: openai.baseURL,
        OPENAI_MODEL: 'llama3.1',
        LOG_LEVEL: 'info',
      });
      const url = await started(await createServer({ env, logStream }));
      const [line] = summaryOf(lines);
      expect(line?.msg).toBe(
        `FixThread ready on ${url}: database Postgres at ${databaseUrl.host}${databaseUrl.pathname} ` +
          `(migrations up to date at ${TAGS.at(-1)}), model llama3.1 at ${new URL(openai.baseURL).host}, ` +
          `auth JWT (HS256 secret), live events Redis at ${redisUrl.host}`,
      );
      expect(line?.startup).toMatchObject({
        database: { driver: 'postgres' },
        model: { name: 'llama3.1' },
        auth: { mode: 'jwt', secret: true },
        liveEvents: { mode: 'redis' },
      });
      expect(JSON.stringify(lines)).not.toContain('SECRET');
    },
  );
});

describe('server.info', () => {
  it('tells a signed-in client that no model is configured and where data lives; refuses anyone else', async () => {
    const env = firstRunEnv(tempDir(), { JWT_SECRET: TEST_JWT_SECRET });
    const url = await started(await createServer({ env }));
    const token = await signToken('info-user');
    const info = await request<{ result: { data: unknown } }>(`${url}/trpc/server.info`, { token });
    expect(info.status).toBe(200);
    expect(info.body.result.data).toEqual({ model: { configured: false, name: null }, database: 'pglite' });
    expect((await request(`${url}/trpc/server.info`)).status).toBe(401);
  });

  it('names the model when one is configured', async () => {
    const env = firstRunEnv(tempDir(), { JWT_SECRET: TEST_JWT_SECRET, OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_MODEL: 'llama3.1' });
    const url = await started(await createServer({ env }));
    const info = await request<{ result: { data: unknown } }>(`${url}/trpc/server.info`, { token: await signToken('info-user') });
    expect(info.body.result.data).toEqual({ model: { configured: true, name: 'llama3.1' }, database: 'pglite' });
  });
});

describe('one process per PGlite directory', () => {
  it('a second server on the same directory refuses with a clear message, until the first has stopped', async () => {
    const dataDir = tempDir();
    const pglite = join(dataDir, 'pglite');
    const first = await createServer({ env: firstRunEnv(dataDir) });
    await first.start();
    expect(JSON.parse(readFileSync(lockFileOf(pglite), 'utf8'))).toMatchObject({ pid: process.pid, user: 'server' });

    const refused = createServer({ env: firstRunEnv(dataDir) });
    await expect(refused).rejects.toBeInstanceOf(PgliteInUse);
    await expect(refused).rejects.toThrow(
      `The PGlite database at ${pglite} is in use by the FixThread server (pid ${process.pid}). PGlite allows one process at a time`,
    );

    await first.stop();
    expect(existsSync(lockFileOf(pglite))).toBe(false);
    await started(await createServer({ env: firstRunEnv(dataDir) }));
  });
});

/** Runs a workspace command to its end: exit code and everything it printed. */
function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: workspaceRoot(),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

/** `src/main.ts` as `pnpm dev` runs it, until it has printed its summary line. */
async function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
    cwd: workspaceRoot(),
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'development', PORT: '0', HOST: '127.0.0.1', IFIXIT_API_URL: 'http://127.0.0.1:9/api/2.0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  });
  const lines: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => lines.push(line));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line.includes('FixThread ready on')) resolve();
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${lines.join('\n')}`)));
  });
  return { child, lines, exited };
}

// Each case starts the server from source in processes of its own: PGlite's start-up alone takes seconds.
describe('pnpm db:studio and the running server', { timeout: 180_000 }, () => {
  const studio = ['apps/server/src/scripts/studio.ts', '--check'];

  it('refuses a PGlite directory a server holds, with a clear message; allows it once the server has stopped', async () => {
    const dataDir = tempDir();
    const pglite = join(dataDir, 'pglite');
    expect(await run(studio, { DATA_DIR: dataDir })).toEqual({ code: 0, out: `The PGlite database at ${pglite} is free: drizzle-kit studio may open it.\n` });

    const server = await startMain({ DATA_DIR: dataDir, LOG_FORMAT: 'json' });
    const held = await run(studio, { DATA_DIR: dataDir });
    expect(held).toEqual({
      code: 1,
      out:
        `The PGlite database at ${pglite} is in use by the FixThread server (pid ${server.child.pid}). ` +
        'Stop the server first, or set DATABASE_URL to inspect Postgres.\n',
    });

    // A second server, as a second `pnpm start` would: refused before it touches the directory.
    const second = await run(['apps/server/src/main.ts'], { NODE_ENV: 'development', PORT: '0', DATA_DIR: dataDir });
    expect(second.code).toBe(1);
    expect(second.out).toContain(`The PGlite database at ${pglite} is in use by the FixThread server (pid ${server.child.pid}).`);
    expect(second.out).toContain('FixThread server not started.');

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect((await run(studio, { DATA_DIR: dataDir })).code).toBe(0);
  });

  it('takes over the lock of a server that died without releasing it', async () => {
    const dataDir = tempDir();
    const server = await startMain({ DATA_DIR: dataDir, LOG_FORMAT: 'json' });
    server.child.kill('SIGKILL');
    await server.exited;
    expect(existsSync(lockFileOf(join(dataDir, 'pglite')))).toBe(true);
    expect((await run(studio, { DATA_DIR: dataDir })).code).toBe(0);
    await startMain({ DATA_DIR: dataDir, LOG_FORMAT: 'json' });
  });
});

describe('log format', { timeout: 120_000 }, () => {
  it('LOG_FORMAT=pretty writes human-readable lines (pino-pretty) instead of JSON', async () => {
    const { lines } = await startMain({ DATA_DIR: tempDir(), LOG_FORMAT: 'pretty' });
    const summary = lines.find((line) => line.includes('FixThread ready on'))!;
    expect(summary).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: FixThread ready on http:\/\/127\.0\.0\.1:\d+: database PGlite at /);
    expect(() => JSON.parse(summary) as unknown).toThrow();
    // Its structured copy is for log queries; the line already says it.
    expect(lines.join('\n')).not.toContain('startup:');
  });

  it('development logs piped to another program stay JSON', async () => {
    const { lines } = await startMain({ DATA_DIR: tempDir() });
    const summary = JSON.parse(lines.find((line) => line.includes('FixThread ready on'))!) as LogLine;
    expect(summary).toMatchObject({ level: 30, startup: { model: null, auth: { mode: 'dev' } } });
  });
});
