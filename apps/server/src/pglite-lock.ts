import { linkSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

/** Who holds a PGlite directory: the server, or drizzle-kit studio started by `pnpm db:studio`. */
export type PgliteUser = 'server' | 'studio';

export interface PgliteLockHolder {
  pid: number;
  user: PgliteUser;
  startedAt: string;
  hostname: string;
}

/** The directory is open in another live process. */
export class PgliteInUse extends Error {
  constructor(
    readonly dir: string,
    readonly holder: PgliteLockHolder,
    advice: string,
  ) {
    super(`The PGlite database at ${dir} is in use by ${describeUser(holder)} (pid ${holder.pid}). ${advice}`);
    this.name = 'PgliteInUse';
  }
}

const LOCK_FILE = 'fixthread.lock';

/** Lock files this process holds: a lock with this process's pid is its own only if it is listed here. */
const heldHere = new Set<string>();

export function lockFileOf(dir: string): string {
  return join(resolve(dir), LOCK_FILE);
}

/**
 * PGlite is Postgres compiled to run inside one process, with none of its locking across processes: a second
 * process writing the same directory corrupts it. So whoever opens it first leaves its pid in it, and whoever
 * comes next refuses while that process lives. A lock left by a process that died is taken over.
 */
export function acquirePgliteLock(dir: string, user: PgliteUser, advice: (holder: PgliteLockHolder) => string): { release(): void } {
  mkdirSync(dir, { recursive: true });
  const file = lockFileOf(dir);
  const mine: PgliteLockHolder = { pid: process.pid, user, startedAt: new Date().toISOString(), hostname: hostname() };
  // Written whole to a file of its own, then linked into place: a reader never sees a half-written lock, and
  // the link fails if anyone got there first.
  const draft = `${file}.${process.pid}.draft`;
  writeFileSync(draft, JSON.stringify(mine));
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(draft, file);
        heldHere.add(file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const holder = liveHolderOf(dir);
        if (holder) throw new PgliteInUse(dir, holder, advice(holder));
        if (attempt > 0) throw error;
        rmSync(file, { force: true });
      }
    }
  } finally {
    rmSync(draft, { force: true });
  }
  return {
    release: () => {
      heldHere.delete(file);
      const current = readHolder(file);
      if (current?.pid !== mine.pid || current.startedAt !== mine.startedAt) return;
      try {
        unlinkSync(file);
      } catch {
        // Already gone: nothing to release.
      }
    },
  };
}

/** The live process holding the directory, or undefined when it is free (no lock, or the lock of a dead process). */
export function liveHolderOf(dir: string): PgliteLockHolder | undefined {
  const file = lockFileOf(dir);
  const holder = readHolder(file);
  if (!holder) return undefined;
  // A container restarted from the same volume often gets the same pid as before: unless this process took
  // the lock itself, a lock with its pid was left by an earlier one.
  if (holder.pid === process.pid) return heldHere.has(file) ? holder : undefined;
  return isAlive(holder.pid) ? holder : undefined;
}

function readHolder(file: string): PgliteLockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<PgliteLockHolder>;
    return Number.isInteger(parsed.pid) ? (parsed as PgliteLockHolder) : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describeUser(holder: PgliteLockHolder): string {
  return holder.user === 'studio' ? 'drizzle-kit studio' : 'the FixThread server';
}
