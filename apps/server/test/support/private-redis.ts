import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, portAccepts } from './private-postgres';

/**
 * A throwaway redis-server of its own (its own port, directory and process) that a test may stop, restart and
 * crash as it likes. The shared Redis on 6379 is never touched. Nothing is persisted (`--save ""`,
 * `--appendonly no`): a restart comes back empty, as a Redis without persistence does.
 */
export interface PrivateRedis extends AsyncDisposable {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** The server's working directory (nothing is written there, but Redis wants one). */
  readonly dir: string;
  /** SIGTERM, then waits for the process to exit and the port to refuse connections. */
  stop(): Promise<void>;
  /** Starts redis-server again on the same port; resolves once it answers PING. */
  start(): Promise<void>;
  /** `stop()` then `start()`. */
  restart(): Promise<void>;
  /** A crash: SIGKILL, then waits until the port refuses connections. `start()` afterwards brings it back. */
  kill(): Promise<void>;
  isRunning(): boolean;
  /** One command over a fresh connection, its reply decoded (RESP2: strings, integers, arrays, null). */
  command(...args: string[]): Promise<RespValue>;
  /** The server's output so far (for failure messages). */
  log(): string;
}

export type RespValue = string | number | null | RespValue[];

const LOOPBACK = '127.0.0.1';
const DEFAULT_BINARY = '/usr/bin/redis-server';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The redis-server binary (`override`, e.g. a test's REDIS_SERVER, else /usr/bin/redis-server); undefined when absent. */
export function redisServerBinary(override?: string): string | undefined {
  const path = override || DEFAULT_BINARY;
  return existsSync(path) ? path : undefined;
}

export async function startPrivateRedis(options: { binary?: string } = {}): Promise<PrivateRedis> {
  const binary = redisServerBinary(options.binary);
  if (!binary) throw new Error(`redis-server not found (looked for ${options.binary || DEFAULT_BINARY})`);
  const dir = mkdtempSync(join(tmpdir(), 'fixthread-private-redis-'));
  const port = await freePort();
  const lines: string[] = [];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let disposed = false;

  const cleanUpOnExit = () => {
    // The test process is going away without disposing (a crash, a killed worker): take the server along.
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanUpOnExit);

  const isRunning = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  async function waitUntilRefused(deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    while (await portAccepts(port, 200)) {
      if (Date.now() > deadline)
        throw new Error(`port ${port} still accepts connections after redis-server exited`);
      await sleep(20);
    }
  }

  const start = async () => {
    if (isRunning()) throw new Error('start(): redis-server is already running');
    const spawned = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        LOOPBACK,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--dir',
        dir,
        '--logfile',
        '',
        '--protected-mode',
        'no',
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = spawned;
    exited = new Promise((resolve) => spawned.once('exit', () => resolve()));
    // A binary that cannot be run at all reports it here rather than by exiting.
    const failedToSpawn = new Promise<Error>((resolve) => spawned.once('error', resolve));
    createInterface({ input: spawned.stdout }).on('line', (line) => lines.push(line));
    createInterface({ input: spawned.stderr }).on('line', (line) => lines.push(`[stderr] ${line}`));
    const deadline = Date.now() + 15_000;
    for (;;) {
      const spawnError = await Promise.race([failedToSpawn, sleep(50).then(() => undefined)]);
      if (spawnError) throw new Error(`redis-server did not start: ${spawnError.message}`);
      if (!isRunning()) {
        throw new Error(
          `redis-server exited at start (${spawned.exitCode ?? spawned.signalCode}):\n${lines.join('\n')}`,
        );
      }
      const pong = await command('PING').catch(() => undefined);
      if (pong === 'PONG') return;
      if (Date.now() > deadline)
        throw new Error(`redis-server not answering PING after 15 s:\n${lines.join('\n')}`);
    }
  };

  const stop = async () => {
    if (!isRunning()) return;
    child!.kill('SIGTERM');
    const gone = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
    if (!gone) {
      child!.kill('SIGKILL');
      await exited;
    }
    await waitUntilRefused(5_000);
  };

  const kill = async () => {
    if (!isRunning()) throw new Error('kill(): redis-server is not running');
    child!.kill('SIGKILL');
    await exited;
    await waitUntilRefused(5_000);
  };

  function command(...args: string[]): Promise<RespValue> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host: LOOPBACK, port });
      let buffer = Buffer.alloc(0);
      const fail = (error: Error) => {
        socket.destroy();
        reject(error);
      };
      socket.setTimeout(2_000, () => fail(new Error(`redis ${args[0]}: no reply within 2 s`)));
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.write(
          `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`,
        );
      });
      socket.on('data', (data: Buffer) => {
        buffer = Buffer.concat([buffer, data]);
        let parsed: { value: RespValue; end: number } | undefined;
        try {
          parsed = parseResp(buffer, 0);
        } catch (error) {
          fail(error as Error);
          return;
        }
        if (!parsed) return;
        socket.end();
        resolve(parsed.value);
      });
    });
  }

  try {
    await start();
  } catch (error) {
    cleanUpOnExit();
    process.off('exit', cleanUpOnExit);
    throw error;
  }

  return {
    url: `redis://${LOOPBACK}:${port}`,
    port,
    dir,
    stop,
    start,
    restart: async () => {
      await stop();
      await start();
    },
    kill,
    isRunning,
    command,
    log: () => lines.join('\n'),
    [Symbol.asyncDispose]: async () => {
      if (disposed) return;
      disposed = true;
      if (isRunning()) {
        child!.kill('SIGKILL');
        await exited;
      }
      process.off('exit', cleanUpOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Decodes one RESP2 value at `start`; undefined while it is incomplete. Error replies throw. */
function parseResp(buffer: Buffer, start: number): { value: RespValue; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', start);
  if (lineEnd === -1) return undefined;
  const kind = String.fromCharCode(buffer[start]!);
  const line = buffer.toString('utf8', start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (kind) {
    case '+':
      return { value: line, end: next };
    case '-':
      throw new Error(`redis error: ${line}`);
    case ':':
      return { value: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseResp(buffer, at);
        if (!item) return undefined;
        items.push(item.value);
        at = item.end;
      }
      return { value: items, end: at };
    }
    default:
      throw new Error(`unexpected RESP reply: ${JSON.stringify(buffer.toString('utf8', start, lineEnd))}`);
  }
}
