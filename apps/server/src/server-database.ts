import { openDatabase, type Database } from '@fixthread/core';
import { pgliteDir, type Env } from './env';
import { acquirePgliteLock, type PgliteLockHolder } from './pglite-lock';

const inUseAdvice = (holder: PgliteLockHolder) =>
  `PGlite allows one process at a time: ${holder.user === 'studio' ? 'close studio' : 'stop that server'} first, ` +
  'give this server another DATA_DIR, or set DATABASE_URL to run several instances on Postgres.';

/**
 * The server's database: Postgres at DATABASE_URL, or the embedded PGlite under DATA_DIR, held for this
 * process alone until `close()` (PgliteInUse when another process holds it).
 */
export async function openServerDatabase(env: Env): Promise<Database> {
  if (env.DATABASE_URL) return openDatabase({ databaseUrl: env.DATABASE_URL });
  const dir = pgliteDir(env);
  const lock = acquirePgliteLock(dir, 'server', inUseAdvice);
  try {
    const database = await openDatabase({ pgliteDir: dir });
    return {
      ...database,
      close: async () => {
        try {
          await database.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}
