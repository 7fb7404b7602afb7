import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A throwaway PostgreSQL cluster of its own (its own directory, port and processes) that a test may stop,
 * restart and crash as it likes. The shared Postgres on 5432 is never touched.
 */
export interface PrivatePostgres extends AsyncDisposable {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust auth, the default database). */
  readonly url: string;
  readonly port: number;
  /** The cluster's directory (data, socket, log). */
  readonly dir: string;
  /** `pg_ctl stop -w`: `fast` disconnects the sessions cleanly, `immediate` quits without a checkpoint. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** `pg_ctl start -w`: resolves once the cluster accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl restart -m fast -w`. */
  restart(): Promise<void>;
  /**
   * A crash: SIGKILL to the postmaster and every backend it has, then waits until the port refuses
   * connections. `start()` afterwards recovers the cluster.
   */
  kill(): Promise<void>;
  /** Whether a live postmaster owns the data directory. */
  isRunning(): boolean;
  /** The server's log so far (for failure messages). */
  log(): string;
}

const LOOPBACK = '127.0.0.1';

/**
 * The installed PostgreSQL's binaries, preferring 15 (else the newest); undefined when none is installed.
 * `override` (a test's PG_BIN_DIR) names the directory instead.
 */
export function postgresBinDir(override?: string): string | undefined {
  if (override) return existsSync(join(override, 'pg_ctl')) ? override : undefined;
  const base = '/usr/lib/postgresql';
  const candidates = existsSync(base) ? readdirSync(base) : [];
  const newestFirst = candidates.sort((a, b) => Number(b) - Number(a));
  const ordered = newestFirst.includes('15') ? ['15', ...newestFirst.filter((v) => v !== '15')] : newestFirst;
  for (const version of ordered) {
    const bin = join(base, version, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  return undefined;
}

/** A port nobody listens on right now (the kernel's pick for port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Whether something accepts TCP connections on the port. */
export function portAccepts(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: LOOPBACK, port });
    const finish = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Alive and not a zombie. Killed postgres processes are re-parented to PID 1, and not every container's PID 1
 * reaps them; a zombie holds no resources, so it counts as gone.
 */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const { stdout } = await run('pgrep', ['-P', String(pid)]);
    return stdout
      .split('\n')
      .filter((line) => /^\d+$/.test(line.trim()))
      .map(Number);
  } catch {
    // pgrep exits 1 when there are none.
    return [];
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/**
 * initdb + pg_ctl start on a free port, in a fresh directory under the OS temp dir. Postgres refuses to run as
 * root, so as root every command runs as the `postgres` user (who then owns the directory).
 */
export async function startPrivatePostgres(options: { binDir?: string } = {}): Promise<PrivatePostgres> {
  const binDir = options.binDir ?? postgresBinDir();
  if (!binDir) throw new Error('PostgreSQL binaries not found (looked in /usr/lib/postgresql/*/bin)');
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'fixthread-private-pg-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }

  const pg = async (binary: string, args: string[], timeoutMs = 30_000) => {
    const command = join(binDir, binary);
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
    try {
      return await run(file, argv, { timeout: timeoutMs });
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(
        `${binary} ${args.join(' ')} failed: ${failed.message}\n${failed.stdout ?? ''}${failed.stderr ?? ''}\n--- log ---\n${readLog()}`,
      );
    }
  };
  const readLog = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };

  let disposed = false;
  const cleanUpOnExit = () => {
    // The test process is going away without disposing (a crash, a killed worker): take the cluster along.
    const pid = postmasterPid();
    if (pid !== undefined) signal(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanUpOnExit);

  try {
    await pg(
      'initdb',
      [
        '-D',
        dataDir,
        '-A',
        'trust',
        '-U',
        'postgres',
        '--no-sync',
        '-E',
        'UTF8',
        '--no-locale',
        '--no-instructions',
      ],
      60_000,
    );
  } catch (error) {
    process.off('exit', cleanUpOnExit);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const port = await freePort();
  const serverOptions = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c shared_buffers=16MB',
    '-c max_connections=60',
  ].join(' ');

  function postmasterPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  function isRunning(): boolean {
    const pid = postmasterPid();
    return pid !== undefined && isAlive(pid);
  }

  /** A killed postmaster leaves its lock files; with an unreaped zombie on that PID, Postgres would refuse to start. */
  function removeStaleLockFiles(): void {
    if (isRunning()) return;
    rmSync(join(dataDir, 'postmaster.pid'), { force: true });
    rmSync(join(dir, `.s.PGSQL.${port}.lock`), { force: true });
  }

  async function waitUntilRefused(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (await portAccepts(port, 200)) {
      if (Date.now() > deadline) throw new Error(`port ${port} still accepts connections after the kill`);
      await sleep(20);
    }
  }

  const start = async () => {
    removeStaleLockFiles();
    await pg('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '30', '-o', serverOptions]);
  };

  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    if (!isRunning()) return;
    await pg('pg_ctl', ['stop', '-D', dataDir, '-m', mode, '-w', '-t', '30']);
  };

  const restart = async () => {
    // -l matters: without it the new postmaster writes to pg_ctl's stdout, and the pipe never closes.
    await pg('pg_ctl', [
      'restart',
      '-D',
      dataDir,
      '-l',
      logFile,
      '-m',
      'fast',
      '-w',
      '-t',
      '30',
      '-o',
      serverOptions,
    ]);
  };

  const kill = async () => {
    const pid = postmasterPid();
    if (pid === undefined || !isAlive(pid)) throw new Error('kill(): the cluster is not running');
    // Frozen, the postmaster can neither fork a new backend nor restart the ones we kill: the list stays complete.
    signal(pid, 'SIGSTOP');
    const children = await childrenOf(pid);
    signal(pid, 'SIGKILL');
    for (const child of children) signal(child, 'SIGKILL');
    const deadline = Date.now() + 5_000;
    while ([pid, ...children].some(isAlive)) {
      if (Date.now() > deadline)
        throw new Error(
          `postgres processes survived SIGKILL: ${[pid, ...children].filter(isAlive).join(' ')}`,
        );
      await sleep(10);
    }
    await waitUntilRefused(5_000);
  };

  try {
    await start();
  } catch (error) {
    process.off('exit', cleanUpOnExit);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    url: `postgres://postgres@${LOOPBACK}:${port}/postgres`,
    port,
    dir,
    start,
    stop,
    restart,
    kill,
    isRunning,
    log: readLog,
    [Symbol.asyncDispose]: async () => {
      if (disposed) return;
      disposed = true;
      try {
        await stop('immediate');
      } catch {
        const pid = postmasterPid();
        if (pid !== undefined) {
          for (const child of await childrenOf(pid)) signal(child, 'SIGKILL');
          signal(pid, 'SIGKILL');
        }
      }
      process.off('exit', cleanUpOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
