export { startSystem, type SystemOptions, type RunningSystem } from './system.ts';
export { runScenarios, SCENARIOS, type ScenarioRunOptions } from './test-scenario.ts';
export { formatTable, toRow, type ScenarioRow } from './scenario-table.ts';
export { clearLeftoverFaults, dropDatabaseAndTopic, recreateDatabaseAndTopic } from './scratch.ts';
