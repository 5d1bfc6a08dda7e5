/** How an outbox row becomes a Kafka message (Debezium outbox event router conventions). */
import type { OutboxRow } from '@dual-write/outbox';
import type { OutgoingMessage } from './seams.ts';

/**
 * A number that grows with every message the relay publishes for a key: the row's position. The relay publishes a
 * key's rows in position order (commit order for writers that serialise on the aggregate), so a consumer (or the
 * auditor: --sequence header:outbox-sequence) can check per-key order with it.
 */
export function outboxSequence(row: Pick<OutboxRow, 'position'>): string {
  return BigInt(row.position).toString();
}

export function toKafkaMessage(row: OutboxRow, partition: number): OutgoingMessage {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(row.headers ?? {})) headers[k] = typeof v === 'string' ? v : JSON.stringify(v);
  // The relay's headers win over a row's own (enqueue() refuses these names anyway).
  headers.id = row.id;
  headers.type = row.type;
  headers.aggregatetype = row.aggregatetype;
  headers['outbox-position'] = row.position;
  headers['outbox-transaction-id'] = row.transaction_id;
  headers['outbox-sequence'] = outboxSequence(row);
  return {
    key: row.aggregateid,
    value: row.payload_text ?? JSON.stringify(row.payload),
    partition,
    timestamp: String(new Date(row.created_at).getTime()),
    headers,
  };
}

/** Bytes a message adds to a produce request, roughly (uncompressed), to keep requests under the broker's limit. */
export function approximateSize(m: OutgoingMessage): number {
  let n = 70 + Buffer.byteLength(m.key) + Buffer.byteLength(m.value);
  for (const [k, v] of Object.entries(m.headers ?? {})) n += 10 + Buffer.byteLength(k) + Buffer.byteLength(String(v));
  return n;
}
