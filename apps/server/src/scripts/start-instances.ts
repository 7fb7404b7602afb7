import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { EnvError, loadEnv } from '../env';
import { workspaceRoot } from '../workspace-root';

/**
 * `pnpm start:instances [N]`: N servers from the production bundle on ports PORT … PORT+N-1, all on
 * DATABASE_URL and REDIS_URL, for trying several instances on one machine (put a load balancer in front).
 * Signals are passed on, so Ctrl-C shuts every instance down gracefully.
 */
const count = Number(process.argv[2] ?? 3);
if (!Number.isInteger(count) || count < 1 || count > 64) fail('usage: pnpm start:instances [N], N between 1 and 64');

let env;
try {
  env = loadEnv();
} catch (error) {
  if (error instanceof EnvError) fail(error.message);
  throw error;
}
if (!env.DATABASE_URL) fail('DATABASE_URL must be set: instances share one Postgres (the embedded PGlite is one process only)');
if (!env.REDIS_URL) fail('REDIS_URL must be set: instances share live events and stops through Redis');
if (env.PORT === 0 || env.PORT + count - 1 > 65_535) fail('PORT must leave room for N consecutive ports');

const main = join(workspaceRoot(), 'apps', 'server', 'dist', 'main.js');
const children: ChildProcess[] = [];
for (let i = 0; i < count; i++) {
  const port = env.PORT + i;
  // eslint-disable-next-line no-restricted-properties -- passed through untouched; each instance validates it
  const child = spawn(process.execPath, [main], { env: { ...process.env, PORT: String(port) }, stdio: 'inherit' });
  child.once('exit', (code, signal) => {
    process.stderr.write(`instance on port ${port} exited (${signal ?? `code ${code}`})\n`);
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(0);
  });
  children.push(child);
}
process.stderr.write(`started ${count} instances on ports ${env.PORT}-${env.PORT + count - 1}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of children) child.kill(signal);
  });
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
