/**
 * The named faults (`npm run chaos -- <name>`): which proxy, which toxic, which attributes. Each toggle is
 * data; run-toggle.ts puts it in place and takes it away.
 */
import type { ProxyName, ToxicSpec } from '@dual-write/faults';

type ToxicType = ToxicSpec['type'];

export interface NumberOption {
  /** The flag without dashes, e.g. `ms`. */
  flag: string;
  default: number;
  min: number;
  meaning: string;
}

export type Fault =
  | { kind: 'toxic'; proxy: ProxyName; type: ToxicType; stream: 'upstream' | 'downstream'; attributes: Record<string, number> }
  | { kind: 'disable'; proxy: ProxyName };

export interface Toggle {
  name: string;
  summary: string;
  options: NumberOption[];
  faults(values: Record<string, number>): Fault[];
}

const value = (values: Record<string, number>, flag: string): number => {
  const v = values[flag];
  if (v === undefined) throw new Error(`no value for --${flag}`);
  return v;
};

const latency = (proxy: ProxyName): Toggle => ({
  name: `${proxy === 'kafka' ? 'kafka' : 'db'}-latency`,
  summary: `adds latency to everything the ${proxy} proxy sends back (a latency toxic, downstream)`,
  options: [
    { flag: 'ms', default: 1000, min: 0, meaning: 'latency in milliseconds' },
    { flag: 'jitter', default: 0, min: 0, meaning: 'random ± jitter in milliseconds' },
  ],
  faults: (v) => [{ kind: 'toxic', proxy, type: 'latency', stream: 'downstream', attributes: { latency: value(v, 'ms'), jitter: value(v, 'jitter') } }],
});

const down = (proxy: ProxyName): Toggle => ({
  name: `${proxy === 'kafka' ? 'kafka' : 'db'}-down`,
  summary: `disables the ${proxy} proxy: open connections are closed, new ones refused`,
  options: [],
  faults: () => [{ kind: 'disable', proxy }],
});

export const TOGGLES: readonly Toggle[] = [
  latency('kafka'),
  down('kafka'),
  {
    name: 'kafka-slow-close',
    summary: 'delays the closing of kafka proxy connections (a slow_close toxic, downstream)',
    options: [{ flag: 'delay-ms', default: 5000, min: 0, meaning: 'how long a close is held back, in milliseconds' }],
    faults: (v) => [{ kind: 'toxic', proxy: 'kafka', type: 'slow_close', stream: 'downstream', attributes: { delay: value(v, 'delay-ms') } }],
  },
  {
    name: 'kafka-bandwidth',
    summary: 'caps what the kafka proxy sends back (a bandwidth toxic, downstream)',
    options: [{ flag: 'kbps', default: 16, min: 0, meaning: 'rate in KB/s (0 lets nothing through)' }],
    faults: (v) => [{ kind: 'toxic', proxy: 'kafka', type: 'bandwidth', stream: 'downstream', attributes: { rate: value(v, 'kbps') } }],
  },
  {
    name: 'db-drop',
    summary: 'resets postgres proxy connections as the client sends (a reset_peer toxic, upstream)',
    options: [{ flag: 'timeout-ms', default: 0, min: 0, meaning: 'reset after this many milliseconds (0: at once)' }],
    faults: (v) => [{ kind: 'toxic', proxy: 'postgres', type: 'reset_peer', stream: 'upstream', attributes: { timeout: value(v, 'timeout-ms') } }],
  },
  latency('postgres'),
  down('postgres'),
];

export function findToggle(name: string): Toggle | undefined {
  return TOGGLES.find((t) => t.name === name);
}

/** One line for the log, e.g. "latency 500 ms ± 0 ms (downstream) on the kafka proxy". */
export function describeFault(f: Fault): string {
  if (f.kind === 'disable') return `the ${f.proxy} proxy disabled`;
  const a = f.attributes;
  const what =
    f.type === 'latency' ? `latency ${a.latency} ms ± ${a.jitter} ms`
    : f.type === 'slow_close' ? `slow_close ${a.delay} ms`
    : f.type === 'bandwidth' ? `bandwidth ${a.rate} KB/s`
    : f.type === 'reset_peer' ? `reset_peer after ${a.timeout} ms`
    : `${f.type} ${JSON.stringify(a)}`;
  return `${what} (${f.stream}) on the ${f.proxy} proxy`;
}
