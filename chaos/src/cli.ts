#!/usr/bin/env node
/**
 * `npm run chaos -- <script> [options]`: the chaos scripts (toggles, clear, list, schedule). See --help and
 * chaos/README.md.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDwError, resolveConfig } from '@dual-write/config';
import { Cleanup, runCleanupOnSignals, ToxicHelper } from '@dual-write/faults';
import { CLEAR_HELP, HELP, LIST_HELP, parsePlainArgs, parseScheduleArgs, parseToggleArgs, toggleHelp } from './args.ts';
import { clearAll } from './clear.ts';
import { listState } from './list.ts';
import { sayToStdout as say } from './log.ts';
import { runToggle } from './run-toggle.ts';
import { formatTimeline, readSchedule, runSchedule, SCHEDULE_HELP } from './schedule.ts';
import { TOGGLES, findToggle } from './toggles.ts';

const configFor = (toxiproxyUrl: string | undefined) => resolveConfig(toxiproxyUrl ? { TOXIPROXY_URL: toxiproxyUrl } : {});

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    console.error(HELP);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return 0;
  }
  const toggle = findToggle(name);
  if (toggle) {
    const args = parseToggleArgs(toggle, rest);
    if (args.help) {
      console.log(toggleHelp(toggle));
      return 0;
    }
    const cleanup = new Cleanup();
    runCleanupOnSignals(cleanup, { say, doing: 'removing what this run added' });
    await runToggle({ config: configFor(args.toxiproxyUrl), script: toggle.name, lock: args.lock, say, cleanup, faults: toggle.faults(args.values), forMs: args.forMs });
    return 0;
  }
  if (name === 'schedule') {
    const args = parseScheduleArgs(rest);
    if (args.help) {
      console.log(SCHEDULE_HELP);
      return 0;
    }
    const schedule = readSchedule(args.file);
    if (args.dryRun) {
      console.log(formatTimeline(schedule));
      return 0;
    }
    say(`schedule ${args.file}:\n${formatTimeline(schedule)}`);
    const cleanup = new Cleanup();
    runCleanupOnSignals(cleanup, { say, doing: 'removing what this run added' });
    await runSchedule({ config: configFor(args.toxiproxyUrl), lock: args.lock, say, cleanup, schedule });
    return 0;
  }
  if (name === 'clear' || name === 'list') {
    const args = parsePlainArgs(rest);
    if (args.help) {
      console.log(name === 'clear' ? CLEAR_HELP : LIST_HELP);
      return 0;
    }
    const config = configFor(args.toxiproxyUrl);
    const faults = new ToxicHelper(config.toxiproxy.url);
    if (name === 'clear') await clearAll(config, faults, say);
    else console.log(await listState(config, faults));
    return 0;
  }
  console.error(`Unknown chaos script "${name}". The scripts: ${[...TOGGLES.map((t) => t.name), 'clear', 'list', 'schedule'].join(', ')} (npm run chaos -- --help).`);
  return 2;
}

/** Exit code: 0 done, 1 failed, 2 bad arguments (signals exit 130/143 from their handler). */
export async function main(argv: string[]): Promise<number> {
  try {
    return await run(argv);
  } catch (err) {
    console.error(isDwError(err) ? err.format() : err);
    return isDwError(err) && err.code === 'DW_CONFIG_INVALID' ? 2 : 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
