import { resolve } from 'node:path';
import { defineConfig } from 'drizzle-kit';

// drizzle-kit runs outside the app, so it resolves the database the same way the server's env does:
// DATABASE_URL when set, otherwise the embedded PGlite directory under DATA_DIR.
const databaseUrl = process.env.DATABASE_URL;
const dataDir = resolve(process.env.DATA_DIR ?? '.data');

export default defineConfig({
  dialect: 'postgresql',
  schema: './packages/core/src/db/schema.ts',
  out: './drizzle',
  ...(databaseUrl
    ? { dbCredentials: { url: databaseUrl } }
    : { driver: 'pglite', dbCredentials: { url: resolve(dataDir, 'pglite') } }),
});
