export { ToxicHelper, type ProxyName, type ToxicSpec, type AddedToxic, type ToxicInfo } from './toxics.ts';
export { acquireLabLock, LAB_LOCK_KEY } from './lab-lock.ts';
export { Cleanup } from './cleanup.ts';
export { runCleanupOnSignals, type SignalCleanupOptions } from './signals.ts';
