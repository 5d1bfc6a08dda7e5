/**
 * The body of a downstream service's main.ts: `--help`, start, then run until SIGINT/SIGTERM and stop
 * gracefully (a second signal exits at once). Start-up errors print as `[CODE] message → hint`, exit 1.
 */
import { isDwError } from '@dual-write/config';
import type { DownstreamConsumer } from './consumer.ts';

export interface RunProcessOptions {
  help: string;
  argv?: string[];
  start: () => Promise<DownstreamConsumer>;
}

export async function runConsumerProcess(opts: RunProcessOptions): Promise<void> {
  const argv = opts.argv ?? process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(opts.help);
    return;
  }
  const unknown = argv.filter((a) => a !== '--');
  if (unknown.length) {
    console.error(`Unknown argument(s): ${unknown.join(' ')}\n\n${opts.help}`);
    process.exit(2);
  }
  let consumer: DownstreamConsumer;
  try {
    consumer = await opts.start();
  } catch (err) {
    console.error(isDwError(err) ? err.format() : err);
    process.exit(1);
  }
  const onSignal = (signal: NodeJS.Signals) => {
    process.once(signal, () => process.exit(130)); // a second Ctrl-C does not wait
    console.log(`${signal}: stopping ${consumer.name}…`);
    consumer.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}
