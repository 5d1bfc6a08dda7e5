/**
 * What GET /api/v1/bad-scenario takes: the kinds, strategies, causes and defaults. No imports, so the plugin
 * (../fault-scenarios.ts) can describe its query without loading the scenarios themselves.
 */
export const SCENARIO_KINDS = ['db', 'mq', 'pool', 'early'] as const;
export type ScenarioKind = (typeof SCENARIO_KINDS)[number];

export const SCENARIO_STRATEGIES = ['naive', 'outbox'] as const;
export type ScenarioStrategy = (typeof SCENARIO_STRATEGIES)[number];

/** kind=mq: `broker` (Kafka cut after commit) or `crash` (the writer process killed between commit and send). */
export const BLACK_HOLE_CAUSES = ['broker', 'crash'] as const;
export type BlackHoleCause = (typeof BLACK_HOLE_CAUSES)[number];

/** kind=pool: the Kafka latency and the size of the order burst, unless the query says otherwise. */
export const POOL_DEFAULTS = { latencyMs: 5000, burst: 20 } as const;

/** kind=early with strategy=outbox: how long the transaction's further work lasts after the outbox row. */
export const EARLY_DEFAULTS = { holdMs: 1000 } as const;

/** One scenario run, as the query asks for it. */
export interface ScenarioQuery {
  kind: ScenarioKind;
  strategy?: ScenarioStrategy;
  cause?: BlackHoleCause;
  latencyMs?: number;
  burst?: number;
  holdMs?: number;
}
