import { defineConfig } from 'vitest/config';
import { labVitestConfig } from '../../packages/testkit/src/vitest-preset.ts';

export default defineConfig(labVitestConfig());
