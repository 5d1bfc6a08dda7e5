/**
 * What k6 does to a script's exported `options` in every VU it creates — the ones that run setup(), the
 * scenarios, teardown() and handleSummary() alike (internal/js/bundle.go, `manipulateOptions`): it parses the
 * exported object once as JSON into its own Go `lib.Options`, then sets every option it holds back onto the
 * script's `options` object as a Go value. A script that reads `options.thresholds` or `options.scenarios`
 * after init therefore sees k6's structures, not the literals it declared: `options.thresholds[metric]` is a
 * `Thresholds` struct (`{ thresholds: [...], abort }`, not iterable), a scenario's `vus` is a `null.Int`
 * (`{ int64, valid }`), a duration a `types.NullDuration` (`{ duration, valid }`, nanoseconds). Go field
 * names reach JavaScript snake_cased (js/common/bridge.go).
 */
import { durationMs } from './options-check.ts';

const DURATION_KEYS = new Set(['duration', 'maxDuration', 'startTime', 'gracefulStop', 'gracefulRampDown', 'timeUnit', 'setupTimeout', 'teardownTimeout']);

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

const nullDuration = (v: unknown) => ({ duration: Math.round(durationMs(v) * 1e6), valid: true });
const nullInt = (v: unknown) => ({ int64: Number(v), valid: true });
const nullString = (v: unknown) => ({ string: String(v), valid: true });

/** One declared value as k6's Go struct field would show it. */
function goValue(key: string, v: unknown): unknown {
  if (DURATION_KEYS.has(key)) return nullDuration(v);
  if (typeof v === 'number') return nullInt(v);
  if (typeof v === 'string') return nullString(v);
  if (Array.isArray(v)) return v.map((x) => goStruct(x as Record<string, unknown>));
  return v;
}

function goStruct(declared: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(declared)) {
    if (key === 'executor') out.type = v; // BaseConfig.Type is a plain string
    else out[snake(key)] = goValue(key, v);
  }
  return out;
}

function goThresholds(declared: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [metric, exprs] of Object.entries(declared)) {
    const list = (Array.isArray(exprs) ? exprs : [exprs]) as unknown[];
    out[metric] = {
      thresholds: list.map((e) => ({
        source: typeof e === 'string' ? e : String((e as { threshold?: unknown }).threshold),
        last_failed: false,
        abort_on_fail: typeof e === 'object' && e !== null && Boolean((e as { abortOnFail?: unknown }).abortOnFail),
        abort_grace_period: { duration: 0, valid: false },
      })),
      abort: false,
    };
  }
  return out;
}

/**
 * Sets every declared option back onto the script's `options` object as k6 would (the object keeps its
 * identity; its properties are replaced, so module code that reads `options.x` sees the new values).
 */
export function overwriteOptionsAsK6Does(target: Record<string, unknown>, declared: Record<string, unknown>): void {
  for (const [key, v] of Object.entries(declared)) {
    if (key === 'thresholds') target[key] = goThresholds(v as Record<string, unknown>);
    else if (key === 'scenarios') target[key] = Object.fromEntries(Object.entries(v as Record<string, Record<string, unknown>>).map(([name, sc]) => [name, { name, ...goStruct(sc) }]));
    else if (key === 'summaryTrendStats') target[key] = [...(v as string[])];
    else if (DURATION_KEYS.has(key)) target[key] = nullDuration(v);
    else target[key] = v;
  }
}
