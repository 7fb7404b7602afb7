export { testDrivers, openPgliteTestDatabase, openPostgresTestDatabase, type TestDatabase, type TestDriver } from './test-databases';
