/**
 * What `k6 run` does with a script's `options`, for the stand-in:
 *
 * - `startupProblems`: what k6 refuses before the first VU runs (exit code 104, "invalid config"): unknown or
 *   removed executors, missing fields, durations under k6's 1 s minimum, `maxVUs` below `preAllocatedVUs`,
 *   `exec` naming no exported function, thresholds on metrics that do not exist or with aggregations the
 *   metric type has not. The rules are k6's `Validate()` methods in lib/executor and its threshold parsing.
 * - `checkOptions`: those, plus what k6 accepts but silently gets wrong: thresholds filtering on tags the
 *   script never sets, option names k6 does not know (k6 only warns). Tags are taken from what the script
 *   really did against the stand-in modules, so run its functions first.
 */
import type { K6Module } from './load.ts';
import type { K6StubState, MetricType, StubMetric } from './state.ts';

const COMMON_FIELDS = ['executor', 'exec', 'startTime', 'gracefulStop', 'env', 'tags', 'options'];
export const EXECUTORS: Record<string, { required: string[]; optional: string[] }> = {
  'shared-iterations': { required: [], optional: ['vus', 'iterations', 'maxDuration'] },
  'per-vu-iterations': { required: [], optional: ['vus', 'iterations', 'maxDuration'] },
  'constant-vus': { required: ['duration'], optional: ['vus'] },
  'ramping-vus': { required: ['stages'], optional: ['startVUs', 'gracefulRampDown'] },
  'constant-arrival-rate': { required: ['rate', 'duration', 'preAllocatedVUs'], optional: ['timeUnit', 'maxVUs'] },
  'ramping-arrival-rate': { required: ['stages', 'preAllocatedVUs'], optional: ['startRate', 'timeUnit', 'maxVUs'] },
};
/** Executors k6 had once and no longer runs. */
const REMOVED_EXECUTORS: Record<string, string> = {
  'externally-controlled': 'the externally-controlled executor was removed in k6 v2.0',
};
const TOP_LEVEL_OPTIONS = ['scenarios', 'thresholds', 'summaryTrendStats', 'setupTimeout', 'teardownTimeout', 'summaryTimeUnit', 'noConnectionReuse', 'userAgent', 'tags', 'discardResponseBodies', 'insecureSkipTLSVerify', 'batch', 'batchPerHost', 'httpDebug', 'systemTags'];
const DURATION_FIELDS = ['duration', 'maxDuration', 'startTime', 'gracefulStop', 'gracefulRampDown', 'timeUnit'];
const INT_FIELDS = ['vus', 'iterations', 'rate', 'preAllocatedVUs', 'maxVUs', 'startVUs', 'startRate'];
/** k6's minimum for `duration` and `maxDuration` (lib/executor: minDuration). */
const MIN_DURATION_MS = 1000;
/** k6's default `maxDuration` for the iteration executors. */
const DEFAULT_MAX_DURATION_MS = 10 * 60_000;
/** k6's scenario name rule (lib/executor/base_config.go). */
const SCENARIO_NAME = /^[0-9a-zA-Z_-]+$/;

/** k6's built-in metrics and their types. */
export const BUILTIN_METRICS: Record<string, MetricType> = {
  checks: 'rate',
  data_received: 'counter',
  data_sent: 'counter',
  dropped_iterations: 'counter',
  iteration_duration: 'trend',
  iterations: 'counter',
  vus: 'gauge',
  vus_max: 'gauge',
  http_reqs: 'counter',
  http_req_failed: 'rate',
  http_req_duration: 'trend',
  http_req_blocked: 'trend',
  http_req_connecting: 'trend',
  http_req_tls_handshaking: 'trend',
  http_req_sending: 'trend',
  http_req_waiting: 'trend',
  http_req_receiving: 'trend',
};
const AGGREGATIONS: Record<MetricType, RegExp> = {
  counter: /^(count|rate)$/,
  gauge: /^value$/,
  rate: /^rate$/,
  trend: /^(avg|min|max|med|p\(\d+(\.\d+)?\))$/,
};
const EXPRESSION = /^\s*([a-z]+(?:\(\d+(?:\.\d+)?\))?)\s*(<=|>=|===|==|!=|<|>)\s*-?\d+(?:\.\d+)?\s*$/;
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|us|µs|ns|s|m|h)/g;
const DURATION = /^(\d+(\.\d+)?(ms|us|µs|ns|s|m|h))+$/;
const TREND_STAT = /^(avg|min|med|max|count|p\(\d+(\.\d+)?\))$/;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

