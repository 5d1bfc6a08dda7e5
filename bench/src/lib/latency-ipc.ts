/**
 * The messages between the latency section and its child processes (writer, consumer). Times are CLOCK_MONOTONIC
 * milliseconds (clock.ts) except `appendWallMs`, Kafka's LogAppendTime (wall clock, whole milliseconds).
 */
import type pg from 'pg';
import type { LatencyWorkload } from '../types.ts';

/** The writer's settings (env BENCH_LATENCY_WRITER, JSON). */
export interface WriterSettings {
  databaseUrl: string;
  workload: LatencyWorkload;
  /** Transactions in flight at most (one connection each). */
  connections: number;
  /**
   * How a transaction writes its one row (default: our outbox's enqueue()): `module`'s export `name`, called once
   * with `options`, returns the inserter (a peer's own outbox table, e.g. Debezium's layout or pg-transactional-outbox's
   * storage function). Additive: the latency section leaves it out.
   */
  inserter?: InserterSpec;
}

/** A module (absolute path) whose export `name` is an InserterFactory. */
export interface InserterSpec {
  module: string;
  name: string;
  options?: unknown;
}

/** Writes transaction n's one row inside the open transaction; resolves to its event id (the Kafka header `id`). */
export type RowInserter = (client: pg.PoolClient, n: number, workload: LatencyWorkload) => Promise<string>;
export type InserterFactory = (options: unknown) => RowInserter | Promise<RowInserter>;

export type ToWriter = { type: 'go' };
export type FromWriter =
  | { type: 'ready' }
  | {
      type: 'done';
      /** When the first transaction was due. */
      t0Mono: number;
      /** [event id, COMMIT returned] per committed transaction. */
      commits: [string, number][];
      failedTransactions: number;
      firstFailure?: string;
      /** BEGIN…COMMIT (ms). */
      txP50Ms: number;
      txP99Ms: number;
    }
  | { type: 'error'; message: string };

/** The consumer's settings (env BENCH_LATENCY_CONSUMER, JSON). */
export interface ConsumerSettings {
  topic: string;
  partitions: number;
}

export type ToConsumer = never;
/** One fetched batch: [event id, LogAppendTime (wall ms), received (mono ms)] per message. */
export type Arrival = [string, number, number];
export type FromConsumer = { type: 'ready' } | { type: 'batch'; arrivals: Arrival[] } | { type: 'error'; message: string };
