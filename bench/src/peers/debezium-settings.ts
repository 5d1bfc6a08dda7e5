/**
 * The two Debezium configurations of the peers race: its defaults (nothing overridden) and tuned for latency
 * (and for a fair drain). Each setting below was read in the jars the benchmark runs (debezium-connector-common
 * 3.6.1.Final's CommonConnectorConfig, kafka-clients 4.1.1's ProducerConfig, connect-runtime 4.1.1's WorkerConfig
 * and Worker) and in the documentation:
 *
 * - `poll.interval.ms` — "Time to wait for new change events to appear after receiving no events, given in
 *   milliseconds. Defaults to 500 ms." The task's poll() (ChangeEventQueue) hands Connect a batch once
 *   `max.batch.size` events are queued or the interval has passed: at a few hundred events/s the interval is the
 *   latency. https://debezium.io/documentation/reference/stable/connectors/postgresql.html#postgresql-property-poll-interval-ms
 * - `max.batch.size` — "Maximum size of each batch of source records. Defaults to 2048." and `max.queue.size` —
 *   "Maximum size of the queue for change events read from the database log but not yet recorded or forwarded.
 *   Defaults to 8192, and should always be larger than the maximum batch size." (same page, #postgresql-property-max-batch-size,
 *   #postgresql-property-max-queue-size): raised so a backlog moves in bigger batches and the WAL reader is not
 *   blocked by a full queue.
 * - `producer.override.*` — a connector's own producer settings; connect-runtime's
 *   `connector.client.config.override.policy` defaults to `All` ("connector configurations can override all client
 *   properties"; KIP-722, Kafka 3.0). https://kafka.apache.org/documentation/#connectconfigs_connector.client.config.override.policy
 * - `linger.ms` — "This setting defaults to 5 (i.e. 5ms delay) … The default changed from 0 to 5 in Apache Kafka
 *   4.0" (KIP-1030): set to 1 ms, so a lone change is sent almost at once. https://kafka.apache.org/documentation/#producerconfigs_linger.ms
 * - `batch.size` — "the default batch size in bytes" (16384): about 30 of our ~500 B messages per partition and
 *   request; raised to 256 KiB so a backlog goes out in requests as large as the relay's (linger.ms still bounds
 *   the wait at low rates).
 *
 * Left as Connect sets them, like our relay: acks=all and max.in.flight.requests.per.connection=1 (Worker's
 * producer defaults for a source connector); one request in flight per broker is the relay's setting too.
 */
export const DEBEZIUM_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({});

export const DEBEZIUM_TUNED: Readonly<Record<string, string>> = Object.freeze({
  'poll.interval.ms': '10',
  'max.batch.size': '8192',
  'max.queue.size': '32768',
  'producer.override.linger.ms': '1',
  'producer.override.batch.size': '262144',
});

/** "k=v, k=v" for the report. */
export function describeSettings(settings: Readonly<Record<string, string>>): string {
  const entries = Object.entries(settings);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(', ') : 'defaults';
}
