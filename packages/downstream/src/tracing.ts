/**
 * The consumers' spans (README "Tracing"), through @opentelemetry/api only — no-ops unless the process registered a
 * tracer provider (@dual-write/telemetry):
 *  - `process <topic>` (CONSUMER): one per Kafka message, the child of the context in the message's `traceparent`
 *    (the relay's `publish` span, or the naive strategies' `send`). Everything handleMessage() does runs under it:
 *    the callback GET /api/v1/orders/:id (a CLIENT span of @opentelemetry/instrumentation-undici, which sends its
 *    traceparent on to the order service) and the effect's transaction (pg spans);
 *  - `<name> record effect` (INTERNAL): the consumer's effect, inside that transaction.
 * Manual rather than @opentelemetry/instrumentation-kafkajs: the span must wrap the whole handling of a message,
 * retries included, and carry the consumer's own attributes; one explicit span is simpler to trust than a patched
 * kafkajs under ESM.
 */
import { propagation, ROOT_CONTEXT, SpanKind, trace, type TextMapGetter } from '@opentelemetry/api';
import {
  ATTR_MESSAGING_CONSUMER_GROUP_NAME, ATTR_MESSAGING_DESTINATION_NAME, ATTR_MESSAGING_DESTINATION_PARTITION_ID, ATTR_MESSAGING_KAFKA_MESSAGE_KEY,
  ATTR_MESSAGING_KAFKA_OFFSET, ATTR_MESSAGING_MESSAGE_ID, ATTR_MESSAGING_OPERATION_NAME, ATTR_MESSAGING_OPERATION_TYPE, ATTR_MESSAGING_SYSTEM,
} from '@opentelemetry/semantic-conventions/incubating';
import type { IHeaders } from 'kafkajs';
import { inSpan } from '@dual-write/telemetry/spans';
import type { RecordEffect } from './effect.ts';
import type { IncomingMessage } from './handle-message.ts';

const tracer = trace.getTracer('@dual-write/downstream');

function headerValue(headers: IHeaders | undefined, key: string): string | undefined {
  const h = headers?.[key];
  const v = Array.isArray(h) ? h[0] : h;
  return v === undefined ? undefined : v.toString();
}

/** Reads W3C trace headers from kafkajs's headers (Buffers). */
export const kafkaHeaderGetter: TextMapGetter<IHeaders | undefined> = {
  keys: (carrier) => Object.keys(carrier ?? {}),
  get: (carrier, key) => headerValue(carrier, key),
};

/** Runs `handle` under a CONSUMER span `process <topic>` that continues the message's trace. */
export function traceProcess(consumer: { groupId: string }, incoming: IncomingMessage, handle: () => Promise<void>): Promise<void> {
  const parent = propagation.extract(ROOT_CONTEXT, incoming.message.headers, kafkaHeaderGetter);
  const key = incoming.message.key?.toString();
  const eventId = headerValue(incoming.message.headers, 'id');
  const span = tracer.startSpan(
    `process ${incoming.topic}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        [ATTR_MESSAGING_SYSTEM]: 'kafka',
        [ATTR_MESSAGING_OPERATION_NAME]: 'process',
        [ATTR_MESSAGING_OPERATION_TYPE]: 'process',
        [ATTR_MESSAGING_DESTINATION_NAME]: incoming.topic,
        [ATTR_MESSAGING_DESTINATION_PARTITION_ID]: String(incoming.partition),
        [ATTR_MESSAGING_CONSUMER_GROUP_NAME]: consumer.groupId,
        [ATTR_MESSAGING_KAFKA_OFFSET]: Number(incoming.message.offset),
        ...(key !== undefined ? { [ATTR_MESSAGING_KAFKA_MESSAGE_KEY]: key } : {}),
        ...(eventId !== undefined ? { [ATTR_MESSAGING_MESSAGE_ID]: eventId } : {}),
      },
    },
    parent,
  );
  return inSpan(span, handle, parent);
}

/** The effect under an INTERNAL span `<name> record effect`, with the outcome it recorded. */
export function traceEffect(name: string, recordEffect: RecordEffect): RecordEffect {
  return (client, input) => {
    const span = tracer.startSpan(`${name} record effect`, {
      kind: SpanKind.INTERNAL,
      attributes: { 'order.id': input.orderId, [ATTR_MESSAGING_MESSAGE_ID]: input.eventId, 'order.callback.status': input.verdict.status },
    });
    return inSpan(span, async () => {
      const outcome = await recordEffect(client, input);
      span.setAttribute('effect.outcome', outcome);
      return outcome;
    });
  };
}
