/**
 * `npm run chaos -- schedule <file.json>`: plays a timed sequence of the toggles in one process — one lab
 * lock, one record, every fault undone at its step's end, at the end of the schedule, on Ctrl-C/SIGTERM,
 * and (through the record) after a crash.
 *
 *   { "description": "…", "steps": [ { "at": "0s", "toggle": "kafka-latency", "options": { "ms": 2000 }, "for": "10s" }, … ] }
 */
import { readFileSync } from 'node:fs';
import { DwError } from '@dual-write/config';
import { rangeOf } from './args.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { CLEAR_HINT, openSession, type SessionOptions } from './run-toggle.ts';
import { findToggle, TOGGLES, type Toggle } from './toggles.ts';

export interface ScheduleStep {
  atMs: number;
  forMs: number;
  toggle: Toggle;
  values: Record<string, number>;
}

export interface Schedule {
  description?: string;
  steps: ScheduleStep[];
  /** When the last step ends. */
  totalMs: number;
}

export const SCHEDULE_HELP = `Usage: npm run chaos -- schedule <file.json> [--dry-run] [--no-lock] [--toxiproxy-url URL]

Plays a timed sequence of the toggles in one process. The file:

  {
    "description": "optional text",
    "steps": [
      { "at": "0s",  "toggle": "kafka-latency", "options": { "ms": 2000, "jitter": 200 }, "for": "10s" },
      { "at": "15s", "toggle": "kafka-down", "for": "5s" }
    ]
  }

"at" is the start, from the schedule's start (ms, s or m; "0s" allowed); "for" how long the step holds
(required); "options" the toggle's options without dashes (npm run chaos -- <toggle> --help). Steps may
overlap, but not two steps of the same toggle. Toggles: ${TOGGLES.map((t) => t.name).join(', ')}.

Each step's faults are removed when it ends; everything still in place is removed at the end, on Ctrl-C or
SIGTERM, and after a crash (by \`npm run chaos -- clear\` or the next chaos run). Example: chaos/schedules/demo.json.

Options:
  --dry-run             print the timeline and exit
  --no-lock             do not take the lab lock (only when the caller holds it, e.g. a test)
  --toxiproxy-url URL   Toxiproxy API (default TOXIPROXY_URL, http://127.0.0.1:8474)
  -h, --help            this help`;

function invalid(file: string, where: string, message: string): DwError {
  return new DwError('DW_CONFIG_INVALID', `${file}: ${where}: ${message}.`, 'See `npm run chaos -- schedule --help` for the format, and chaos/schedules/demo.json.');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Throws DwError DW_CONFIG_INVALID naming the file, the step and the fix. */
export function parseSchedule(text: string, file: string): Schedule {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid(file, 'JSON', (err as Error).message);
  }
  if (!isObject(json) || !Array.isArray(json.steps) || json.steps.length === 0) throw invalid(file, 'top level', 'expected an object with a non-empty "steps" array');
  const steps = json.steps.map((raw: unknown, i: number): ScheduleStep => {
    const where = `steps[${i}]`;
    if (!isObject(raw)) throw invalid(file, where, 'expected an object');
    const unknownKeys = Object.keys(raw).filter((k) => !['at', 'toggle', 'options', 'for'].includes(k));
    if (unknownKeys.length) throw invalid(file, where, `unknown key(s) ${unknownKeys.join(', ')} (the keys: at, toggle, options, for)`);
    const toggle = typeof raw.toggle === 'string' ? findToggle(raw.toggle) : undefined;
    if (!toggle) throw invalid(file, `${where}.toggle`, `${JSON.stringify(raw.toggle)} is not a toggle (one of ${TOGGLES.map((t) => t.name).join(', ')})`);
    const duration = (key: 'at' | 'for', allowZero: boolean) => {
      if (typeof raw[key] !== 'string') throw invalid(file, `${where}.${key}`, 'expected a duration string such as "10s"');
      try {
        return parseDuration(`"${key}"`, raw[key] as string, { allowZero });
      } catch (err) {
        throw invalid(file, `${where}.${key}`, (err as Error).message.replace(/\.$/, ''));
      }
    };
    const options = raw.options ?? {};
    if (!isObject(options)) throw invalid(file, `${where}.options`, 'expected an object');
    const values: Record<string, number> = {};
    for (const o of toggle.options) values[o.flag] = o.default;
    for (const [k, v] of Object.entries(options)) {
      const o = toggle.options.find((x) => x.flag === k);
      if (!o) throw invalid(file, `${where}.options.${k}`, `${toggle.name} has no such option (its options: ${toggle.options.map((x) => x.flag).join(', ') || 'none'})`);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < o.min || (o.max !== undefined && v > o.max)) throw invalid(file, `${where}.options.${k}`, `expected a whole number ${rangeOf(o)}`);
      values[k] = v;
    }
    return { atMs: duration('at', true), forMs: duration('for', false), toggle, values };
  });
  steps.forEach((a, i) =>
    steps.slice(i + 1).forEach((b, j) => {
      if (a.toggle === b.toggle && a.atMs < b.atMs + b.forMs && b.atMs < a.atMs + a.forMs) {
        throw invalid(file, `steps[${i}] and steps[${i + 1 + j}]`, `both run ${a.toggle.name} at the same time`);
      }
    }),
  );
  return {
    description: typeof json.description === 'string' ? json.description : undefined,
    steps,
    totalMs: Math.max(...steps.map((s) => s.atMs + s.forMs)),
  };
}

