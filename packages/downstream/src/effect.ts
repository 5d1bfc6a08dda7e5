/**
 * What a downstream consumer does with a verified message: its "effect", written through a pg client
 * that is already inside a transaction. Shipping inserts a shipment, billing an invoice.
 * Because the effect only sees a client in an open transaction, an inbox (exactly-once effects) can
 * later be added around it — insert the event id, skip the effect on conflict — in the same transaction.
 */
import type pg from 'pg';
import type { OrderCreatedEvent } from '@dual-write/schema';
import type { OrderVerdict } from './order-callback.ts';

/** Where the message came from (kafkajs gives offsets as strings; the tables store them as bigint). */
export interface KafkaSource {
  topic: string;
  partition: number;
  offset: string;
}

export interface EffectInput {
  event: OrderCreatedEvent;
  orderId: string;
  eventId: string;
  /** The order API's answer: found (200, with the order's total) or ghost (404). */
  verdict: OrderVerdict;
  source: KafkaSource;
}

/** Writes the effect with `client` (inside BEGIN … COMMIT) and returns the outcome it recorded, e.g. 'shipped' or 'ghost'. */
export type RecordEffect = (client: pg.ClientBase, input: EffectInput) => Promise<string>;
