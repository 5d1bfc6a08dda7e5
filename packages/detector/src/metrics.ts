/** The detector's Prometheus metrics, made with the application's own prom-client and registry. */
import type { HostageReport } from './detector.ts';

/** The prom-client module and the registry (`R`: prom-client's Registry) to put the metrics in. */
export interface PrometheusOptions<R = unknown> {
  client: {
    Counter: new (config: { name: string; help: string; labelNames: string[]; registers: R[] }) => { inc(labels: Record<string, string>): void };
    Histogram: new (config: { name: string; help: string; labelNames: string[]; buckets: number[]; registers: R[] }) => { observe(labels: Record<string, string>, value: number): void };
  };
  registry: R;
}

export function createMetrics<R>(o: PrometheusOptions<R>): { observe(r: HostageReport): void } {
  const calls = new o.client.Counter({
    name: 'dw_hostage_broker_calls_total',
    help: 'Broker calls awaited while the same unit of work held a database connection (hold: transaction or checkout).',
    labelNames: ['call', 'hold'],
    registers: [o.registry],
  });
  const held = new o.client.Histogram({
    name: 'dw_hostage_held_seconds',
    help: 'How long a broker call kept a database connection held (seconds).',
    labelNames: ['call'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [o.registry],
  });
  return {
    observe(r) {
      calls.inc({ call: r.brokerCall, hold: r.inTransaction ? 'transaction' : 'checkout' });
      held.observe({ call: r.brokerCall }, r.heldMs / 1000);
    },
  };
}
