import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testDrivers, type TestDatabase } from '@fixthread/core/testing';
import { startFakeIfixit, startFakeOpenAI, type FakeIfixit, type FakeOpenAI } from '@fixthread/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kill, startBundle, type Started } from '../../../apps/server/test/support/server-process';
import { signToken, TEST_JWT_SECRET } from '../../../apps/server/test/support/tokens';
import type { TurnEvent } from '../src/index';

const run = promisify(execFile);
const packageDir = join(import.meta.dirname, '..');
const serverDir = join(packageDir, '..', '..', 'apps', 'server');
const consumerFiles = join(import.meta.dirname, 'support', 'consumer');
const REPLY = 'Unplug the console, hold the power button for ten seconds, then try another HDMI port.';

/** What test/support/consumer/consumer.ts prints. */
interface ConsumerReport {
  hasGlobalWebSocket: boolean;
  messagesBefore: number;
  messagesAfter: number;
  wsLoadedAfterQuery: boolean;
  wsLoadedAtEnd: boolean;
  events: TurnEvent[];
  photo: { id: string; content_type: string; width: number; height: number; url: string };
  photoInHistory: unknown;
  unauthorized: string | undefined;
  unauthorizedIsListed: boolean;
}

/**
 * The package as a stranger gets it: `pnpm pack`, then `npm install` of the tarball into a project in the OS
 * temp dir (no workspace above it, so nothing resolves to our sources), typechecked there and run with plain
 * Node against the production server bundle.
 */
