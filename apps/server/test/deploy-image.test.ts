import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import postgres from 'postgres';
import type { TurnEvent } from '@fixthread/core';
import { startFakeIfixit, startFakeOpenAI, type FakeIfixit, type FakeOpenAI } from '@fixthread/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceRoot } from '../src/workspace-root';
import { BodyReader, request, streamChat } from './support/http';
import { kill, type Started } from './support/server-process';
import { signToken, TEST_JWT_SECRET } from './support/tokens';
import { connect, streamViaTrpc } from './support/trpc';

/**
 * The container image without Docker: `deploy/image-steps.sh build` is what the Dockerfile's build stage runs,
 * and `image-steps.sh start` is the image's CMD. The built folder is moved away from where it was built and
 * started from there as an unprivileged user, like the image's runtime stage; the Dockerfile, compose.yaml and
 * the proxy config are checked statically for what cannot be run here.
 */
const run = promisify(execFile);
const root = workspaceRoot();
const script = join(root, 'deploy', 'image-steps.sh');
// About 20 s on an idle 2-core machine; several times that while other suites load it.
const BUILD_TIMEOUT_MS = 240_000;
const REPLY = Array.from({ length: 30 }, (_, i) => `part${i}`).join(' ');
const NOBODY = { uid: 65534, gid: 65534 };
const asRoot = process.getuid?.() === 0;

const readText = (...path: string[]) => readFileSync(join(...path), 'utf8');
const readJson = <T>(...path: string[]) => JSON.parse(readText(...path)) as T;

/** Every path under `dir` (not following symlinks), relative to it. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? [relative(base, path), ...walk(path, base)] : [relative(base, path)];
  });
}

function tokensOf(events: TurnEvent[]): string {
  return events.map((e) => (e.type === 'token' ? e.content : '')).join('');
}

async function poll<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; await new Promise((resolve) => setTimeout(resolve, 100))) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
  }
}

describe('the Dockerfile, compose.yaml and the proxy config', () => {
  it('builds in one stage with image-steps.sh and runs the result in another, as a non-root user', () => {
    const lines = readText(root, 'Dockerfile')
      .replace(/\\\n/g, ' ')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    const stages: string[][] = [];
    for (const line of lines) {
      if (/^FROM\s/i.test(line)) stages.push([]);
      stages.at(-1)?.push(line);
    }
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage[0]).toMatch(/^FROM node:20-bookworm-slim\b/);
    const [build, runtime] = [stages[0]!, stages.at(-1)!];
    const packageManager = readJson<{ packageManager: string }>(root, 'package.json').packageManager;
    expect(build).toContain(`RUN npm install -g ${packageManager}`);
    expect(build.some((line) => /^RUN .*deploy\/image-steps\.sh build \/out$/.test(line))).toBe(true);

    const instruction = (name: string) => runtime.filter((line) => line.toUpperCase().startsWith(`${name} `)).map((line) => line.slice(name.length + 1).trim());
    expect(instruction('COPY').some((args) => /^--from=\S+ \/out /.test(args))).toBe(true);
    const user = instruction('USER').at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(instruction('EXPOSE')).toEqual(['8000']);
    expect(instruction('STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(instruction('HEALTHCHECK').at(-1)).toMatch(/CMD \["node", "-e", ".*\/health/);
    expect(instruction('CMD').at(-1)).toMatch(/image-steps\.sh", "start"\]$/);
    expect(readText(root, '.dockerignore').split('\n')).toContain('**/node_modules');
  });

  it('composes Postgres 15, a Redis that keeps nothing, two app instances, and nginx in front', () => {
    const compose = parseComposeYaml(readText(root, 'compose.yaml')) as Record<string, Record<string, Record<string, unknown>>>;
    const services = compose.services!;
    expect(services.postgres?.image).toMatch(/^postgres:15\b/);
    expect(services.postgres?.healthcheck).toHaveProperty('test');
    expect(services.redis?.image).toMatch(/^redis:7\b/);
    expect((services.redis?.command as string[]).join(' ')).toMatch(/--save {2}--appendonly no/);

    const apps = Object.entries(services).filter(([, service]) => service.build !== undefined);
    expect(apps.map(([name]) => name)).toEqual(['app1', 'app2']);
    for (const [, app] of apps) {
      expect(app.environment).toMatchObject({
        DATABASE_URL: expect.stringMatching(/^postgres:\/\/.*@postgres:5432\//) as unknown,
        REDIS_URL: 'redis://redis:6379',
        JWT_SECRET: expect.stringMatching(/^\$\{JWT_SECRET:\?/) as unknown,
      });
    }

    expect(services.proxy?.image).toMatch(/^nginx:/);
    expect(services.proxy?.volumes).toContain('./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro');
    const nginx = readText(root, 'deploy', 'nginx.conf');
    const upstream = nginxBlock(nginx, 'upstream fixthread');
    for (const [name] of apps) expect(upstream).toMatch(new RegExp(`^\\s*server ${name}:8000\\b`, 'm'));
    expect(upstream).not.toMatch(/\b(ip_hash|hash|sticky)\b/);

    const trpc = nginxBlock(nginx, 'location /trpc');
    expect(trpc).toContain('proxy_pass http://fixthread;');
    expect(trpc).toContain('proxy_http_version 1.1;');
    expect(trpc).toContain('proxy_set_header Upgrade $http_upgrade;');
    expect(trpc).toContain('proxy_set_header Connection $connection_upgrade;');
    expect(nginxBlock(nginx, 'map $http_upgrade $connection_upgrade')).toMatch(/default\s+upgrade;/);
    expect(nginxSeconds(/proxy_read_timeout (\w+);/.exec(trpc)?.[1])).toBeGreaterThan(60);

    const sse = nginxBlock(nginx, 'location /chat/stream');
    expect(sse).toContain('proxy_pass http://fixthread;');
    expect(sse).toContain('proxy_buffering off;');
  });
});

