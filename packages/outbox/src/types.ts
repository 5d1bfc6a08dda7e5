/** The types every part of the outbox shares: the executor it writes through, messages, rows, dead letters. */

/** What the outbox library needs from a database connection: run one statement with `$1…` parameters. */
export interface SqlExecutor {
  // Rows come back as the driver gives them; each caller knows the shape of its own statement.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  query(text: string, values?: readonly unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
}

/** A JSON value, as stored in a jsonb column. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One event to publish, written with `enqueue()` in the same transaction as the change it describes. */
export interface OutboxMessage {
  /** The event id (a UUID); defaults to a random one. Travels as the Kafka header `id` so consumers can de-duplicate. */
  id?: string;
  /** The kind of aggregate, e.g. `order`; the relay maps it to a topic. */
  aggregateType: string;
  /** The aggregate's id, e.g. the order id; becomes the Kafka key, so one aggregate's events stay in one partition, in order. */
  aggregateId: string;
  /** The event type, e.g. `OrderCreated`; travels as the Kafka header `type`. */
  type: string;
  /** The event body (anything JSON); becomes the Kafka message value. */
  payload: unknown;
  /** Extra Kafka headers, e.g. W3C `traceparent`; string values only. */
  headers?: Record<string, string>;
}

/** An outbox row as the relay reads it. */
export interface OutboxRow {
  id: string;
  aggregatetype: string;
  aggregateid: string;
  type: string;
  /** The payload, parsed (null when the reader took payload_text instead). */
  payload: JsonValue;
  /**
   * The payload as PostgreSQL's jsonb text form, when the reader took it (the relay does): published as it is —
   * no parse and re-serialise, and byte for byte what Debezium's outbox router sends.
   */
  payload_text?: string;
  headers: Record<string, string>;
  created_at: Date;
  /** bigserial, as a decimal string. */
  position: string;
  /** xid8, as a decimal string. */
  transaction_id: string;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
}

/** A message moved out of the outbox after Kafka refused it `maxAttempts` times. */
export interface DeadLetter {
  id: string;
  aggregatetype: string;
  aggregateid: string;
  type: string;
  payload: JsonValue;
  headers: Record<string, string>;
  created_at: Date;
  position: string;
  transaction_id: string;
  attempts: number;
  error: string;
  failed_at: Date;
}
