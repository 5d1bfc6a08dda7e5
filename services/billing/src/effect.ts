/**
 * Billing's effect: one row in `invoices` per message — 'invoiced' for the order's total as the order API
 * reports it (200), or 'ghost' without an amount when the order API said 404.
 */
import type { RecordEffect } from '@dual-write/downstream';

export const INVOICES_TABLE = 'invoices';

export const recordInvoice: RecordEffect = async (client, { orderId, eventId, verdict, source }) => {
  const outcome = verdict.kind === 'found' ? 'invoiced' : 'ghost';
  const amountCents = verdict.kind === 'found' ? verdict.order.totalCents : null;
  await client.query(
    `insert into invoices (order_id, event_id, outcome, amount_cents, callback_status, kafka_topic, kafka_partition, kafka_offset)
     values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [orderId, eventId, outcome, amountCents, verdict.status, source.topic, source.partition, source.offset],
  );
  return outcome;
};