describe('deploy/image-steps.sh build', () => {
  let work: string;
  let builtAt: string;
  let app: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'fixthread-deploy-'));
    // The unprivileged user that runs the app must be able to reach it.
    chmodSync(work, 0o755);
    builtAt = join(work, 'built');
    const env: NodeJS.ProcessEnv = { ...process.env };
    // As in the Dockerfile's build stage, which has none of the test runner's variables.
    delete env.NODE_ENV;
    delete env.VITEST;
    delete env.VITEST_MODE;
    delete env.VITEST_POOL_ID;
    delete env.VITEST_WORKER_ID;
    // Inside `work`, so the search for paths of the build below covers the script's scratch folders too.
    env.TMPDIR = join(work, 'tmp');
    mkdirSync(env.TMPDIR);
    try {
      await run('bash', [script, 'build', builtAt], { env, timeout: BUILD_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      throw new Error(`image-steps.sh build failed:\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`, { cause: error });
    }
    // `cp -a` copies as Docker's COPY --from does (symlinks as they are); the build folder is gone afterwards.
    app = join(work, 'app');
    await run('cp', ['-a', builtAt, app]);
    rmSync(builtAt, { recursive: true });
  }, BUILD_TIMEOUT_MS + 30_000);
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('lays out the bundle, the migrations, the web client and production node_modules, and nothing else', () => {
    expect(readdirSync(app).sort()).toEqual(['dist', 'drizzle', 'image-steps.sh', 'node_modules', 'package.json', 'web']);
    expect(readdirSync(join(app, 'dist'))).toEqual(['main.js']);
    expect(readJson<{ type: string }>(app, 'package.json').type).toBe('module');

    const migrations = readdirSync(join(root, 'drizzle')).filter((name) => name.endsWith('.sql'));
    expect(migrations.length).toBeGreaterThan(0);
    expect(readdirSync(join(app, 'drizzle')).sort()).toEqual([...migrations, 'meta'].sort());
    for (const name of migrations) expect(readText(app, 'drizzle', name)).toBe(readText(root, 'drizzle', name));
    expect(readText(app, 'drizzle', 'meta', '_journal.json')).toBe(readText(root, 'drizzle', 'meta', '_journal.json'));
    expect(readText(app, 'web', 'index.html')).toContain('<div id="root">');

    const sourcesAndMaps = walk(app).filter((path) => /\.(map|[cm]?tsx?)$/.test(path));
    expect(sourcesAndMaps).toEqual([]);
    for (const file of ['dist/main.js', ...walk(join(app, 'web')).map((path) => `web/${path}`).filter((path) => /\.(js|css)$/.test(path))]) {
      expect(readText(app, file)).not.toContain('sourceMappingURL=');
    }
  });

  it('installs production dependencies only, every one at the version the lockfile pins', () => {
    const server = readJson<{ dependencies: Record<string, string>; devDependencies: Record<string, string> }>(root, 'apps', 'server', 'package.json');
    const modules = join(app, 'node_modules');
    const installed = readdirSync(join(modules, '.pnpm'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && entry.name !== 'node_modules')
      .flatMap((entry) => packagesIn(join(modules, '.pnpm', entry.name, 'node_modules')));
    expect(installed.length).toBeGreaterThan(50);

    // The bundle holds the workspace packages; what only they need, and the build tools, are not shipped.
    const names = new Set(installed.map((p) => p.name));
    const bundledOrBuildOnly = ['typescript', 'esbuild', 'vite', 'vitest', 'tsx', 'eslint', 'drizzle-orm', 'openai', 'sharp'];
    for (const name of bundledOrBuildOnly.filter((n) => !(n in server.dependencies))) expect(names).not.toContain(name);
    expect([...names].filter((name) => name.startsWith('@fixthread/'))).toEqual([]);
    expect(existsSync(join(modules, '@fixthread'))).toBe(false);
    // A dev dependency may be installed only as some production package's own dependency (fastify uses ajv).
    const required = new Set(installed.flatMap((p) => [...Object.keys(p.dependencies ?? {}), ...Object.keys(p.optionalDependencies ?? {}), ...Object.keys(p.peerDependencies ?? {})]));
    for (const name of Object.keys(server.devDependencies).filter((dev) => !(dev in server.dependencies))) {
      expect(existsSync(join(modules, name)), `${name} at the top of node_modules`).toBe(false);
      if (names.has(name)) expect(required, `${name} installed though nothing needs it`).toContain(name);
    }
    for (const name of Object.keys(server.dependencies).filter((dep) => !dep.startsWith('@fixthread/'))) {
      expect(existsSync(join(modules, name, 'package.json')), name).toBe(true);
    }

    const lockfile = readText(root, 'pnpm-lock.yaml');
    const locked = new Set([...lockfile.matchAll(/^ {2}'?((?:@[^/\s]+\/)?[^@\s':]+@[^(\s':]+)'?:/gm)].map((m) => m[1]));
    expect(installed.map((p) => `${p.name}@${p.version}`).filter((id) => !locked.has(id))).toEqual([]);
    // The repository patches PGlite; the deployed copy must be the patched one.
    expect(readdirSync(join(modules, '.pnpm')).filter((dir) => dir.startsWith('@electric-sql+pglite@'))).toEqual([
      expect.stringContaining('patch_hash=') as unknown,
    ]);
  });

  it('is self-contained: every symlink stays inside it and no file names the repository or a folder of the build', () => {
    const paths = walk(app);
    const outside: string[] = [];
    for (const path of paths) {
      const full = join(app, path);
      if (!lstatSync(full).isSymbolicLink()) continue;
      const target = realpathSync(full);
      if (!target.startsWith(app + sep)) outside.push(`${path} -> ${target}`);
    }
    expect(outside).toEqual([]);
    expect(paths.filter((path) => lstatSync(join(app, path)).isSymbolicLink()).length).toBeGreaterThan(0);

    // `work` holds the build folder, the build's scratch folders and this copy.
    const needles = [...new Set([root, realpathSync(root), work])].map((path) => Buffer.from(path + sep));
    const naming = paths.filter((path) => {
      const full = join(app, path);
      if (!lstatSync(full).isFile()) return false;
      const bytes = readFileSync(full);
      return needles.some((needle) => bytes.includes(needle));
    });
    expect(naming).toEqual([]);
  });

  const drivers = [{ name: 'pglite' as const }, ...(process.env.TEST_DATABASE_URL ? [{ name: 'postgres' as const }] : [])];
  describe.each(drivers)('started by `image-steps.sh start` as a non-root user, on $name', ({ name: driver }) => {
    let openai: FakeOpenAI;
    let ifixit: FakeIfixit;
    let database: ScratchDatabase;
    let dataDir: string;
    let server: Started;
    let token: string;
    const user = `deploy-${driver}`;
    const redisUrl = process.env.TEST_REDIS_URL;

    beforeAll(async () => {
      openai = await startFakeOpenAI({ defaultReply: { text: REPLY } });
      ifixit = await startFakeIfixit();
      dataDir = join(work, `data-${driver}`);
      mkdirSync(dataDir);
      if (asRoot) chownSync(dataDir, NOBODY.uid, NOBODY.gid);
      database = driver === 'postgres' ? await createScratchDatabase(process.env.TEST_DATABASE_URL!) : pgliteAt(join(dataDir, 'pglite'));
      token = await signToken(user);
      server = await startDeployed(app, {
        PORT: '0',
        HOST: '127.0.0.1',
        JWT_SECRET: TEST_JWT_SECRET,
        DATA_DIR: dataDir,
        OPENAI_API_KEY: 'test-key',
        OPENAI_BASE_URL: openai.baseURL,
        IFIXIT_API_URL: ifixit.apiUrl,
        ...(database.url ? { DATABASE_URL: database.url } : {}),
        ...(redisUrl ? { REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `fixthread-deploy-${randomBytes(4).toString('hex')}:` } : {}),
      });
    });
    afterAll(async () => {
      await kill(server);
      await Promise.all([openai?.close(), ifixit?.close()]);
      await database?.drop();
    });

    it('is node itself, under an unprivileged user, and reports itself healthy', async () => {
      const pid = server.child.pid!;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      // The script execs node, so the signals a container runtime sends reach the server itself.
      expect(/^Name:\s+(\S+)/m.exec(status)?.[1]).toBe('node');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      expect(uid).not.toBe(0);
      if (asRoot) expect(uid).toBe(NOBODY.uid);
      const expected = { status: 'ok', database: driver, redis: redisUrl ? 'up' : 'disabled' };
      const health = await poll(
        () => request(`${server.url}/health`),
        (r) => JSON.stringify(r.body) === JSON.stringify(expected),
      );
      expect(health.status).toBe(200);
      expect(health.body).toEqual(expected);
    });

    it('serves the built web client, and no source maps', async () => {
      const page = await fetch(`${server.url}/`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toBe(readText(app, 'web', 'index.html'));
      const scripts = [...html.matchAll(/src="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
      expect(scripts.length).toBeGreaterThan(0);
      for (const path of scripts) {
        const asset = await fetch(`${server.url}${path}`);
        expect(asset.status).toBe(200);
        expect(asset.headers.get('content-type')).toMatch(/javascript/);
        expect(await asset.text()).not.toContain('sourceMappingURL');
        expect((await fetch(`${server.url}${path}.map`)).status).toBe(404);
      }
      expect((await fetch(`${server.url}/main.js.map`)).status).toBe(404);
    });

    it('streams a turn over REST SSE', async () => {
      const result = await streamChat(server.url, token, 'over server-sent events');
      expect(result.status).toBe(200);
      expect(result.contentType).toMatch(/^text\/event-stream/);
      expect(tokensOf(result.events as TurnEvent[])).toBe(REPLY);
      expect(result.events.at(-1)).toMatchObject({ type: 'done', stopped: false });
    });

    it('streams a turn over a tRPC WebSocket subscription', async () => {
      const client = connect(server.url, token);
      try {
        const { events, error } = await streamViaTrpc(client, 'over a websocket');
        expect(error).toBeUndefined();
        expect(tokensOf(events)).toBe(REPLY);
        expect(events.at(-1)).toMatchObject({ type: 'done', stopped: false });
      } finally {
        await client.close();
      }
    });

    it('on SIGTERM finishes the reply in flight and exits 0; the database it migrated holds every turn', async () => {
      openai.enqueue({ text: REPLY, delayMsBetweenChunks: 25 });
      const response = await fetch(`${server.url}/chat/stream`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'finish this before you go' }),
      });
      const reader = new BodyReader(response);
      const first = await reader.next();
      expect(first).toMatch(/^id: [^\n]+\ndata: /);
      server.child.kill('SIGTERM');
      const body = first + (await reader.rest());
      await server.exited;
      expect(server.exit).toEqual({ code: 0, signal: null });
      expect(body).toMatch(/"type":"done".*"stopped":false/);
      expect(server.logs.join('\n')).toContain('stopped cleanly');

      const journal = readJson<{ entries: { tag: string }[] }>(app, 'drizzle', 'meta', '_journal.json');
      const record = await database.read(user);
      expect(record.migrations).toBe(journal.entries.length);
      expect(record.messages).toEqual([
        ['user', 'over server-sent events'],
        ['assistant', REPLY],
        ['user', 'over a websocket'],
        ['assistant', REPLY],
        ['user', 'finish this before you go'],
        ['assistant', REPLY],
      ]);
    });
  });
});

