/**
 * The Node twin of pool-exhaustion.js (k6): the same parameters, stages, summary and thresholds, runnable
 * where k6 is not. `npm run loadtest -- pool-exhaustion [--help]`.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDwError, resolveConfig } from '@dual-write/config';
import { HELP, parsePoolArgs, type PoolArgs } from './src/args.ts';
import { Cleanup, runCleanupOnSignals } from '@dual-write/faults';
import { runPoolExhaustionLoad } from './src/run.ts';
import { formatCompare, outboxHeld, runPoolExhaustionCompare } from './src/compare.ts';
import { formatSummary } from './src/summary.ts';

const progress = (line: string) => process.stderr.write(`[loadtest] ${line}\n`);

export async function main(argv: string[]): Promise<number> {
  let args: PoolArgs;
  try {
    args = parsePoolArgs(argv);
  } catch (err) {
    console.error(isDwError(err) ? err.format() : err);
    return 2;
  }
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  const config = resolveConfig(args.toxiproxyUrl ? { TOXIPROXY_URL: args.toxiproxyUrl } : {});
  const cleanup = new Cleanup();
  // A second Ctrl-C (often relayed by pnpm/tsx) does not cut the toxic's removal short.
  runCleanupOnSignals(cleanup, { say: progress, doing: 'removing the toxic and stopping what this run started' });
  if (args.compare) {
    const { strategy: _ignored, ...rest } = args;
    const report = await runPoolExhaustionCompare({ config, ...rest, cleanup, progress });
    if (args.json) console.log(JSON.stringify(report, null, 2));
    else console.log(`\n${formatCompare(report)}\n\nJSON report: ${path.relative(process.cwd(), report.file)}`);
    return args.check && !outboxHeld(report) ? 1 : 0;
  }
  const report = await runPoolExhaustionLoad({ config, ...args, cleanup, progress });
  const crossed = report.thresholds.filter((t) => !t.ok).length;
  if (args.json) {
    console.log(JSON.stringify(report, null, 2));
  } else {
    console.log(`\n${formatSummary(report.figures)}\n`);
    console.log(`JSON report: ${path.relative(process.cwd(), report.file)}`);
    if (crossed && !args.check) console.log('Exit code 0 all the same: a crossed threshold is the demonstration here (--check makes it exit 1).');
  }
  return args.check && crossed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(isDwError(err) ? err.format() : err);
      process.exit(1);
    },
  );
}
