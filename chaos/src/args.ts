/** The chaos scripts' command lines and help texts. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DwError } from '@dual-write/config';
import { parseDuration } from './duration.ts';
import { TOGGLES, type Toggle } from './toggles.ts';

const pad = (s: string, n = 22) => s.padEnd(n);

export const HELP = `Usage: npm run chaos -- <script> [options]      (<script> --help for its options)
       node --import tsx chaos/src/cli.ts <script> [options]

Puts a named fault in place — a toxic on the stack's Toxiproxy proxies, or a process fault (relay kill -9,
Kafka or PostgreSQL stopped) — holds it for --for (or until Ctrl-C), then undoes it: removes the toxic,
starts the process again. Also on Ctrl-C/SIGTERM, and after a crash (the next chaos run or \`clear\` undoes it).

Scripts:
${TOGGLES.map((t) => `  ${pad(t.name, 19)}${t.summary}`).join('\n')}
  ${pad('clear', 19)}removes every toxic, re-enables every proxy, restarts what a dead chaos run stopped
  ${pad('list', 19)}shows the proxies (enabled or not), their toxics and the chaos processes
  ${pad('schedule <file>', 19)}plays a timed sequence of the toggles from a JSON file (schedule --help)

Examples:
  npm run chaos -- kafka-latency --ms 3000 --for 30s
  npm run chaos -- db-drop                       # until Ctrl-C
  npm run chaos -- relay-kill --for 5s           # kill -9 every \`npm run relay\`, start each again after 5 s
  npm run chaos -- kafka-restart --kill 1 --for 10s
  npm run chaos -- list
  npm run chaos -- clear
  npm run chaos -- schedule chaos/schedules/demo.json

Exit codes: 0 done, 1 failed, 2 bad arguments, 130/143 stopped by SIGINT/SIGTERM (after the cleanup).
Details: chaos/README.md.`;

/** "≥ 0" or "from 0 to 1". */
export const rangeOf = (o: { min: number; max?: number }) => (o.max === undefined ? `≥ ${o.min}` : `from ${o.min} to ${o.max}`);

const defaults = (t: Toggle) => Object.fromEntries(t.options.map((o) => [o.flag, o.default]));

function undoPhrase(t: Toggle): string {
  const kind = t.faults(defaults(t))[0]?.kind;
  return kind === 'toxic' ? 'It is removed' : kind === 'disable' ? 'The proxy is re-enabled' : 'It is started again';
}

export function toggleHelp(t: Toggle): string {
  const opts = t.options.map((o) => `  ${pad(`--${o.flag} N`)}${o.meaning} (default ${o.default})`);
  return `Usage: npm run chaos -- ${t.name}${t.options.map((o) => ` [--${o.flag} N]`).join('')} [--for DURATION] [--no-lock]

${t.summary[0]!.toUpperCase()}${t.summary.slice(1)}${t.faults(defaults(t)).some((f) => f.kind === 'toxic') ? `;\nthe toxic is named chaos_${t.name}_<pid>_<n>` : ''}.
${undoPhrase(t)} when --for ends, on Ctrl-C or SIGTERM (a second signal does not skip it), and — if
this process dies (kill -9) — by \`npm run chaos -- clear\` or the next chaos run.

Options:
${[...opts,
    `  ${pad('--for DURATION')}how long to hold the fault: 500ms, 30s, 2m (default: until Ctrl-C)`,
    `  ${pad('--toxiproxy-url URL')}Toxiproxy API (default TOXIPROXY_URL, http://127.0.0.1:8474)`,
    `  ${pad('--no-lock')}do not take the lab lock (only when the caller holds it, e.g. a test)`,
    `  ${pad('-h, --help')}this help`].join('\n')}

The lab lock: a chaos run waits while a test, a load run or another chaos script uses the proxies.`;
}

export const CLEAR_HELP = `Usage: npm run chaos -- clear [--toxiproxy-url URL]