interface InstalledPackage {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** The packages stored (not linked) in one `.pnpm/<id>/node_modules` folder. */
function packagesIn(dir: string): InstalledPackage[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.name.startsWith('@') && entry.isDirectory()) return packagesIn(path);
    if (!entry.isDirectory()) return [];
    return [JSON.parse(readFileSync(join(path, 'package.json'), 'utf8')) as InstalledPackage];
  });
}

/** `image-steps.sh start` from the app's own folder, as the image's CMD runs it; under `nobody` when we are root. */
async function startDeployed(app: string, env: Record<string, string>): Promise<Started> {
  const command = [join(app, 'image-steps.sh'), 'start'];
  const argv = asRoot ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', '--', ...command] : command;
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: tmpdir(),
    env: { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const server: Started = { child, url: '', logs: [], exit: undefined, exited: undefined! };
  server.exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      server.exit = { code, signal };
      resolve();
    }),
  );
  createInterface({ input: child.stderr }).on('line', (line) => server.logs.push(`[stderr] ${line}`));
  server.url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not listening after 45 s:\n${server.logs.join('\n')}`)), 45_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      server.logs.push(line);
      const url = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
      if (!url) return;
      clearTimeout(timer);
      resolve(url);
    });
    void server.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`exited at start (${JSON.stringify(server.exit)}):\n${server.logs.join('\n')}`));
    });
  });
  return server;
}

/** The database the deployed app migrates itself: created empty, read after the app stopped, then dropped. */
interface ScratchDatabase {
  url: string | undefined;
  read(userId: string): Promise<{ migrations: number; messages: [string, string][] }>;
  drop(): Promise<void>;
}

const MIGRATIONS_SQL = 'select count(*)::int as count from drizzle.__drizzle_migrations';
const MESSAGES_SQL = 'select role, content from conversations where user_id = $1 order by id';

async function createScratchDatabase(adminUrl: string): Promise<ScratchDatabase> {
  const name = `fixthread_deploy_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${name}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    read: async (userId) => {
      const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
      try {
        const [{ count }] = (await sql.unsafe(MIGRATIONS_SQL)) as unknown as [{ count: number }];
        const rows = (await sql.unsafe(MESSAGES_SQL, [userId])) as unknown as { role: string; content: string }[];
        return { migrations: count, messages: rows.map((r) => [r.role, r.content]) };
      } finally {
        await sql.end();
      }
    },
    drop: async () => {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    },
  };
}

