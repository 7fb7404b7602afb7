export { testDrivers, openPgliteTestDatabase, openPostgresTestDatabase, type TestDatabase, type TestDriver } from './test-databases';
export { startEngineFixture, type EngineFixture, type EngineOverrides } from './engine-fixture';
