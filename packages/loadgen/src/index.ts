export { percentile, summarize, type CallResult, type CallSummary } from './stats.ts';
export { timedCall, postJson } from './http-call.ts';
export { runPoolBurst, SAMPLE_ITEMS, type PoolBurstOptions, type PoolBurstResult } from './pool-burst.ts';
