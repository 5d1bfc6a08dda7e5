/** Shared vitest settings: the stack's global set-up, generous timeouts for real services, files one at a time. */
import { fileURLToPath } from 'node:url';
import type { ViteUserConfig } from 'vitest/config';

export const globalSetupPath = fileURLToPath(new URL('./global-setup.ts', import.meta.url));
export const summaryReporterPath = fileURLToPath(new URL('./summary-reporter.ts', import.meta.url));

/** `stack: false` for packages whose tests need no running services. */
export function labVitestConfig(include: string[] = ['test/**/*.test.ts'], opts: { stack?: boolean } = {}): ViteUserConfig {
  return {
    test: {
      include,
      globalSetup: opts.stack === false ? [] : [globalSetupPath],
      // Files share one Kafka broker and one Toxiproxy: a toxic added by one file must not hit another.
      fileParallelism: false,
      testTimeout: 120_000,
      hookTimeout: 180_000,
      reporters: ['default', summaryReporterPath],
    },
  };
}
