/**
 * Turns a Kafka message into the event, order and event ids a consumer acts on, or says why it cannot:
 * a message that is not an order event (OrderCreated, OrderPaid, OrderShipped), or whose ids are not UUIDs (the
 * effect tables store them as uuid), is malformed — retrying it would never help, so the consumer skips it.
 */
import { decodeOrderEvent, eventSequence, headerString, type KafkaMessageLike, type OrderEvent } from '@dual-write/schema';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface DecodedMessage {
  event: OrderEvent;
  orderId: string;
  /** The event's place in its order's stream (1 for OrderCreated). */
  sequence: number;
  /** The `id` header (the event id, by the outbox convention); the body's eventId when the header is missing. */
  eventId: string;
}

export type DecodeResult = { ok: true; message: DecodedMessage } | { ok: false; reason: string };

export function decodeDownstreamMessage(message: KafkaMessageLike): DecodeResult {
  let event: OrderEvent;
  try {
    event = decodeOrderEvent(message);
  } catch (err) {
    return { ok: false, reason: err instanceof SyntaxError ? `value is not JSON (${err.message})` : (err as Error).message };
  }
  if (!UUID.test(event.orderId)) return { ok: false, reason: `orderId ${JSON.stringify(event.orderId)} is not a UUID` };
  const eventId = headerString(message, 'id') ?? event.eventId;
  if (!UUID.test(eventId)) return { ok: false, reason: `event id ${JSON.stringify(eventId)} is not a UUID` };
  return { ok: true, message: { event, orderId: event.orderId, eventId, sequence: eventSequence(event) } };
}
