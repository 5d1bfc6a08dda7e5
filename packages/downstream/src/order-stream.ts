/**
 * An order's stream as a consumer applies it: OrderCreated (1), OrderPaid (2), OrderShipped (3) on the order's key.
 * Every event applied adds a row to `order_stream_applied` in the effect's transaction (inside the inbox, so a
 * redelivered event adds none), with the sequence applied before it; `in_sequence` is false when the event is not the
 * next one — an event applied out of its order's sequence, which the soak counts.
 */
import type pg from 'pg';
import type { KafkaSource } from './effect.ts';

/** Created by the lab's migration 000003 (packages/schema/migrations). */
export const ORDER_STREAM_TABLE = 'order_stream_applied';

export interface StreamStep {
  orderId: string;
  eventId: string;
  eventType: string;
  sequence: number;
}

export interface AppliedStep {
  /** The sequence this consumer applied last for the order (0: none). */
  previous: number;
  inSequence: boolean;
}

export async function recordStreamStep(client: pg.ClientBase, consumer: string, step: StreamStep, source: KafkaSource): Promise<AppliedStep> {
  const { rows } = await client.query<{ sequence: number }>(
    'select sequence from order_stream_applied where consumer = $1 and order_id = $2 order by id desc limit 1',
    [consumer, step.orderId],
  );
  const previous = rows[0]?.sequence ?? 0;
  const inSequence = step.sequence === previous + 1;
  await client.query(
    `insert into order_stream_applied (consumer, order_id, event_id, event_type, sequence, previous_sequence, in_sequence, kafka_topic, kafka_partition, kafka_offset)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [consumer, step.orderId, step.eventId, step.eventType, step.sequence, previous, inSequence, source.topic, source.partition, source.offset],
  );
  return { previous, inSequence };
}
