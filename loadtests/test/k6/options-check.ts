/**
 * What `k6 run` would reject (or silently ignore) in a script's `options`: unknown executors, missing or
 * malformed executor fields, `exec` naming no exported function, thresholds on metrics that do not exist,
 * tag filters on tags the script never sets, expressions the metric type cannot evaluate.
 * Tags are taken from what the script really did against the stand-in modules, so run its functions first.
 */
import type { K6Module } from './load.ts';
import type { K6StubState, MetricType } from './state.ts';

const COMMON_FIELDS = ['executor', 'exec', 'startTime', 'gracefulStop', 'env', 'tags', 'options'];
export const EXECUTORS: Record<string, { required: string[]; optional: string[] }> = {
  'shared-iterations': { required: [], optional: ['vus', 'iterations', 'maxDuration'] },
  'per-vu-iterations': { required: [], optional: ['vus', 'iterations', 'maxDuration'] },
  'constant-vus': { required: ['duration'], optional: ['vus'] },
  'ramping-vus': { required: ['stages'], optional: ['startVUs', 'gracefulRampDown'] },
  'constant-arrival-rate': { required: ['rate', 'duration', 'preAllocatedVUs'], optional: ['timeUnit', 'maxVUs'] },
  'ramping-arrival-rate': { required: ['stages', 'preAllocatedVUs'], optional: ['startRate', 'timeUnit', 'maxVUs'] },
  'externally-controlled': { required: ['duration'], optional: ['vus', 'maxVUs'] },
};
const TOP_LEVEL_OPTIONS = ['scenarios', 'thresholds', 'summaryTrendStats', 'setupTimeout', 'teardownTimeout', 'summaryTimeUnit', 'noConnectionReuse', 'userAgent', 'tags', 'discardResponseBodies', 'insecureSkipTLSVerify', 'batch', 'batchPerHost', 'httpDebug', 'systemTags'];
const DURATION_FIELDS = ['duration', 'maxDuration', 'startTime', 'gracefulStop', 'gracefulRampDown', 'timeUnit'];
const INT_FIELDS = ['vus', 'iterations', 'rate', 'preAllocatedVUs', 'maxVUs', 'startVUs', 'startRate'];

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
const DURATION = /^(\d+(\.\d+)?(ms|s|m|h))+$/;
const TREND_STAT = /^(avg|min|med|max|count|p\(\d+(\.\d+)?\))$/;

export function isK6Duration(v: unknown): boolean {
  return typeof v === 'string' && DURATION.test(v);
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

export function checkOptions(mod: K6Module, state: K6StubState): string[] {
  const problems: string[] = [];
  const options = mod.options as { scenarios?: Record<string, Record<string, unknown>>; thresholds?: Record<string, unknown>; summaryTrendStats?: unknown };
  if (!options || typeof options !== 'object') return ['the script exports no options object'];

  const scenarios = options.scenarios ?? {};
  if (Object.keys(scenarios).length === 0) problems.push('options.scenarios is empty');
  for (const [name, sc] of Object.entries(scenarios)) {
    const where = `scenario "${name}"`;
    const spec = EXECUTORS[String(sc.executor)];
    if (!spec) {
      problems.push(`${where}: executor "${String(sc.executor)}" does not exist (k6 has ${Object.keys(EXECUTORS).join(', ')})`);
      continue;
    }
    for (const field of spec.required) if (sc[field] === undefined) problems.push(`${where}: ${sc.executor} needs "${field}"`);
    for (const field of Object.keys(sc)) {
      if (!COMMON_FIELDS.includes(field) && !spec.required.includes(field) && !spec.optional.includes(field)) problems.push(`${where}: ${sc.executor} has no field "${field}"`);
    }
    for (const field of DURATION_FIELDS) if (sc[field] !== undefined && !isK6Duration(sc[field])) problems.push(`${where}: ${field} ${JSON.stringify(sc[field])} is not a k6 duration`);
    for (const field of INT_FIELDS) {
      const v = sc[field];
      if (v !== undefined && !(Number.isInteger(v) && (v as number) >= 1)) problems.push(`${where}: ${field} ${JSON.stringify(v)} is not a whole number ≥ 1`);
    }
    if (sc.executor === 'shared-iterations' && Number(sc.iterations ?? 1) < Number(sc.vus ?? 1)) problems.push(`${where}: shared-iterations needs iterations ≥ vus`);
    const exec = sc.exec === undefined ? 'default' : String(sc.exec);
    if (typeof mod[exec] !== 'function') problems.push(`${where}: exec "${exec}" is not an exported function`);
  }

  for (const [key, exprs] of Object.entries(options.thresholds ?? {})) {
    const parsed = parseThresholdKey(key);
    if (!parsed) {
      problems.push(`threshold "${key}": not k6's metric{tag:value} syntax`);
      continue;
    }
    const type = BUILTIN_METRICS[parsed.metric] ?? state.metrics.get(parsed.metric)?.type;
    if (!type) {
      problems.push(`threshold "${key}": metric "${parsed.metric}" is neither built in nor created by the script`);
      continue;
    }
    const seen = tagsSeenOn(parsed.metric, state);
    for (const [tag, value] of Object.entries(parsed.tags)) {
      if (!seen.some((t) => t[tag] === value)) problems.push(`threshold "${key}": no sample of ${parsed.metric} carries the tag ${tag}:${value}`);
    }
    const list = Array.isArray(exprs) ? exprs : [exprs];
    for (const e of list) {
      const expr = typeof e === 'string' ? e : (e as { threshold?: unknown }).threshold;
      const m = typeof expr === 'string' ? EXPRESSION.exec(expr) : null;
      if (!m) problems.push(`threshold "${key}": ${JSON.stringify(expr)} is not a threshold expression`);
      else if (!AGGREGATIONS[type].test(m[1]!)) problems.push(`threshold "${key}": a ${type} metric has no "${m[1]}"`);
    }
  }

  for (const key of Object.keys(options)) if (!TOP_LEVEL_OPTIONS.includes(key)) problems.push(`options.${key} is not a k6 option this check knows`);
  for (const key of ['setupTimeout', 'teardownTimeout']) {
    const v = (options as Record<string, unknown>)[key];
    if (v !== undefined && !isK6Duration(v)) problems.push(`options.${key} ${JSON.stringify(v)} is not a k6 duration`);
  }
  if (options.summaryTrendStats !== undefined) {
    const stats = options.summaryTrendStats;
    if (!Array.isArray(stats) || stats.some((s) => typeof s !== 'string' || !TREND_STAT.test(s))) problems.push(`summaryTrendStats ${JSON.stringify(stats)} has an unknown statistic`);
  }
  return problems;
}