/** The app's own PGlite folder, opened only once the app has exited (PGlite allows one process at a time). */
function pgliteAt(dir: string): ScratchDatabase {
  return {
    url: undefined,
    read: async (userId) => {
      const db = await PGlite.create(dir);
      try {
        const migrations = await db.query<{ count: number }>(MIGRATIONS_SQL);
        const rows = await db.query<{ role: string; content: string }>(MESSAGES_SQL, [userId]);
        return { migrations: migrations.rows[0]!.count, messages: rows.rows.map((r) => [r.role, r.content]) };
      } finally {
        await db.close();
      }
    },
    drop: async () => {},
  };
}

/** The body of the first `header { ... }` block in an nginx config, braces balanced. */
function nginxBlock(config: string, header: string): string {
  const start = config.indexOf(`${header} {`);
  if (start < 0) throw new Error(`no "${header} {" block`);
  let depth = 0;
  for (let i = config.indexOf('{', start); i < config.length; i++) {
    if (config[i] === '{') depth++;
    if (config[i] === '}' && --depth === 0) return config.slice(config.indexOf('{', start) + 1, i);
  }
  throw new Error(`unbalanced "${header}" block`);
}

function nginxSeconds(value: string | undefined): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value ?? '');
  if (!match) return NaN;
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] ?? 's']!;
  return Number(match[1]) * unit;
}

