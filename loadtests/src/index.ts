export { runPoolExhaustionLoad, runPoolExhaustion, TOXIC_PREFIXES, type PoolLoadOptions, type PoolLoadReport, type PoolRunReport, type OutboxDrain } from './run.ts';
export { parsePoolArgs, HELP as POOL_EXHAUSTION_HELP, type PoolArgs } from './args.ts';
export { formatSummary, rowFigures, errorKind, ERROR_KINDS, ROWS, type Figures, type RowFigures, type RowName } from './summary.ts';
export { THRESHOLDS, evaluateThresholds, k6Thresholds, type Threshold, type ThresholdVerdict } from './thresholds.ts';
export { Cleanup, acquireLabLock, LAB_LOCK_KEY } from '@dual-write/faults';
export { runPoolExhaustionCompare, formatCompare, outboxHeld, COMPARED, type CompareReport, type ComparedStrategy } from './compare.ts';
export { runOrdersLoad, malformedBody, malformedKindOf, arrivalTimes, MALFORMED_KINDS, type MalformedKind, type OrdersLoadResult, type RateStage } from './orders-load.ts';
export { ORDERS_THRESHOLDS, ordersK6Thresholds, evaluateOrdersThresholds, formatOrdersSummary } from './orders-summary.ts';
export { PROFILES, burstStages, parseOrdersArgs, ordersHelp, runOrdersProfile, type OrdersArgs, type OrdersReport, type Profile } from './orders-cli.ts';
