/**
 * The write strategies for "create an order and tell Kafka".
 *
 *  naive               BEGIN → INSERT order → await Kafka send (acks=all) → COMMIT
 *                      The brief's flow. A failure between the send and the COMMIT leaves a zombie message;
 *                      a slow Kafka keeps the transaction's pool connection busy for the whole send.
 *  naive-after-commit  BEGIN → INSERT order → COMMIT → await Kafka send
 *                      A failure after the COMMIT leaves a black hole: the order exists, the message never will.
 *  outbox              BEGIN → INSERT order → INSERT outbox row → COMMIT   (no Kafka in the request at all)
 *                      Both rows commit or neither does; the relay publishes the outbox row, retrying until Kafka
 *                      acknowledges it, on its own connections.
 *
 * `hooks` are the seams where the lab's bad-scenario endpoints (src/lab/) inject real faults; they do nothing
 * by default. `insertOrder` is the order row alone (the benchmark's DB-only route, bench/, reuses it).
 */
import type { Transaction } from 'sequelize';
import type { WriteStrategy } from '@dual-write/config';
import type { OrderCreatedEvent } from '@dual-write/schema';
import type { Database } from '../db/database.ts';
import type { Publisher, PublishResult } from '../kafka/naive-publisher.ts';
import { enqueue, sequelizeExecutor } from '@dual-write/outbox';
import { toOutboxMessage } from './outbox-message.ts';
import { traceEnqueue } from './tracing.ts';

export interface WriteHooks {
  /** naive: after the send was acknowledged, before COMMIT. outbox: after the outbox row is written, before COMMIT. */
  beforeCommit?: (event: OrderCreatedEvent, published: PublishResult | undefined) => Promise<void>;
  /** naive-after-commit and outbox: after COMMIT (for naive-after-commit: before the send). */
  afterCommit?: (event: OrderCreatedEvent) => Promise<void>;
}

export interface WriteOutcome {
  event: OrderCreatedEvent;
  committed: boolean;
  published?: PublishResult;
  /** outbox: the event is in the outbox, committed with the order; the relay will publish it. */
  outboxed: boolean;
  /** naive-after-commit only: the send failed after the order was committed (nothing retries it). */
  publishError?: Error;
}

export class WriteFailedError extends Error {
  constructor(
    readonly stage: 'insert' | 'publish' | 'commit',
    readonly outcome: WriteOutcome,
    cause: unknown,
  ) {
    super(`order write failed at ${stage}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'WriteFailedError';
  }
}

/** INSERT the order row in `transaction`; `strategy` is what its `strategy` column records. */
export async function insertOrder(db: Database, event: OrderCreatedEvent, strategy: string, transaction: Transaction): Promise<void> {
  await db.Order.create(
    {
      id: event.orderId,
      customer_id: event.customerId,
      status: 'created',
      version: 1,
      total_cents: event.totalCents,
      items: event.items,
      strategy,
      created_at: new Date(event.createdAt),
    },
    { transaction },
  );
}

export async function writeOrder(
  deps: { db: Database; publisher: Publisher },
  event: OrderCreatedEvent,
  strategy: WriteStrategy,
  hooks: WriteHooks = {},
): Promise<WriteOutcome> {
  const outcome: WriteOutcome = { event, committed: false, outboxed: false };
  const tx = await deps.db.sequelize.transaction();
  let stage: WriteFailedError['stage'] = 'insert';
  try {
    await insertOrder(deps.db, event, strategy, tx);
    if (strategy === 'naive') {
      stage = 'publish';
      // eslint-disable-next-line dual-write/no-broker-send-in-transaction -- deliberate: the lab's naive strategy (zombie message, pool exhaustion) that the bad scenarios demonstrate
      outcome.published = await deps.publisher.publish(event); // the pool connection waits here
      await hooks.beforeCommit?.(event, outcome.published);
      stage = 'commit';
      await tx.commit();
      outcome.committed = true;
      return outcome;
    }
    if (strategy === 'outbox') {
      await traceEnqueue(event, () => enqueue(sequelizeExecutor(deps.db.sequelize, tx), toOutboxMessage(event)));
      await hooks.beforeCommit?.(event, undefined);
      stage = 'commit';
      await tx.commit();
      outcome.committed = true;
      outcome.outboxed = true;
      await hooks.afterCommit?.(event);
      return outcome;
    }
    stage = 'commit';
    await tx.commit();
    outcome.committed = true;
  } catch (err) {
    if (!outcome.committed) await tx.rollback().catch(() => {});
    throw new WriteFailedError(stage, outcome, err);
  }
  // naive-after-commit: the order is committed; a failed send is logged by the caller and never retried.
  try {
    await hooks.afterCommit?.(event);
    // eslint-disable-next-line dual-write/no-send-after-commit -- deliberate: the lab's naive-after-commit strategy (message black hole) that kind=mq demonstrates
    outcome.published = await deps.publisher.publish(event);
  } catch (err) {
    outcome.publishError = err as Error;
  }
  return outcome;
}
