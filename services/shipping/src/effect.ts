/** Shipping's effect: one row in `shipments` per message — 'shipped' when the order exists, 'ghost' when the order API said 404. */
import type { RecordEffect } from '@dual-write/downstream';

export const SHIPMENTS_TABLE = 'shipments';

export const recordShipment: RecordEffect = async (client, { orderId, eventId, verdict, source }) => {
  const outcome = verdict.kind === 'found' ? 'shipped' : 'ghost';
  await client.query(
    `insert into shipments (order_id, event_id, outcome, callback_status, kafka_topic, kafka_partition, kafka_offset)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [orderId, eventId, outcome, verdict.status, source.topic, source.partition, source.offset],
  );
  return outcome;
};
