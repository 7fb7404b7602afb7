import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadEnv, pgliteDir } from '../env';
import { acquirePgliteLock, liveHolderOf, PgliteInUse, type PgliteLockHolder } from '../pglite-lock';
import { workspaceRoot } from '../workspace-root';

/**
 * `pnpm db:studio`: drizzle-kit studio on the database the server uses. The embedded PGlite is refused while a
 * server (or another studio) has it open, since two processes writing one PGlite directory corrupt it; while
 * studio runs, it holds the directory in turn, so a server started meanwhile refuses too. `--check` only says
 * whether studio could open it (exit 0) or not (exit 1).
 */
const inUseAdvice = (holder: PgliteLockHolder) =>
  `${holder.user === 'studio' ? 'Close that studio' : 'Stop the server'} first, or set DATABASE_URL to inspect Postgres.`;

const env = loadEnv();
const checkOnly = process.argv.includes('--check');
const studioArgs = process.argv.slice(2).filter((arg) => arg !== '--check');

if (env.DATABASE_URL) {
  if (checkOnly) {
    process.stdout.write(`Postgres at ${new URL(env.DATABASE_URL).host}: drizzle-kit studio may open it alongside the server.\n`);
    process.exit(0);
  }
  runStudio(() => {});
} else {
  const dir = pgliteDir(env);
  if (checkOnly) {
    const holder = liveHolderOf(dir);
    if (holder) refuse(new PgliteInUse(dir, holder, inUseAdvice(holder)));
    process.stdout.write(`The PGlite database at ${dir} is free: drizzle-kit studio may open it.\n`);
    process.exit(0);
  }
  let lock: { release(): void };
  try {
    lock = acquirePgliteLock(dir, 'studio', inUseAdvice);
  } catch (error) {
    if (error instanceof PgliteInUse) refuse(error);
    throw error;
  }
  runStudio(() => lock.release());
}

function refuse(error: PgliteInUse): never {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

function runStudio(onExit: () => void): void {
  const root = workspaceRoot();
  // drizzle.config.ts at the root resolves the same database from DATABASE_URL / DATA_DIR.
  const child = spawn(join(root, 'node_modules', '.bin', 'drizzle-kit'), ['studio', ...studioArgs], { cwd: root, stdio: 'inherit' });
  // Ctrl+C reaches studio too; this process waits for it to exit, so the lock goes only once studio has closed.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  child.once('error', (error) => {
    onExit();
    process.stderr.write(`Could not start drizzle-kit studio: ${error.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    onExit();
    process.exit(code ?? (signal ? 1 : 0));
  });
}
