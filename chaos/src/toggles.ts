/**
 * The named faults (`npm run chaos -- <name>`): which proxy, which toxic, which attributes. Each toggle is
 * data; run-toggle.ts puts it in place and takes it away.
 */
import type { ProxyName, ToxicSpec } from '@dual-write/faults';
import type { RestartableService } from '@dual-write/stack';

type ToxicType = ToxicSpec['type'];

export interface NumberOption {
  /** The flag without dashes, e.g. `ms`. */
  flag: string;
  default: number;
  min: number;
  /** Upper bound (inclusive); none when absent. */
  max?: number;
  meaning: string;
}

export type Fault =
  | { kind: 'toxic'; proxy: ProxyName; type: ToxicType; stream: 'upstream' | 'downstream'; attributes: Record<string, number> }
  | { kind: 'disable'; proxy: ProxyName }
  /** Stops a stack service (the step's end starts it again). */
  | { kind: 'stop'; service: RestartableService; signal: NodeJS.Signals }
  /** kill -9 of every relay process (the step's end starts each again, as it was). */
  | { kind: 'kill-relays' }
  /** KAFKA_NODES=3: kill -9 of the node that leads `partition` of the orders topic, found via metadata (the step's end starts it again). */
  | { kind: 'kill-leader'; partition: number };

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

const NODE_OPTION: NumberOption = { flag: 'node', default: 1, min: 1, max: 3, meaning: 'the cluster node (1, 2 or 3), i.e. the proxy kafka-<node>' };
const nodeProxy = (values: Record<string, number>): ProxyName => `kafka-${value(values, 'node')}` as ProxyName;

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
  {
    name: 'relay-kill',
    summary: 'kill -9 of every relay process (npm run relay); each is started again, same command and environment, when the step ends',
    options: [],
    faults: () => [{ kind: 'kill-relays' }],
  },
  restart('kafka'),
  restart('postgres'),
  {
    name: 'kafka-leader-kill',
    summary: 'KAFKA_NODES=3: kill -9 of the cluster node that currently leads a partition of the orders topic (found via metadata); it is started again when the step ends',
    options: [{ flag: 'partition', default: 0, min: 0, meaning: 'the partition of ORDERS_TOPIC whose leader is killed' }],
    faults: (v) => [{ kind: 'kill-leader', partition: value(v, 'partition') }],
  },
  {
    name: 'kafka-node-down',
    summary: 'KAFKA_NODES=3: disables one node’s proxy (kafka-<node>): that broker is cut off from the clients that come through the proxies, the others still answer',
    options: [NODE_OPTION],
    faults: (v) => [{ kind: 'disable', proxy: nodeProxy(v) }],
  },
  {
    name: 'kafka-node-latency',
    summary: 'KAFKA_NODES=3: slows one broker — latency on what its proxy (kafka-<node>) sends back (a latency toxic, downstream)',
    options: [NODE_OPTION, { flag: 'ms', default: 1000, min: 0, meaning: 'latency in milliseconds' }, { flag: 'jitter', default: 0, min: 0, meaning: 'random ± jitter in milliseconds' }],
    faults: (v) => [{ kind: 'toxic', proxy: nodeProxy(v), type: 'latency', stream: 'downstream', attributes: { latency: value(v, 'ms'), jitter: value(v, 'jitter') } }],
  },
];

function restart(service: RestartableService): Toggle {
  const graceful = service === 'kafka' ? 'a controlled shutdown (SIGTERM)' : 'a fast shutdown (SIGINT: open transactions rolled back)';
  return {
    name: `${service}-restart`,
    summary: `stops the stack's ${service === 'kafka' ? 'Kafka broker' : 'PostgreSQL server'} — ${graceful}, or a crash with --kill 1 — and starts it again when the step ends`,
    options: [{ flag: 'kill', default: 0, min: 0, max: 1, meaning: '1: SIGKILL (a crash) instead of a clean shutdown' }],
    faults: (v) => [{ kind: 'stop', service, signal: value(v, 'kill') === 1 ? 'SIGKILL' : service === 'kafka' ? 'SIGTERM' : 'SIGINT' }],
  };
}

export function findToggle(name: string): Toggle | undefined {
  return TOGGLES.find((t) => t.name === name);
}

/** One line for the log, e.g. "latency 500 ms ± 0 ms (downstream) on the kafka proxy". */
export function describeFault(f: Fault): string {
  if (f.kind === 'disable') return `the ${f.proxy} proxy disabled`;
  if (f.kind === 'stop') return `${f.service} stopped (${f.signal})`;
  if (f.kind === 'kill-relays') return 'relay processes killed (SIGKILL)';
  if (f.kind === 'kill-leader') return `the leader of partition ${f.partition} killed (SIGKILL)`;
  const a = f.attributes;
  const what =
    f.type === 'latency' ? `latency ${a.latency} ms ± ${a.jitter} ms`
    : f.type === 'slow_close' ? `slow_close ${a.delay} ms`
    : f.type === 'bandwidth' ? `bandwidth ${a.rate} KB/s`
    : f.type === 'reset_peer' ? `reset_peer after ${a.timeout} ms`
    : `${f.type} ${JSON.stringify(a)}`;
  return `${what} (${f.stream}) on the ${f.proxy} proxy`;
}
