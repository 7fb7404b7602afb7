import { openDatabase } from '@fixthread/core';
import { loadEnv, pgliteDir } from '../env';

// Opening the database applies pending migrations (under an advisory lock on Postgres).
const env = loadEnv();
const database = await openDatabase({ databaseUrl: env.DATABASE_URL, pgliteDir: pgliteDir(env) });
await database.close();
process.stdout.write(`Migrations applied (${database.driver}${database.driver === 'pglite' ? ` at ${pgliteDir(env)}` : ''}).\n`);
