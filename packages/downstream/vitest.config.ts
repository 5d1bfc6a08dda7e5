import { defineConfig } from 'vitest/config';
import { labVitestConfig } from '@dual-write/testkit/vitest-preset';

export default defineConfig(labVitestConfig());
