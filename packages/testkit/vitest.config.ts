import { defineConfig } from 'vitest/config';
import { labVitestConfig } from './src/vitest-preset.ts';

export default defineConfig(labVitestConfig());
