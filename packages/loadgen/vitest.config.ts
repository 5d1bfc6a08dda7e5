import { defineConfig } from 'vitest/config';
import { labVitestConfig } from '../testkit/src/vitest-preset.ts';

export default defineConfig(labVitestConfig(['test/**/*.test.ts'], { stack: false }));