type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

/**
 * The YAML compose.yaml uses (no YAML library is a dependency here): block mappings and sequences, JSON-style
 * flow sequences, quoted and plain scalars, comments, `&anchor`, `*alias` and `<<:` merges. Anything else
 * (tabs, inconsistent indentation, block scalars, flow mappings, duplicate keys) throws.
 */
function parseComposeYaml(text: string): Yaml {
  const lines = text
    .split('\n')
    .map((raw, index) => ({ raw: raw.trimEnd(), number: index + 1 }))
    .filter(({ raw }) => raw.trim() !== '' && !raw.trim().startsWith('#'));
  const anchors = new Map<string, Yaml>();
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`compose.yaml line ${lines[at]?.number ?? 'end'}: ${why}`);
  };
  const indentOf = (i: number) => {
    const raw = lines[i]!.raw;
    if (/^\s*\t/.test(raw)) fail('tab in indentation');
    return raw.length - raw.trimStart().length;
  };
  const withoutComment = (value: string) => (/^["'[]/.test(value) ? value : value.replace(/\s+#.*$/, ''));

  function scalar(raw: string): Yaml {
    const value = withoutComment(raw.trim());
    const alias = /^\*([\w-]+)$/.exec(value);
    if (alias) return anchors.has(alias[1]!) ? structuredClone(anchors.get(alias[1]!)!) : fail(`unknown alias *${alias[1]}`);
    if (value.startsWith('"')) return JSON.parse(/^"(?:[^"\\]|\\.)*"/.exec(value)?.[0] ?? fail('unterminated string')) as string;
    if (value.startsWith("'")) return (/^'((?:[^']|'')*)'/.exec(value)?.[1] ?? fail('unterminated string')).replace(/''/g, "'");
    if (value.startsWith('[')) return JSON.parse(value) as Yaml[];
    if (/^[{|>&!%@`]/.test(value)) fail(`unsupported YAML: ${value}`);
    if (value === 'true' || value === 'false') return value === 'true';
    if (value === 'null' || value === '~') return null;
    if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
    return value;
  }

  function block(indent: number): Yaml {
    return lines[at]!.raw.trimStart().startsWith('- ') ? sequence(indent) : mapping(indent);
  }

  function nested(indent: number): Yaml {
    return at < lines.length && indentOf(at) > indent ? block(indentOf(at)) : null;
  }

  function sequence(indent: number): Yaml[] {
    const items: Yaml[] = [];
    while (at < lines.length && indentOf(at) === indent && lines[at]!.raw.trimStart().startsWith('- ')) {
      const item = lines[at]!.raw.trimStart().slice(2);
      if (/^[\w-]+:(\s|$)/.test(item)) fail('mappings inside sequences are not supported');
      at++;
      items.push(scalar(item));
    }
    return items;
  }

  function mapping(indent: number): Record<string, Yaml> {
    const map: Record<string, Yaml> = {};
    const merged: Record<string, Yaml> = {};
    while (at < lines.length && indentOf(at) === indent) {
      const entry = /^("[^"]*"|'[^']*'|[^\s"'#-][^:]*|<<):(?:\s+(.*))?$/.exec(lines[at]!.raw.trim()) ?? fail('expected "key: value"');
      const key = entry[1]!.replace(/^["']|["']$/g, '');
      let rest = withoutComment(entry[2]?.trim() ?? '');
      at++;
      const anchor = /^&([\w-]+)\s*(.*)$/.exec(rest);
      if (anchor) rest = anchor[2]!;
      const value = rest === '' ? nested(indent) : scalar(rest);
      if (anchor) anchors.set(anchor[1]!, value);
      if (key === '<<') {
        if (!value || typeof value !== 'object' || Array.isArray(value)) fail('<< needs a mapping');
        Object.assign(merged, value);
        continue;
      }
      if (key in map) fail(`duplicate key ${key}`);
      map[key] = value;
    }
    if (at < lines.length && indentOf(at) > indent) fail('unexpected indentation');
    return { ...merged, ...map };
  }

  const document = block(0);
  if (at < lines.length) fail('unexpected indentation');
  return document;
}
