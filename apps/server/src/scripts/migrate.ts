import { loadEnv, pgliteDir } from '../env';
import { PgliteInUse } from '../pglite-lock';
import { openServerDatabase } from '../server-database';

// Opening the database applies pending migrations (under an advisory lock on Postgres). On PGlite it takes the
// directory's lock like the server does: migrating a directory a running server or studio holds would corrupt it.
const env = loadEnv();
try {
  const database = await openServerDatabase(env);
  await database.close();
  process.stdout.write(`Migrations applied (${database.driver}${database.driver === 'pglite' ? ` at ${pgliteDir(env)}` : ''}).\n`);
} catch (error) {
  if (!(error instanceof PgliteInUse)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
}
