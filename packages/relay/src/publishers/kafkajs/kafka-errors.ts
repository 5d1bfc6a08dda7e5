/**
 * What a failed produce means for the relay:
 *  - refused:        Kafka refuses THIS message (too large, invalid, topic missing or forbidden). Retrying the same
 *                    bytes will not help: count an attempt; after maxAttempts it becomes a dead letter.
 *  - producer-state: the idempotent producer's sequence state is out of step with the broker (e.g. its producer id
 *                    expired): start a new producer, then retry.
 *  - transient:      everything else (broker down, connection reset, timeouts, leader moves): retry the same batch
 *                    forever, with backoff. Not the message's fault, so no attempt is counted.
 */
import type { ClassifiedError } from '../../seams.ts';

/** Kafka's error codes that refuse the message itself: retrying the same bytes will not help. The same for every client. */
export const REFUSED_KAFKA_ERRORS: ReadonlySet<string> = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TIMESTAMP',
  'UNSUPPORTED_FOR_MESSAGE_FORMAT',
  'TOPIC_AUTHORIZATION_FAILED',
  'INVALID_TOPIC_EXCEPTION',
]);

/** Kafka's error codes saying the idempotent producer's state is out of step with the broker: start a new producer. */
export const PRODUCER_STATE_KAFKA_ERRORS: ReadonlySet<string> = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'DUPLICATE_SEQUENCE_NUMBER', 'INVALID_PRODUCER_ID_MAPPING', 'PRODUCER_FENCED']);

/** The error and what it wraps (kafkajs wraps the broker's error in KafkaJSNonRetriableError / NumberOfRetriesExceeded). */
function* causes(err: unknown): Generator<Record<string, unknown>> {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e && typeof e === 'object'; depth++) {
    yield e as Record<string, unknown>;
    const next = (e as { cause?: unknown; originalError?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
    if (next === e) break;
    e = next;
  }
}

/** An error the relay raises itself when a topic does not exist (so it is treated like Kafka's own). */
export class TopicMissingError extends Error {
  readonly type = 'UNKNOWN_TOPIC_OR_PARTITION';
  constructor(topic: string) {
    super(`Topic "${topic}" does not exist (the relay does not create topics).`);
    this.name = 'TopicMissingError';
  }
}

export function classifyKafkaError(err: unknown): ClassifiedError {
  const message = err instanceof Error ? err.message : String(err);
  // Kafka's UNKNOWN_TOPIC_OR_PARTITION is transient (a restarting broker says it too); only the relay's own
  // metadata check, which asked the cluster, says a topic is really missing.
  if (err instanceof TopicMissingError) return { kind: 'refused', type: err.type, message: describe(err.type, message) };
  for (const e of causes(err)) {
    const type = typeof e.type === 'string' ? e.type : undefined;
    if (!type) continue;
    if (REFUSED_KAFKA_ERRORS.has(type)) return { kind: 'refused', type, message: describe(type, e.message) };
    if (PRODUCER_STATE_KAFKA_ERRORS.has(type)) return { kind: 'producer-state', type, message: String(e.message ?? message) };
  }
  const name = err instanceof Error ? err.name : 'Error';
  return { kind: 'transient', type: name, message };
}

function describe(type: string, message: unknown): string {
  return `${type}: ${String(message ?? '')}`.trim();
}
