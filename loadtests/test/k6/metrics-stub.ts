/** Stand-in for k6/metrics: Counter, Trend, Rate, Gauge, created in the init context only. */
import { k6State, type MetricType, type StubMetric } from './state.ts';

/** k6's rule (metrics/registry.go): 2 to 129 ASCII letters, digits or underscores, not starting with a digit. */
const NAME = /^[a-zA-Z_][a-zA-Z0-9_]{1,128}$/;

class Metric {
  readonly metric: StubMetric;

  constructor(type: MetricType, name: string, isTime = false) {
    const s = k6State();
    if (s.phase !== 'init') throw new Error(`k6 metric "${name}" created outside the init context`);
    if (!NAME.test(name)) throw new Error(`Invalid metric name: '${name}'. Metric names must only include up to 128 ASCII letters, numbers, or underscores and start with a letter or an underscore.`);
    // k6 hands back the same metric for the same name and type, and refuses another type.
    const existing = s.metrics.get(name);
    if (existing && existing.type !== type) throw new Error(`metric '${name}' already exists but with type ${existing.type}, instead of ${type}`);
    this.metric = existing ?? { name, type, isTime, samples: [] };
    s.metrics.set(name, this.metric);
  }

  add(value: number | boolean, tags: Record<string, string> = {}): void {
    if (k6State().phase === 'init') throw new Error(`k6 metric "${this.metric.name}" added to in the init context`);
    this.metric.samples.push({ value: Number(value), tags });
  }
}

export class Counter extends Metric {
  constructor(name: string) {
    super('counter', name);
  }
}
export class Trend extends Metric {
  constructor(name: string, isTime = false) {
    super('trend', name, isTime);
  }
}
export class Rate extends Metric {
  constructor(name: string) {
    super('rate', name);
  }
}
export class Gauge extends Metric {
  constructor(name: string, isTime = false) {
    super('gauge', name, isTime);
  }
}

export default { Counter, Trend, Rate, Gauge };
