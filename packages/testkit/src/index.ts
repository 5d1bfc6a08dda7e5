export { useLab, shortHash, type Lab, type LabOptions } from './lab.ts';
export { ToxicHelper, type ProxyName, type ToxicSpec, type AddedToxic } from '@dual-write/faults';
export { LeakTracker } from './leaks.ts';
export { labVitestConfig, globalSetupPath } from './vitest-preset.ts';
export { startCommand, runCommand, type RunningCommand } from './commands.ts';
export { freePort } from '@dual-write/stack';
export { exportedNames, undocumented } from './exports.ts';
export { usePgbouncer, type Pooler } from './pooler.ts';
export { isolatedClusterStack, type IsolatedClusterStack } from './cluster-stack.ts';
