#!/usr/bin/env tsx
/** `audit` — compares a table with a topic; exit 0 consistent, 1 diverges, 2 usage/config/connection error. */
import { isDwError } from '@dual-write/config';
import { HELP, parseCliArgs } from './args.ts';
import { runAudit } from './audit.ts';
import { formatReport } from './format.ts';
import { reportDiverges } from './report.ts';

export const EXIT = { consistent: 0, diverges: 1, error: 2 } as const;

async function main(argv: string[]): Promise<number> {
  const args = parseCliArgs(argv);
  if (args.help) {
    console.log(HELP);
    return EXIT.consistent;
  }
  const progress = args.quiet ? undefined : (p: { text: string }) => process.stderr.write(`[audit] ${p.text}\n`);
  const report = await runAudit(args.options, { onProgress: progress });
  process.stdout.write(`${args.json ? JSON.stringify(report, null, 2) : formatReport(report, { limit: args.limit })}\n`);
  return reportDiverges(report) ? EXIT.diverges : EXIT.consistent;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${isDwError(err) ? err.format() : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT.error;
  },
);
