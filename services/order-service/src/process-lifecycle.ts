/** How a long-running command of the lab starts and stops: graceful close on SIGINT/SIGTERM, errors with code and hint. */
import { isDwError } from '@dual-write/config';

/**
 * On the first SIGINT or SIGTERM: say so, run `close`, exit 0 (1 if it failed). Later signals do not cut the
 * close short — Ctrl-C often arrives twice, from the terminal and relayed by `npm start` — but it gets `graceMs`.
 */
export function closeOnSignals(close: () => Promise<void>, graceMs = 30_000): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping…`);
    setTimeout(() => {
      console.error(`${signal}: did not stop within ${graceMs / 1000} s; exiting`);
      process.exit(1);
    }, graceMs).unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(isDwError(err) ? err.format() : err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Runs `main`; a failure prints `[CODE] message → hint` (or the error) and exits 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    console.error(isDwError(err) ? err.format() : err);
    process.exit(1);
  });
}
