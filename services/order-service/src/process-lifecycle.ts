/** How a long-running command of the lab starts and stops: graceful close on SIGINT/SIGTERM, errors with code and hint. */
import { isDwError } from '@dual-write/config';

/** On the first SIGINT or SIGTERM: say so, run `close`, exit 0. */
export function closeOnSignals(close: () => Promise<void>): void {
  const stop = async (signal: string) => {
    console.log(`\n${signal}: stopping…`);
    await close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

/** Runs `main`; a failure prints `[CODE] message → hint` (or the error) and exits 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(isDwError(err) ? err.format() : err);
    process.exit(1);
  });
}
