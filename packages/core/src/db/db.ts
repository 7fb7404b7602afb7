import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type * as schema from './schema';

/** Either driver's database: query functions take this first so tests can hand them PGlite or Postgres. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
