export { useLab, shortHash, type Lab, type LabOptions } from './lab.ts';
export { ToxicHelper, type ProxyName, type ToxicSpec, type AddedToxic } from './toxics.ts';
export { LeakTracker } from './leaks.ts';
export { labVitestConfig, globalSetupPath } from './vitest-preset.ts';
