/**
 * One Kafka message, start to finish: decode → verify with the order API → record the effect in a
 * transaction. A malformed message is skipped. A failed attempt (the order API or the database did not
 * answer) is retried after a capped exponential backoff, for as long as it takes; the message is never
 * given up, so its offset is only committed after the effect is recorded. Stopping aborts the wait and
 * throws, which leaves the offset uncommitted: the next consumer of the group gets the message again.
 *
 * The order API is called before a database connection is taken, so a slow callback never holds one.
 */
import type { KafkaMessage } from 'kafkajs';
import type pg from 'pg';
import { decodeDownstreamMessage } from './decode.ts';
import type { EffectInput, KafkaSource, RecordEffect } from './effect.ts';
import type { HandledTracker } from './handled-tracker.ts';
import { verifyOrder } from './order-callback.ts';
import { backoffDelayMs, waitWithHeartbeats, type BackoffOptions } from './retry.ts';
import { inTransaction } from './transaction.ts';
import { recordStreamStep } from './order-stream.ts';
import { ORDER_CREATED } from '@dual-write/schema';
import { pgExecutor, processOnce } from '@dual-write/outbox';

/** The outcome recorded for an event id this consumer already handled (the inbox absorbed it). */
export const DUPLICATE = 'duplicate';

export interface MessageHandlerDeps {
  name: string;
  pool: pg.Pool;
  recordEffect: RecordEffect;
  orderServiceUrl: string;
  callbackTimeoutMs: number;
  backoff: BackoffOptions;
  /** A 404 is retried (with the backoff) for this long before the ghost is recorded; 0 or absent = at once. */
  notFoundRetryMs?: number;
  tracker: HandledTracker;
  log: (line: string) => void;
  /** Aborted by stop(). */
  signal: AbortSignal;
}

export interface IncomingMessage {
  topic: string;
  partition: number;
  message: KafkaMessage;
  /** kafkajs's heartbeat: keeps the group membership alive during long retries (throws on a rebalance). */
  heartbeat: () => Promise<void>;
}

/** A callback answered 404 while the not-found retry window (notFoundRetryMs) is still open. */
class OrderNotFoundYetError extends Error {
  readonly remainingMs: number;
  constructor(orderId: string, waitedMs: number, windowMs: number) {
    super(`order ${orderId} not found (404) yet; retrying 404s for ${windowMs} ms (${waitedMs} ms so far) before recording a ghost`);
    this.name = 'OrderNotFoundYetError';
    this.remainingMs = windowMs - waitedMs;
  }
}

/** Thrown when stop() interrupts a message: the message stays uncommitted. */
export class ConsumerStoppingError extends Error {
  constructor(name: string, source: KafkaSource) {
    super(`${name} is stopping: ${describe(source)} left uncommitted for the next consumer of the group`);
    this.name = 'ConsumerStoppingError';
  }
}

export function describe(source: KafkaSource): string {
  return `${source.topic}/${source.partition}@${source.offset}`;
}

export async function handleMessage(deps: MessageHandlerDeps, incoming: IncomingMessage): Promise<void> {
  const source: KafkaSource = { topic: incoming.topic, partition: incoming.partition, offset: incoming.message.offset };
  const decoded = decodeDownstreamMessage(incoming.message);
  if (!decoded.ok) {
    deps.log(`skipped malformed message ${describe(source)}: ${decoded.reason}`);
    deps.tracker.handled({ kind: 'skipped', reason: decoded.reason, source });
    return;
  }
  const { event, orderId, eventId, sequence } = decoded.message;
  let firstNotFoundAt: number | undefined;
  for (let attempt = 1; ; attempt++) {
    if (deps.signal.aborted) throw new ConsumerStoppingError(deps.name, source);
    try {
      const verdict = await verifyOrder(orderId, { orderServiceUrl: deps.orderServiceUrl, timeoutMs: deps.callbackTimeoutMs, signal: deps.signal, caller: deps.name });
      if (verdict.kind === 'ghost' && deps.notFoundRetryMs) {
        // The order may be in a transaction that has not committed yet (the message outran its commit): ask again.
        firstNotFoundAt ??= Date.now();
        const waited = Date.now() - firstNotFoundAt;
        if (waited < deps.notFoundRetryMs) throw new OrderNotFoundYetError(orderId, waited, deps.notFoundRetryMs);
      }
      // The inbox row, the effect and the stream step commit together: a redelivered event (at-least-once) has no
      // second effect. OrderCreated has the consumer's effect; every event is a step of its order's stream.
      const outcome = await inTransaction(deps.pool, async (client) => {
        let recorded = DUPLICATE;
        await processOnce(pgExecutor(client), { consumer: deps.name, eventId }, async () => {
          if (event.type === ORDER_CREATED) {
            const input: EffectInput = { event, orderId, eventId, verdict, source };
            recorded = await deps.recordEffect(client, input);
          }
          const step = await recordStreamStep(client, deps.name, { orderId, eventId, eventType: event.type, sequence }, source);
          if (event.type !== ORDER_CREATED) recorded = step.inSequence ? `${event.type} applied` : `${event.type} out of sequence`;
        });
        return recorded;
      });
      deps.log(`${outcome} order ${orderId} (event ${eventId}, ${describe(source)}, order API ${verdict.status})${attempt > 1 ? ` after ${attempt} attempts` : ''}`);
      deps.tracker.handled({ kind: 'recorded', outcome, callbackStatus: verdict.status, orderId, eventId, source });
      return;
    } catch (err) {
      if (deps.signal.aborted) throw new ConsumerStoppingError(deps.name, source);
      const notFound = err instanceof OrderNotFoundYetError;
      const delayMs = notFound ? Math.min(backoffDelayMs(attempt, deps.backoff), Math.max(1, err.remainingMs)) : backoffDelayMs(attempt, deps.backoff);
      const error = (err as Error).message;
      deps.log(`attempt ${attempt} for order ${orderId} (${describe(source)}) failed: ${error} — retrying in ${delayMs} ms`);
      deps.tracker.retry({ attempt, delayMs, error, orderId, source });
      try {
        await waitWithHeartbeats(delayMs, deps.signal, incoming.heartbeat);
      } catch (waitErr) {
        if (deps.signal.aborted) throw new ConsumerStoppingError(deps.name, source);
        throw waitErr; // a heartbeat failed (rebalance): kafkajs rejoins; the message is not committed and comes again
      }
    }
  }
}
