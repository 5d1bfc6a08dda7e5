export { runPoolExhaustionLoad, TOXIC_PREFIXES, type PoolLoadOptions, type PoolLoadReport } from './run.ts';
export { parsePoolArgs, HELP as POOL_EXHAUSTION_HELP, type PoolArgs } from './args.ts';
export { formatSummary, rowFigures, errorKind, ERROR_KINDS, ROWS, type Figures, type RowFigures, type RowName } from './summary.ts';
export { THRESHOLDS, evaluateThresholds, k6Thresholds, type Threshold, type ThresholdVerdict } from './thresholds.ts';
export { Cleanup, acquireLabLock, LAB_LOCK_KEY } from '@dual-write/faults';
