export { main } from './cli.ts';
export { TOGGLES, findToggle, describeFault, type Toggle, type Fault, type NumberOption } from './toggles.ts';
export { parseDuration, formatDuration } from './duration.ts';
export { ChaosLedger, readRecords, sweepLeftovers, toxicName, ownerPid, TOXIC_PREFIX, PROXIES, type ChaosRecord } from './ledger.ts';
export { openSession, runToggle, hold, type ChaosSession } from './run-toggle.ts';
export { clearAll, type ClearReport } from './clear.ts';
export { listState, describeToxic } from './list.ts';
export { parseSchedule, readSchedule, runSchedule, formatTimeline, type PlayedStep, type Schedule, type ScheduleStep } from './schedule.ts';
export { findRelayProcesses, killHard, relayOfStack, respawn, RELAY_ENTRY, type FoundProcess, type ProcessSpec } from './processes.ts';