export function isK6Duration(v: unknown): boolean {
  return (typeof v === 'string' && DURATION.test(v)) || (typeof v === 'number' && Number.isFinite(v));
}

/** A k6 duration in milliseconds (k6 reads a bare number as milliseconds); NaN when it is none. */
export function durationMs(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string' || !DURATION.test(v)) return Number.NaN;
  let ms = 0;
  for (const m of v.matchAll(DURATION_PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

/** A threshold key `metric{tag:value,…}` split up; undefined when it is not in k6's syntax. */
export function parseThresholdKey(key: string): { metric: string; tags: Record<string, string> } | undefined {
  const m = /^([a-zA-Z_][a-zA-Z0-9_]*)(?:\{([^{}]*)\})?$/.exec(key);
  if (!m) return undefined;
  const tags: Record<string, string> = {};
  if (m[2] !== undefined) {
    for (const pair of m[2].split(',')) {
      const [k, ...rest] = pair.split(':');
      if (!k?.trim() || rest.length === 0) return undefined;
      tags[k.trim()] = rest.join(':').trim();
    }
  }
  return { metric: m[1]!, tags };
}

function tagsSeenOn(metric: string, state: K6StubState): Record<string, string>[] {
  if (metric.startsWith('http_')) return state.requests.map((r) => r.tags);
  if (metric === 'checks') return state.checks.map((c) => c.tags);
  return state.metrics.get(metric)?.samples.map((s) => s.tags) ?? [];
}

type Scenario = Record<string, unknown>;

function intOr(v: unknown, fallback: number): number {
  return v === undefined ? fallback : Number(v);
}

/** One scenario against k6's Validate() for its executor. */
function scenarioProblems(name: string, sc: Scenario, mod: K6Module): string[] {
  const where = `scenario "${name}"`;
  const problems: string[] = [];
  if (!SCENARIO_NAME.test(name)) problems.push(`${where}: the scenario name should contain only numbers, latin letters, underscores, and dashes`);
  const executor = String(sc.executor);
  if (REMOVED_EXECUTORS[executor]) return [...problems, `${where}: ${REMOVED_EXECUTORS[executor]}`];
  const spec = EXECUTORS[executor];
  if (!spec) return [...problems, `${where}: executor "${executor}" does not exist (k6 has ${Object.keys(EXECUTORS).join(', ')})`];
  for (const field of spec.required) if (sc[field] === undefined) problems.push(`${where}: ${executor} needs "${field}"`);
  for (const field of DURATION_FIELDS) if (sc[field] !== undefined && !isK6Duration(sc[field])) problems.push(`${where}: ${field} ${JSON.stringify(sc[field])} is not a k6 duration`);
  for (const field of INT_FIELDS) {
    const v = sc[field];
    const min = field === 'preAllocatedVUs' || field === 'startVUs' || field === 'startRate' ? 0 : 1;
    if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min)) problems.push(`${where}: ${field} ${JSON.stringify(v)} is not a whole number ≥ ${min}`);
  }
  const atLeastOneSecond = (field: string, fallback?: number) => {
    const ms = sc[field] === undefined ? fallback : durationMs(sc[field]);
    if (ms !== undefined && ms < MIN_DURATION_MS) problems.push(`${where}: the ${field} must be at least 1s, but is ${String(sc[field])}`);
  };
  switch (executor) {
    case 'shared-iterations':
    case 'per-vu-iterations':
      atLeastOneSecond('maxDuration', DEFAULT_MAX_DURATION_MS);
      if (executor === 'shared-iterations' && intOr(sc.iterations, 1) < intOr(sc.vus, 1)) problems.push(`${where}: shared-iterations needs iterations ≥ vus`);
      break;
    case 'constant-vus':
    case 'constant-arrival-rate':
      atLeastOneSecond('duration');
      break;
    default:
      break;
  }
  if (executor === 'constant-arrival-rate' || executor === 'ramping-arrival-rate') {
    if (sc.timeUnit !== undefined && !(durationMs(sc.timeUnit) > 0)) problems.push(`${where}: the timeUnit must be more than 0`);
    if (sc.maxVUs !== undefined && sc.preAllocatedVUs !== undefined && Number(sc.maxVUs) < Number(sc.preAllocatedVUs)) {
      problems.push(`${where}: maxVUs can't be less than preAllocatedVUs (maxVUs ${String(sc.maxVUs)}, preAllocatedVUs ${String(sc.preAllocatedVUs)})`);
    }
  }
  if (executor === 'ramping-arrival-rate' || executor === 'ramping-vus') {
    const stages = sc.stages;
    if (!Array.isArray(stages) || stages.length === 0) problems.push(`${where}: at least one stage has to be specified`);
    else
      stages.forEach((st: { duration?: unknown; target?: unknown }, i) => {
        if (st.duration === undefined || !isK6Duration(st.duration)) problems.push(`${where}: stage ${i + 1} doesn't have a valid duration`);
        if (!(Number.isInteger(st.target) && (st.target as number) >= 0)) problems.push(`${where}: stage ${i + 1} doesn't have a target ≥ 0`);
      });
  }
  const exec = sc.exec === undefined ? 'default' : String(sc.exec);
  if (typeof mod[exec] !== 'function') problems.push(`${where}: exec "${exec}" is not an exported function`);
  return problems;
}

/**
 * What makes `k6 run` refuse to start (exit 104): `options` as k6 parsed them (JSON), the module's exports,
 * and the custom metrics its init code created.
 */
export function startupProblems(options: Record<string, unknown>, mod: K6Module, metrics: Map<string, StubMetric>): string[] {
  if (!options || typeof options !== 'object') return ['the script exports no options object'];
  const problems: string[] = [];
  const scenarios = (options.scenarios ?? {}) as Record<string, Scenario>;
  if (Object.keys(scenarios).length === 0) problems.push('options.scenarios is empty');
  for (const [name, sc] of Object.entries(scenarios)) problems.push(...scenarioProblems(name, sc, mod));

  for (const [key, exprs] of Object.entries((options.thresholds ?? {}) as Record<string, unknown>)) {
    const parsed = parseThresholdKey(key);
    if (!parsed) {
      problems.push(`threshold "${key}": not k6's metric{tag:value} syntax`);
      continue;
    }
    const type = BUILTIN_METRICS[parsed.metric] ?? metrics.get(parsed.metric)?.type;
    if (!type) {
      problems.push(`threshold "${key}": metric "${parsed.metric}" is neither built in nor created by the script`);
      continue;
    }
    for (const e of Array.isArray(exprs) ? exprs : [exprs]) {
      const expr = typeof e === 'string' ? e : (e as { threshold?: unknown }).threshold;
      const m = typeof expr === 'string' ? EXPRESSION.exec(expr) : null;
      if (!m) problems.push(`threshold "${key}": ${JSON.stringify(expr)} is not a threshold expression`);
      else if (!AGGREGATIONS[type].test(m[1]!)) problems.push(`threshold "${key}": a ${type} metric has no "${m[1]}"`);
    }
  }

  for (const key of ['setupTimeout', 'teardownTimeout']) {
    const v = options[key];
    if (v !== undefined && !isK6Duration(v)) problems.push(`options.${key} ${JSON.stringify(v)} is not a k6 duration`);
  }
  if (options.summaryTrendStats !== undefined) {
    const stats = options.summaryTrendStats;
    if (!Array.isArray(stats) || stats.some((s) => typeof s !== 'string' || !TREND_STAT.test(s))) problems.push(`summaryTrendStats ${JSON.stringify(stats)} has an unknown statistic`);
  }
  return problems;
}

/** Everything `startupProblems` finds, plus what k6 would accept but get wrong (run the script's functions first). */
export function checkOptions(options: Record<string, unknown>, mod: K6Module, state: K6StubState): string[] {
  const problems = startupProblems(options, mod, state.metrics);
  if (!options || typeof options !== 'object') return problems;
  const scenarios = (options.scenarios ?? {}) as Record<string, Scenario>;
  for (const [name, sc] of Object.entries(scenarios)) {
    const spec = EXECUTORS[String(sc.executor)];
    if (!spec) continue;
    for (const field of Object.keys(sc)) {
      if (!COMMON_FIELDS.includes(field) && !spec.required.includes(field) && !spec.optional.includes(field)) problems.push(`scenario "${name}": ${String(sc.executor)} has no field "${field}"`);
    }
  }
  for (const key of Object.keys((options.thresholds ?? {}) as Record<string, unknown>)) {
    const parsed = parseThresholdKey(key);
    if (!parsed) continue;
    const seen = tagsSeenOn(parsed.metric, state);
    for (const [tag, value] of Object.entries(parsed.tags)) {
      if (!seen.some((t) => t[tag] === value)) problems.push(`threshold "${key}": no sample of ${parsed.metric} carries the tag ${tag}:${value}`);
    }
  }
  for (const key of Object.keys(options)) if (!TOP_LEVEL_OPTIONS.includes(key)) problems.push(`options.${key} is not a k6 option this check knows`);
  return problems;
}
