export { openDatabase, type Database, type Driver, type OpenDatabaseOptions } from './open-database';
export type { Db } from './db';
export { migrationsDir } from './migrations-dir';
export * as schema from './schema';
export { createDatabaseGuard, isDatabaseUnreachable, type DatabaseGuard } from './database-guard';
