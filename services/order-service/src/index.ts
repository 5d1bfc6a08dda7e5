export { buildApp, migrateDatabase, type App, type AppOptions } from './app.ts';
export type { ScenarioReport } from './scenarios/report.ts';
export { SCENARIO_KINDS } from './http/bad-scenario-routes.ts';
export { closeOnSignals, runMain } from './process-lifecycle.ts';
