import { defineConfig } from 'vitest/config';
import { labVitestConfig } from '../testkit/src/vitest-preset.ts';

// Pure tests: RuleTester and ESLint's Node API over this repository's sources — no stack needed.
export default defineConfig(labVitestConfig(['test/**/*.test.ts'], { stack: false }));
