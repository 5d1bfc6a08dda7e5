/**
 * The shapes every benchmark part shares: the workloads (the same for the relay, the raw producer and the
 * peers), the results, and a peer's contract. A peer that cannot run says why instead of being left out.
 */

/** A backlog written before the publisher starts; the drain rate is messages/s until it is all on Kafka. */
export interface DrainWorkload {
  rows: number;
  /** Keys (aggregate ids) the rows are spread over. */
  keys: number;
  payloadBytes: number;
  partitions: number;
}

/** Rows committed at a steady rate; latency = COMMIT → message readable in Kafka. */
export interface LatencyWorkload {
  ratePerSec: number;
  seconds: number;
  /** The first seconds are not counted (connections, JIT, consumer assignment). */
  warmupSeconds: number;
  keys: number;
  payloadBytes: number;
  partitions: number;
}

export interface DrainResult {
  messages: number;
  seconds: number;
  msgsPerSec: number;
}

export interface LatencyResult {
  /** Rows committed in the measured window. */
  sent: number;
  received: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  lost: number;
  duplicates: number;
}

export type Outcome<T> = { ran: true; result: T; notes?: string[] } | { ran: false; reason: string };

export type Progress = (line: string) => void;

/** Another outbox implementation run on the same box against the same workload. */
export interface Peer {
  /** e.g. "Debezium outbox event router". */
  name: string;
  /** e.g. "debezium-connector-postgres 3.6.1.Final on Kafka Connect 4.1.1". */
  version: string;
  /** Fetches/starts what the peer needs; resolves to a reason when it cannot run here (never throws for that). */
  prepare(progress: Progress): Promise<{ ok: true } | { ok: false; reason: string }>;
  drain(workload: DrainWorkload, progress: Progress): Promise<Outcome<DrainResult>>;
  latency(workload: LatencyWorkload, progress: Progress): Promise<Outcome<LatencyResult>>;
  /** Stops everything prepare started; safe to call twice and after a failed prepare. */
  close(): Promise<void>;
}

/** What a section of `npm run bench` gets. */
export interface SectionContext {
  /** --quick: small sizes, proves the harness works (CI); otherwise the full sizes. */
  quick: boolean;
  progress: Progress;
  /** Where this run writes its files (JSON, charts, profiles): results/bench-<time>/. */
  outDir: string;
  /** The caller already holds the lab lock (a section that needs it for a toxic must not wait for it). */
  holdsLabLock?: boolean;
}

/** One row of the report's ratio table: `value` = measured ÷ reference, both from this run. */
export interface Ratio {
  name: string;
  measured: string;
  reference: string;
  value: number;
}

/** A Vega-Lite spec (rendered to SVG by the report); kept loose on purpose. */
export type ChartSpec = Record<string, unknown> & { title?: string };

export interface SectionResult {
  id: string;
  title: string;
  /** Markdown-ready table of what was measured. */
  table: { headers: string[]; rows: (string | number)[][] };
  ratios: Ratio[];
  charts: { file: string; spec: ChartSpec }[];
  /** Everything measured, for the JSON file. */
  data: unknown;
  /** Settings, caveats, why a part could not run. */
  notes: string[];
  /** Nothing lost / auditor clean, where the section checks it (the --quick CI test asserts it). */
  lost: number;
}

/** One numbered part of the benchmark (drain, latency, API throughput, pool health, scale-out, peers). */
export interface BenchSection {
  id: string;
  title: string;
  run(ctx: SectionContext): Promise<SectionResult>;
}
