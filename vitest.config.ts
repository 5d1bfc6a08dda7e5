// The README's test command (`npm test`) runs this: every package's tests in one run, against the real stack.
import { defineConfig } from 'vitest/config';
import { labVitestConfig } from './packages/testkit/src/vitest-preset.ts';

export default defineConfig(labVitestConfig(['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'loadtests/test/**/*.test.ts', 'chaos/test/**/*.test.ts', 'bench/test/**/*.test.ts', 'examples/test/**/*.test.ts']));
