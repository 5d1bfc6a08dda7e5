/**
 * LAB-ONLY: what the lab mounts on the order service, `@dual-write/order-service/lab`. The production app
 * (src/app.ts, src/orders/, src/http/) never imports this folder; the entries that assemble the lab do.
 */
export { faultScenarios, type FaultScenariosOptions } from './fault-scenarios.ts';
export { BLACK_HOLE_CAUSES, POOL_DEFAULTS, SCENARIO_KINDS, SCENARIO_STRATEGIES, type ScenarioQuery } from './scenarios/kinds.ts';
export type { ScenarioReport } from './scenarios/report.ts';
