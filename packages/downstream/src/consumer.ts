/**
 * startDownstreamConsumer(): a Kafka consumer (its own group) that hands every OrderCreated message to
 * handleMessage() — verify with the order API, record the effect — and commits its offset only after.
 * The returned handle stops it, reports stats and lets callers await "N messages handled".
 */
import { INBOX_TABLE } from '@dual-write/outbox';
import { ORDER_STREAM_TABLE } from './order-stream.ts';
import type { EventEmitter } from 'node:events';
import { Kafka, logLevel, type Consumer, type ConsumerCrashEvent, type LogEntry } from 'kafkajs';
import pg from 'pg';
import { DwError } from '@dual-write/config';
import { checkDatabase } from './database-check.ts';
import { ConsumerStoppingError, handleMessage } from './handle-message.ts';
import { HandledTracker, type DownstreamEvents, type DownstreamStats, type HandledTarget } from './handled-tracker.ts';
import { redactUrl, resolveOptions, type DownstreamConsumerOptions, type ResolvedOptions } from './options.ts';
import { backoffDelayMs } from './retry.ts';
import { traceEffect, traceProcess } from './tracing.ts';

export interface DownstreamConsumer {
  readonly name: string;
  readonly groupId: string;
  readonly topic: string;
  /** 'handled' (each message done), 'retry' (each failed attempt), 'crash' (Kafka consumer restarted), 'stopped'. */
  readonly events: EventEmitter<DownstreamEvents>;
  stats(): DownstreamStats;
  /** Resolves once `handled >= n` (or the predicate holds); rejects on stop or after timeoutMs (default 60 s). */
  waitForHandled(target: HandledTarget, opts?: { timeoutMs?: number }): Promise<DownstreamStats>;
  /** Interrupts a message being retried (it stays uncommitted), leaves the group, disconnects, closes the pool. Idempotent. */
  stop(): Promise<void>;
}

function kafkaLogger(o: ResolvedOptions) {
  return () => ({ namespace, level, log }: LogEntry) => {
    const { message, error } = log as LogEntry['log'] & { error?: unknown };
    if (error instanceof ConsumerStoppingError) return; // our own stop, already logged
    o.log(`kafkajs ${logLevel[level]} [${namespace}] ${message}${error instanceof Error && !message.includes(error.message) ? `: ${error.message}` : ''}`);
  };
}

function makeKafka(o: ResolvedOptions): Kafka {
  return o.kafka ?? new Kafka({ clientId: o.name, brokers: o.brokers, logLevel: logLevel.WARN, logCreator: kafkaLogger(o) });
}

export async function startDownstreamConsumer(options: DownstreamConsumerOptions): Promise<DownstreamConsumer> {
  const o = resolveOptions(options);
  const tracker = new HandledTracker(o.name, o.log);
  const stopping = new AbortController();
  const pool = new pg.Pool({ connectionString: o.databaseUrl, max: o.concurrency, application_name: `dw-${o.name}`, connectionTimeoutMillis: 5000 });
  pool.on('error', (err) => o.log(`database connection dropped: ${err.message}`));
  let consumer: Consumer | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let restarts = 0;

  // Traced (tracing.ts: a `process` span per message continuing its trace, the effect's span): no-ops without an SDK.
  const recordEffect = traceEffect(o.name, o.recordEffect);
  const run = async (c: Consumer) => {
    await c.connect();
    await c.subscribe({ topics: [o.topic], fromBeginning: o.fromBeginning });
    await c.run({
      partitionsConsumedConcurrently: o.concurrency,
      eachMessage: ({ topic, partition, message, heartbeat }) =>
        traceProcess(o, { topic, partition, message, heartbeat }, () =>
          handleMessage(
            { name: o.name, pool, recordEffect, orderServiceUrl: o.orderServiceUrl, callbackTimeoutMs: o.callbackTimeoutMs, backoff: o.backoff, notFoundRetryMs: o.notFoundRetryMs, tracker, log: o.log, signal: stopping.signal },
            { topic, partition, message, heartbeat },
          ),
        ),
    });
  };

  // kafkajs restarts a consumer after a retriable crash by itself; after any other crash, so do we.
  const onCrash = ({ payload }: ConsumerCrashEvent) => {
    if (stopping.signal.aborted) return;
    if (payload.restart) {
      o.log(`consumer crashed (${payload.error.message}); kafkajs restarts it`);
      tracker.crashed({ error: payload.error.message, restartedBy: 'kafkajs', restartInMs: undefined });
      return;
    }
    const delayMs = backoffDelayMs(++restarts, { initialMs: 1000, maxMs: 30_000 });
    o.log(`consumer crashed (${payload.error.message}) and kafkajs gave up; restarting it in ${delayMs} ms`);
    tracker.crashed({ error: payload.error.message, restartedBy: 'consumer', restartInMs: delayMs });
    const restart = () => {
      restartTimer = undefined;
      if (stopping.signal.aborted || !consumer) return;
      run(consumer).then(
        () => { restarts = 0; },
        (err: unknown) => onCrash({ payload: { error: err as Error, groupId: o.groupId, restart: false } } as ConsumerCrashEvent),
      );
    };
    restartTimer = setTimeout(restart, delayMs);
  };

  try {
    await checkDatabase(pool, o.databaseUrl, [...o.requiredTables, INBOX_TABLE, ORDER_STREAM_TABLE]);
    // A short long-poll: stop() waits for the fetch in flight, so this bounds how long a graceful stop takes.
    consumer = makeKafka(o).consumer({ groupId: o.groupId, maxWaitTimeInMs: 1000, sessionTimeout: o.sessionTimeoutMs, heartbeatInterval: Math.floor(o.sessionTimeoutMs / 3) });
    consumer.on(consumer.events.CRASH, onCrash);
    await run(consumer);
  } catch (err) {
    stopping.abort();
    await consumer?.disconnect().catch(() => {});
    await pool.end().catch(() => {});
    tracker.stopped();
    if (err instanceof DwError) throw err;
    throw new DwError('DW_STACK_NOT_RUNNING', `${o.name} could not start consuming ${o.topic} from Kafka at ${o.kafka ? 'the given client' : o.brokers.join(',')}: ${(err as Error).message}.`, 'Start the stack (npm run stack -- up), or fix KAFKA_BROKERS / VIA_PROXY; the topic must exist (auto-creation is off).', undefined, { cause: err });
  }
  o.log(`consuming ${o.topic} as group ${o.groupId}; verifying orders with ${o.orderServiceUrl}; writing to ${redactUrl(o.databaseUrl)}`);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping.abort();
      clearTimeout(restartTimer);
      try {
        await consumer?.disconnect();
      } finally {
        await pool.end();
        tracker.stopped();
        const s = tracker.stats();
        o.log(`stopped: ${s.handled} handled (${Object.entries(s.outcomes).map(([k, v]) => `${v} ${k}`).join(', ') || 'nothing recorded'}; ${s.skipped} skipped), ${s.retries} retries`);
      }
    })());

  return {
    name: o.name,
    groupId: o.groupId,
    topic: o.topic,
    events: tracker.events,
    stats: () => tracker.stats(),
    waitForHandled: (target, opts) => tracker.waitForHandled(target, opts),
    stop,
  };
}
