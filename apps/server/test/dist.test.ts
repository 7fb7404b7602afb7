import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openDatabase } from '@fixthread/core';
import { conversations } from '@fixthread/core/schema';
import { testDrivers, type TestDatabase } from '@fixthread/core/testing';
import { startFakeIfixit, startFakeOpenAI, type FakeIfixit, type FakeOpenAI } from '@fixthread/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceRoot } from '../src/workspace-root';
import { BodyReader, request } from './support/http';
import { signToken, TEST_JWT_SECRET } from './support/tokens';

const serverDir = join(import.meta.dirname, '..');
const root = workspaceRoot();
const SLOW_TEXT = Array.from({ length: 30 }, (_, i) => `part${i}`).join(' ');

interface Started {
  child: ChildProcess;
  url: string;
  logs: string[];
  exited: Promise<number | null>;
}

/** `pnpm start` runs the bundle from the repository root; so does this. */
function startBundle(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['apps/server/dist/main.js'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      logs.push(line);
      const url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
      if (url) resolve({ child, url, logs, exited });
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}:\n${logs.join('\n')}`)));
  });
}

function runToExit(command: string[], env: Record<string, string>, cwd = root) {
  try {
    const stdout = execFileSync(process.execPath, command, { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'pipe' });
    return { code: 0, stdout: stdout.toString(), stderr: '' };
  } catch (error) {
    const failed = error as { status: number; stdout: Buffer; stderr: Buffer };
    return { code: failed.status, stdout: failed.stdout.toString(), stderr: failed.stderr.toString() };
  }
}

beforeAll(() => {
  execFileSync(process.execPath, ['build.mjs'], { cwd: serverDir, stdio: 'pipe' });
});

describe('the production bundle refuses a bad configuration', () => {
  it('exits 1 without JWT_SECRET or JWKS_URL in production, saying why', () => {
    const result = runToExit(['apps/server/dist/main.js'], { NODE_ENV: 'production' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('JWT_SECRET or JWKS_URL');
    expect(result.stderr).toContain('not started');
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('exits 1 naming the variable when a value is invalid', () => {
    const result = runToExit(['apps/server/dist/main.js'], { NODE_ENV: 'production', JWT_SECRET: TEST_JWT_SECRET, PORT: 'abc' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^\s+PORT: /m);
  });
});

describe('pnpm db:migrate', () => {
  it('migrates the configured PGlite database and exits', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-migrate-'));
    try {
      const result = runToExit(['--import', 'tsx', 'src/scripts/migrate.ts'], { DATA_DIR: dataDir }, serverDir);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Migrations applied (pglite at ${join(dataDir, 'pglite')})`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a PGlite directory a live server holds, saying who holds it, and leaves it untouched', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fixthread-migrate-held-'));
    try {
      // This test process stands in for the running server: alive, and not the migrating process.
      mkdirSync(join(dataDir, 'pglite'));
      const holder = { pid: process.pid, user: 'server', startedAt: new Date().toISOString(), hostname: 'test' };
      writeFileSync(join(dataDir, 'pglite', 'fixthread.lock'), JSON.stringify(holder));
      const result = runToExit(['--import', 'tsx', 'src/scripts/migrate.ts'], { DATA_DIR: dataDir }, serverDir);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`in use by the FixThread server (pid ${process.pid})`);
      expect(result.stdout).not.toContain('Migrations applied');
      expect(readdirSync(join(dataDir, 'pglite'))).toEqual(['fixthread.lock']);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe.each(testDrivers())('the production bundle on $name', (driver) => {
  let openai: FakeOpenAI;
  let ifixit: FakeIfixit;
  let dataDir: string;
  let postgres: TestDatabase | undefined;
  let server: Started;

  beforeAll(async () => {
    openai = await startFakeOpenAI({ defaultReply: { text: SLOW_TEXT, delayMsBetweenChunks: 25 } });
    ifixit = await startFakeIfixit();
    dataDir = mkdtempSync(join(tmpdir(), 'fixthread-dist-'));
    mkdirSync(join(dataDir, 'web'));
    writeFileSync(join(dataDir, 'web', 'index.html'), '<!doctype html><title>FixThread</title>');
    postgres = driver.name === 'postgres' ? await driver.open() : undefined;
    server = await startBundle({
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_JWT_SECRET,
      DATA_DIR: dataDir,
      WEB_DIST_DIR: join(dataDir, 'web'),
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: openai.baseURL,
      IFIXIT_API_URL: ifixit.apiUrl,
      ...(postgres?.url ? { DATABASE_URL: postgres.url } : {}),
    });
  });
  afterAll(async () => {
    server.child.kill('SIGKILL');
    await Promise.all([openai.close(), ifixit.close()]);
    await postgres?.[Symbol.asyncDispose]();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrates at start, reports its database, and serves the web client', async () => {
    expect((await request(`${server.url}/health`)).body).toEqual({ status: 'ok', database: driver.name, redis: 'disabled' });
    const page = await fetch(`${server.url}/`, { headers: { accept: 'text/html' } });
    expect(await page.text()).toContain('<title>FixThread</title>');
  });

  it('on SIGTERM finishes the reply in flight, saves it, and exits 0', async () => {
    const response = await fetch(`${server.url}/chat/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await signToken('deploy-user')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'finish this before you go' }),
    });
    const reader = new BodyReader(response);
    const first = await reader.next();
    expect(first).toMatch(/^id: [^\n]+\ndata: /);

    server.child.kill('SIGTERM');
    const body = first + (await reader.rest());
    expect(await server.exited).toBe(0);
    expect(body).toContain('"type":"done"');
    expect(server.logs.join('\n')).toContain('stopped cleanly');

    const database = postgres ?? (await openDatabase({ pgliteDir: join(dataDir, 'pglite') }));
    try {
      const rows = await database.db.select().from(conversations);
      expect(rows.filter((r) => r.userId === 'deploy-user').map((r) => [r.role, r.content])).toEqual([
        ['user', 'finish this before you go'],
        ['assistant', SLOW_TEXT],
      ]);
    } finally {
      if (!postgres) await database.close();
    }
  });

  it('on SIGTERM, a reply outliving SHUTDOWN_GRACE_MS is stopped, saved with its partial text, and the process exits 0', async () => {
    const longText = Array.from({ length: 400 }, (_, i) => `long${i}`).join(' ');
    openai.enqueue({ text: longText, delayMsBetweenChunks: 50 });
    const graceDataDir = mkdtempSync(join(tmpdir(), 'fixthread-dist-grace-'));
    const graceDatabase = driver.name === 'postgres' ? await driver.open() : undefined;
    let graceful: Started | undefined;
    try {
      graceful = await startBundle({
        NODE_ENV: 'production',
        PORT: '0',
        HOST: '127.0.0.1',
        JWT_SECRET: TEST_JWT_SECRET,
        DATA_DIR: graceDataDir,
        OPENAI_API_KEY: 'test-key',
        OPENAI_BASE_URL: openai.baseURL,
        IFIXIT_API_URL: ifixit.apiUrl,
        SHUTDOWN_GRACE_MS: '500',
        ...(graceDatabase?.url ? { DATABASE_URL: graceDatabase.url } : {}),
      });
      const response = await fetch(`${graceful.url}/chat/stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await signToken('late-deploy-user')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'this will take twenty seconds' }),
      });
      const reader = new BodyReader(response);
      const first = await reader.next();
      expect(first).toMatch(/^id: [^\n]+\ndata: /);

      const started = Date.now();
      graceful.child.kill('SIGTERM');
      const body = first + (await reader.rest());
      expect(await graceful.exited).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(body).toMatch(/"type":"done".*"stopped":true/);
      expect(graceful.logs.join('\n')).toContain('stopped cleanly');

      const database = graceDatabase ?? (await openDatabase({ pgliteDir: join(graceDataDir, 'pglite') }));
      try {
        const [reply, ...others] = (await database.db.select().from(conversations)).filter((r) => r.role === 'assistant');
        expect(others).toEqual([]);
        expect(reply?.finishReason).toBe('stopped');
        expect(reply?.content).not.toBe('');
        expect(longText.startsWith(reply?.content ?? 'x')).toBe(true);
        expect(reply?.content.length).toBeLessThan(longText.length);
      } finally {
        if (!graceDatabase) await database.close();
      }
    } finally {
      graceful?.child.kill('SIGKILL');
      await graceDatabase?.[Symbol.asyncDispose]();
      rmSync(graceDataDir, { recursive: true, force: true });
    }
  });
});