export function readSchedule(file: string): Schedule {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new DwError('DW_CONFIG_INVALID', `Cannot read the schedule ${file} (${(err as Error).message}).`, 'Pass a JSON file, e.g. chaos/schedules/demo.json.');
  }
  return parseSchedule(text, file);
}

const describeStep = (s: ScheduleStep) =>
  `${s.toggle.name}${s.toggle.options.map((o) => ` --${o.flag} ${s.values[o.flag]}`).join('')} for ${formatDuration(s.forMs)}`;

export function formatTimeline(schedule: Schedule): string {
  const lines = schedule.steps.map((s, i) => `  +${formatDuration(s.atMs).padEnd(8)} step ${i + 1}: ${describeStep(s)}`);
  return [...(schedule.description ? [schedule.description] : []), ...lines, `  total ${formatDuration(schedule.totalMs)}`].join('\n');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

export interface ScheduleRunOptions extends Omit<SessionOptions, 'script'> {
  schedule: Schedule;
}

/** A step that was played: its toggle and when its faults went in, from the schedule's start. */
export interface PlayedStep {
  step: number;
  toggle: string;
  atMs: number;
}

/** Throws DwError when Toxiproxy refuses a fault or a fault could not be undone. Resolves to the steps played. */
export async function runSchedule(opts: ScheduleRunOptions): Promise<PlayedStep[]> {
  const { cleanup, say, schedule } = opts;
  const played: PlayedStep[] = [];
  await cleanup.around(async () => {
    const session = await openSession({ ...opts, script: 'schedule' });
    const t0 = Date.now();
    const n = schedule.steps.length;
    say(`schedule started: ${n} step(s), ${formatDuration(schedule.totalMs)} in all`);
    await Promise.all(
      schedule.steps.map(async (step, i) => {
        await sleep(t0 + step.atMs - Date.now());
        if (cleanup.started) return;
        say(`step ${i + 1}/${n}: ${describeStep(step)}`);
        const undo: (() => Promise<void>)[] = [];
        const atMs = Date.now() - t0;
        for (const fault of step.toggle.faults(step.values)) undo.push(await session.put(fault, step.toggle.name));
        if (!cleanup.started) played.push({ step: i + 1, toggle: step.toggle.name, atMs });
        await sleep(t0 + step.atMs + step.forMs - Date.now());
        for (const u of undo.reverse()) await u();
      }),
    );
    say('schedule done');
  }, { say, hint: CLEAR_HINT });
  return played.sort((a, b) => a.step - b.step);
}