describe('@fixthread/client installed from its tarball into a project outside the workspace', () => {
  let project: string;
  let dataDir: string;
  let database: TestDatabase | undefined;
  let openai: FakeOpenAI | undefined;
  let ifixit: FakeIfixit | undefined;
  let server: Started | undefined;

  beforeAll(async () => {
    project = mkdtempSync(join(tmpdir(), 'fixthread-client-consumer-'));
    dataDir = mkdtempSync(join(tmpdir(), 'fixthread-client-server-'));
    await Promise.all([installPackedClient(project), startServer()]);
    // The program the runs below execute; whether it typechecks is for the typecheck tests to say.
    expect(await tsc('-p', 'tsconfig.nodenext.json', '--noCheck')).toEqual([]);
  }, 600_000);

  afterAll(async () => {
    await kill(server);
    await Promise.all([openai?.close(), ifixit?.close(), database?.[Symbol.asyncDispose]()]);
    rmSync(project, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function startServer(): Promise<void> {
    await run(process.execPath, ['build.mjs'], { cwd: serverDir });
    // Postgres when the suite has one (CI), else the server's own PGlite in DATA_DIR.
    database = await testDrivers()
      .find((driver) => driver.name === 'postgres')
      ?.open();
    openai = await startFakeOpenAI({ defaultReply: { text: REPLY } });
    ifixit = await startFakeIfixit();
    server = await startBundle({
      NODE_ENV: 'production',
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: TEST_JWT_SECRET,
      OPENAI_API_KEY: 'test-key',
      OPENAI_BASE_URL: openai.baseURL,
      OPENAI_MAX_RETRIES: '0',
      IFIXIT_API_URL: ifixit.apiUrl,
      THREAD_TITLES: 'heuristic',
      DATA_DIR: dataDir,
      WEB_DIST_DIR: join(dataDir, 'no-web-client'),
      ...(database?.url ? { DATABASE_URL: database.url } : {}),
    });
  }

  /** tsc's error lines: it reports them on stdout and exits 1 or 2 when there are any. */
  async function tsc(...args: string[]): Promise<string[]> {
    const output = await run(process.execPath, ['node_modules/typescript/bin/tsc', ...args], { cwd: project }).catch(
      (error: { stdout?: string; code?: number }) => {
        if ((error.code !== 1 && error.code !== 2) || !error.stdout) throw error;
        return { stdout: error.stdout };
      },
    );
    return output.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
  }

  async function consume(nodeFlags: string[], userId: string): Promise<ConsumerReport> {
    const resolveLog = join(project, `resolved-${userId}.log`);
    const { stdout } = await run(
      process.execPath,
      [...nodeFlags, '--import', './register-hooks.mjs', 'out/consumer.js', server!.url, await signToken(userId)],
      { cwd: project, env: { PATH: process.env.PATH ?? '', RESOLVE_LOG: resolveLog }, timeout: 60_000 },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as ConsumerReport;
  }

  it('installs as a package of built JavaScript and declarations, depending on nothing of the workspace', () => {
    const installed = JSON.parse(readFileSync(join(project, 'node_modules/@fixthread/client/package.json'), 'utf8')) as {
      exports: Record<string, Record<string, string> | string>;
      dependencies: Record<string, string>;
      optionalDependencies: Record<string, string>;
    };
    expect(installed.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js', default: './dist/index.js' });
    const runtime = { ...installed.dependencies, ...installed.optionalDependencies };
    expect(Object.keys(runtime).sort()).toEqual(['@trpc/client', '@trpc/server', 'ws']);
    expect(Object.values(runtime).filter((range) => range.startsWith('workspace:'))).toEqual([]);
  });

  it('typechecks with moduleResolution nodenext and with bundler', async () => {
    // Any error fails the test; so does a `// @ts-expect-error` that stops erroring, as it would were a type `any`.
    expect(await tsc('-p', 'tsconfig.nodenext.json', '--noEmit')).toEqual([]);
    expect(await tsc('-p', 'tsconfig.bundler.json')).toEqual([]);
  });

  it('ships declarations that check cleanly even without skipLibCheck', async () => {
    // tRPC's own declarations need the DOM's RequestInfo and @types/ws there, which a Node project may lack:
    // those errors are tRPC's. None may be in this package's declarations or in the program using them.
    const errors = await tsc('-p', 'tsconfig.nodenext.json', '--noEmit', '--skipLibCheck', 'false');
    expect(errors.filter((line) => !line.startsWith('node_modules/@trpc/'))).toEqual([]);
  });

  it('streams a turn on Node 20 without a global WebSocket, loading ws only for the subscription', async () => {
    const report = await consume(['--no-experimental-websocket'], 'packed-node20');

    expect(report.hasGlobalWebSocket).toBe(false);
    // A plain query over HTTP needs no WebSocket, so `ws` is not loaded for it.
    expect(report.wsLoadedAfterQuery).toBe(false);
    expect(report.wsLoadedAtEnd).toBe(true);
    expectStreamedTurn(report);
  });

  it('uses the global WebSocket where there is one, and never loads ws', async () => {
    const report = await consume(['--experimental-websocket'], 'packed-global-ws');

    expect(report.hasGlobalWebSocket).toBe(true);
    expect(report.wsLoadedAtEnd).toBe(false);
    expectStreamedTurn(report);
  });

  it('uploads a photo as FormData (over HTTP, outside the batch) and sends it, through the production bundle', async () => {
    const requestsBefore = openai!.requests.length;
    const report = await consume(['--no-experimental-websocket'], 'packed-photo');

    expect(report.photo).toMatchObject({ content_type: 'image/png', width: 4, height: 3, url: `/chat/attachments/${report.photo.id}` });
    expect(report.photoInHistory).toEqual([{ id: report.photo.id, content_type: 'image/png', width: 4, height: 3 }]);
    const sentImages = openai!.requests
      .slice(requestsBefore)
      .flatMap((request) => request.body.messages)
      .flatMap((message) => (Array.isArray(message.content) ? (message.content as { type: string }[]) : []))
      .filter((part) => part.type === 'image_url');
    expect(sentImages).toHaveLength(1);
  });

  function expectStreamedTurn(report: ConsumerReport): void {
    const tokens = report.events.filter((event) => event.type === 'token');
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.map((event) => event.content).join('')).toBe(REPLY);
    const done = report.events.at(-1);
    expect(done).toMatchObject({ type: 'done', stopped: false });
    expect(done?.type === 'done' && done.thread_id).toEqual(expect.any(String));
    expect(report.messagesAfter - report.messagesBefore).toBe(2);
    expect(report.unauthorized).toBe('UNAUTHORIZED');
    expect(report.unauthorizedIsListed).toBe(true);
  }
});

/** `pnpm pack` (what `pnpm publish` would upload), then a fresh npm project that installs only the tarball. */
async function installPackedClient(project: string): Promise<void> {
  await run('pnpm', ['pack', '--pack-destination', project], { cwd: packageDir });
  const tarball = readdirSync(project).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`pnpm pack left no tarball in ${project}`);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'fixthread-client-consumer', private: true, type: 'module' }));
  for (const name of readdirSync(consumerFiles)) copyFileSync(join(consumerFiles, name), join(project, name));
  // pnpm, which runs this suite, sets npm_config_* for its own child processes; npm would take them as its own.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `./${tarball}`, 'typescript@5.9.3', '@types/node@20'], {
    cwd: project,
    env,
    timeout: 300_000,
  });
}
