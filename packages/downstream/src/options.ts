/** The options of a downstream consumer, checked and completed from the lab's settings. */
import type { Kafka } from 'kafkajs';
import { DwError, resolveConfig, type LabConfig } from '@dual-write/config';
import type { RecordEffect } from './effect.ts';
import { DEFAULT_BACKOFF, type BackoffOptions } from './retry.ts';

export interface DownstreamConsumerOptions {
  /** Who this is, in logs and stats: 'shipping', 'billing'. */
  name: string;
  /** The Kafka consumer group; each downstream service has its own, so each sees every message. */
  groupId: string;
  /** Writes the effect of one verified message (see effect.ts). */
  recordEffect: RecordEffect;
  /** Tables recordEffect writes: checked at start, so an unmigrated database fails at once with a hint. */
  requiredTables?: string[];
  /** Where the defaults below come from; `resolveConfig()` when omitted. */
  config?: LabConfig;
  /** Default: config.topics.orders.name. */
  topic?: string;
  /** Default: config.kafka.appBrokers (through the `kafka` proxy). Ignored when `kafka` is given. */
  brokers?: string[];
  /** A ready kafkajs client to make the consumer with (tests pass a leak-tracked one). */
  kafka?: Kafka;
  /** Default: config.database.appUrl (through the `postgres` proxy). */
  databaseUrl?: string;
  /** Default: config.orderService.url. */
  orderServiceUrl?: string;
  /** Where a group without committed offsets starts: the topic's beginning (default true) or its end. */
  fromBeginning?: boolean;
  /** Partitions handled at the same time (default 3); also the size of the database pool. */
  partitionsConsumedConcurrently?: number;
  /**
   * How long the broker waits for a silent member before it gives its partitions to others (default 10 s;
   * the broker's minimum is 6 s). A consumer cut off by a fault comes back only after its old membership expired.
   */
  sessionTimeoutMs?: number;
  /** Timeout of one call to the order API (default 5000 ms). */
  callbackTimeoutMs?: number;
  /** Retry delays: initialMs · 2^(attempt−1), capped at maxMs (default 200 ms … 10 s). */
  backoff?: Partial<BackoffOptions>;
  /**
   * How long a callback that answered 404 keeps being retried before the effect records a ghost (default
   * config.downstream.notFoundRetryMs, i.e. NOT_FOUND_RETRY_MS, 0 = at once). A mitigation for a message that
   * outran its commit (the order appears a few ms later); a true zombie (the order never committed) still ends
   * as a ghost, this much later.
   */
  notFoundRetryMs?: number;
  /** One line per thing worth knowing; default: console.log with a `[name]` prefix. */
  log?: (line: string) => void;
}

export interface ResolvedOptions {
  name: string;
  groupId: string;
  recordEffect: RecordEffect;
  requiredTables: string[];
  topic: string;
  brokers: string[];
  kafka: Kafka | undefined;
  databaseUrl: string;
  orderServiceUrl: string;
  fromBeginning: boolean;
  concurrency: number;
  sessionTimeoutMs: number;
  callbackTimeoutMs: number;
  backoff: BackoffOptions;
  notFoundRetryMs: number;
  log: (line: string) => void;
}

function invalid(option: string, value: unknown, expected: string): DwError {
  return new DwError('DW_CONFIG_INVALID', `Downstream consumer option ${option}=${JSON.stringify(value)} is not valid: expected ${expected}.`, `Pass a valid ${option}, or leave it out to use the default.`);
}

function positiveInt(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw invalid(option, value, 'a whole number greater than 0');
  return value;
}

function nonNegativeInt(option: string, value: number | undefined, fallback: () => number): number {
  if (value === undefined) return fallback();
  if (!Number.isSafeInteger(value) || value < 0) throw invalid(option, value, 'a whole number ≥ 0 (milliseconds)');
  return value;
}

function nonEmpty(option: string, value: string | undefined): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(option, value, 'a non-empty string');
  return value;
}

export function resolveOptions(opts: DownstreamConsumerOptions): ResolvedOptions {
  const name = nonEmpty('name', opts.name);
  let config = opts.config;
  const lab = (): LabConfig => (config ??= resolveConfig());
  if (typeof opts.recordEffect !== 'function') throw invalid('recordEffect', typeof opts.recordEffect, 'a function (client, input) => Promise<outcome>');
  const brokers = opts.brokers ?? (opts.kafka ? [] : lab().kafka.appBrokers);
  if (!opts.kafka && brokers.length === 0) throw invalid('brokers', brokers, 'one or more host:port');
  const backoff = {
    initialMs: positiveInt('backoff.initialMs', opts.backoff?.initialMs, DEFAULT_BACKOFF.initialMs),
    maxMs: positiveInt('backoff.maxMs', opts.backoff?.maxMs, DEFAULT_BACKOFF.maxMs),
  };
  if (backoff.maxMs < backoff.initialMs) throw invalid('backoff.maxMs', backoff.maxMs, `at least backoff.initialMs (${backoff.initialMs})`);
  return {
    name,
    groupId: nonEmpty('groupId', opts.groupId),
    recordEffect: opts.recordEffect,
    requiredTables: opts.requiredTables ?? [],
    topic: nonEmpty('topic', opts.topic ?? lab().topics.orders.name),
    brokers,
    kafka: opts.kafka,
    databaseUrl: nonEmpty('databaseUrl', opts.databaseUrl ?? lab().database.appUrl),
    orderServiceUrl: nonEmpty('orderServiceUrl', opts.orderServiceUrl ?? lab().orderService.url),
    fromBeginning: opts.fromBeginning ?? true,
    concurrency: positiveInt('partitionsConsumedConcurrently', opts.partitionsConsumedConcurrently, 3),
    sessionTimeoutMs: positiveInt('sessionTimeoutMs', opts.sessionTimeoutMs, 10_000),
    callbackTimeoutMs: positiveInt('callbackTimeoutMs', opts.callbackTimeoutMs, 5000),
    backoff,
    notFoundRetryMs: nonNegativeInt('notFoundRetryMs', opts.notFoundRetryMs, () => lab().downstream.notFoundRetryMs),
    log: opts.log ?? ((line) => console.log(`[${name}] ${line}`)),
  };
}

/** A postgres URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