Removes every toxic on the postgres and kafka proxies (a chaos script's or anyone's), re-enables a disabled
proxy, starts again what a chaos process that died mid-fault had stopped (Kafka, PostgreSQL, killed relays,
from its record), deletes the records (STACK_DIR/run/chaos-<pid>.json) of chaos processes that are no longer
running, and prints each thing it did. It does not wait for the lab lock: it is the way out of a stuck lab, so do
not run it while tests run. A chaos process still running is reported (stop it with Ctrl-C).`;

export const LIST_HELP = `Usage: npm run chaos -- list [--toxiproxy-url URL]

Shows each proxy (enabled or DISABLED, listen → upstream), its toxics with their attributes, and the chaos
processes with a record in STACK_DIR/run (running or dead, and what they put in place). Changes nothing.`;

export interface ToggleArgs {
  help: boolean;
  values: Record<string, number>;
  forMs?: number;
  toxiproxyUrl?: string;
  lock: boolean;
}

export interface PlainArgs {
  help: boolean;
  toxiproxyUrl?: string;
}

function bad(message: string): DwError {
  return new DwError('DW_CONFIG_INVALID', message, 'See --help for the options.');
}

function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals: false, options });
  } catch (err) {
    throw bad((err as Error).message);
  }
}

function toxiproxyUrl(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const v = String(value);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw bad(`--toxiproxy-url ${JSON.stringify(v)} is not a URL (e.g. http://127.0.0.1:8474).`);
  }
  if (u.protocol !== 'http:') throw bad(`--toxiproxy-url ${JSON.stringify(v)} is not an http:// URL.`);
  return v.replace(/\/+$/, '');
}

/** Throws DwError DW_CONFIG_INVALID on a bad flag or value. */
export function parseToggleArgs(t: Toggle, argv: string[]): ToggleArgs {
  const { values: v } = parse(argv, {
    help: { type: 'boolean', short: 'h' },
    for: { type: 'string' },
    'toxiproxy-url': { type: 'string' },
    'no-lock': { type: 'boolean' },
    ...Object.fromEntries(t.options.map((o) => [o.flag, { type: 'string' as const }])),
  });
  const values: Record<string, number> = {};
  for (const o of t.options) {
    const raw = v[o.flag];
    if (raw === undefined) {
      values[o.flag] = o.default;
      continue;
    }
    const s = String(raw);
    if (!/^\d+$/.test(s) || Number(s) < o.min || (o.max !== undefined && Number(s) > o.max)) throw bad(`--${o.flag} ${JSON.stringify(s)} is not valid: expected a whole number ${rangeOf(o)}.`);
    values[o.flag] = Number(s);
  }
  return {
    help: v.help === true,
    values,
    forMs: v.for === undefined ? undefined : parseDuration('--for', String(v.for)),
    toxiproxyUrl: toxiproxyUrl(v['toxiproxy-url']),
    lock: v['no-lock'] !== true,
  };
}

export function parsePlainArgs(argv: string[]): PlainArgs {
  const { values: v } = parse(argv, { help: { type: 'boolean', short: 'h' }, 'toxiproxy-url': { type: 'string' } });
  return { help: v.help === true, toxiproxyUrl: toxiproxyUrl(v['toxiproxy-url']) };
}

export interface ScheduleArgs {
  help: boolean;
  file: string;
  dryRun: boolean;
  toxiproxyUrl?: string;
  lock: boolean;
}

export function parseScheduleArgs(argv: string[]): ScheduleArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: { help: { type: 'boolean', short: 'h' }, 'dry-run': { type: 'boolean' }, 'toxiproxy-url': { type: 'string' }, 'no-lock': { type: 'boolean' } },
    });
  } catch (err) {
    throw bad((err as Error).message);
  }
  const v = parsed.values;
  const help = v.help === true;
  if (!help && parsed.positionals.length !== 1) throw bad(`schedule takes one file, got ${parsed.positionals.length} (e.g. npm run chaos -- schedule chaos/schedules/demo.json).`);
  return { help, file: parsed.positionals[0] ?? '', dryRun: v['dry-run'] === true, toxiproxyUrl: toxiproxyUrl(v['toxiproxy-url']), lock: v['no-lock'] !== true };
}
