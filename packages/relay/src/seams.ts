/**
 * The relay's two seams. The loop (relay.ts) and the batch logic (batch-publisher.ts) talk to the database only
 * through a RelayStore and to Kafka only through a RelayPublisher. The defaults are the PostgreSQL store
 * (stores/postgres) and the kafkajs publisher (publishers/kafkajs); another database or Kafka client is one
 * implementation of these interfaces, and must pass the conformance suite (test/conformance) to be trusted.
 */
import type { Logger } from 'pino';
import type { OutboxRow } from '@dual-write/outbox';
import type { ResolvedRelayOptions } from './options.ts';

/** A row Kafka refused, with why. */
export interface Failure {
  row: OutboxRow;
  error: string;
}

/** An open transaction that holds back committed rows (it holds their keys' lock buckets). */
export interface Blocker {
  pid: number;
  database: string;
  applicationName: string;
  /** Committed rows of this instance's slots it holds back. */
  rows: number;
  /** How long its transaction has been open. */
  transactionAgeSeconds: number;
}

/** Figures for the gauges: the whole outbox, all instances. */
export interface OutboxStats {
  backlog: number;
  oldestAgeSeconds: number;
  parkedKeys: number;
  deadLetters: number;
}

export interface RebalanceResult {
  /** Live instances, this one included. */
  members: number;
  /** Instances this one fenced off: silent for longer than the lease, their session terminated. */
  fenced: { pid: number; applicationName: string; silentSeconds: number }[];
  fairShare: number;
  owned: number[];
  claimed: number[];
  released: number[];
}

/** What the coordination session reports to the loop. */
export interface CoordinatorEvents {
  /** A row was committed to the outbox (wake up now). */
  onOutboxNotify(): void;
  /** An instance joined or released slots: re-share soon. */
  onRebalanceHint(): void;
  /** The session died: every slot it owned is released (others may take them). */
  onLost(err: Error | undefined): void;
}

/**
 * Coordinates instances: every key-hash slot has at most one owner at a time, ownership ends when an instance
 * dies, and the slots are shared fairly among the live instances.
 */
export interface RelayCoordinator {
  readonly isOpen: boolean;
  /** Slots this instance owns now, ascending. */
  readonly owned: number[];
  /** Joins the instances (and refuses a different slot count: DW_RELAY_SLOTS_MISMATCH). */
  open(): Promise<void>;
  /**
   * True while this instance surely still owns its slots: its session is open and its lease was renewed recently
   * enough that no other instance can have fenced it off. Checked before every produce request.
   */
  mayPublish(): boolean;
  /** The database backend holding the slots (the delete checks ownership against it); undefined when closed. */
  readonly backendPid: number | undefined;
  /** Re-counts the instances and claims/releases slots towards the fair share. */
  rebalance(): Promise<RebalanceResult>;
  /** Releases every slot and leaves. */
  close(): Promise<void>;
}

/** What the relay needs from the database holding the outbox. Every call is its own short statement: no transaction spans a call. */
export interface RelayStore {
  /** Succeeds once the database answers (retried by the relay until connectTimeoutMs). */
  ping(): Promise<void>;
  /** The outbox tables exist (false: DW_OUTBOX_NOT_MIGRATED). */
  tablesExist(): Promise<boolean>;
  /**
   * Committed rows of the owned slots, in publish order, at most `limit`. Must never return a row while a row of
   * the same key that precedes it can still appear (a late commit), nor a row of a parked key (in backoff, or
   * behind a dead letter). An open transaction may hold back only the rows it could precede — its own keys —
   * never the others. A store may set `payload_text` (the payload's JSON text as stored) and leave `payload`
   * null: the text is published as it is. `exclude`: positions still in flight or acknowledged but not yet
   * deleted — never return them (the relay reads the next batch while one is in flight).
   */
  fetchBatch(slots: number, owned: readonly number[], limit: number, exclude?: ReadonlySet<string>): Promise<OutboxRow[]>;
  /** The open transactions holding back committed rows of the owned slots, oldest first. */
  blockers(slots: number, owned: readonly number[]): Promise<Blocker[]>;
  /** Rows of these slots still to publish (committed or not yet visible), parked keys excluded. */
  countUnpublished(slots: number, owned: readonly number[]): Promise<number>;
  /**
   * Removes rows Kafka acknowledged — only those of slots this instance still owns, checked atomically with the
   * delete (the fence: an instance that lost its slots while it was stalled deletes nothing). Returns how many.
   * Called off the publishing path, one call at a time, with everything acknowledged meanwhile. It need not be
   * durable at once: a delete lost in a crash only means the rows are published again (at-least-once).
   */
  deletePublished(rows: readonly OutboxRow[]): Promise<number>;
  /** Counts an attempt for each refused row and holds it (and its key) back for delayMs. */
  recordFailures(failures: readonly (Failure & { delayMs: number })[]): Promise<void>;
  /** Moves rows to the dead letters atomically (a row is in exactly one place). */
  moveToDeadLetters(failures: readonly Failure[]): Promise<void>;
  stats(): Promise<OutboxStats>;
  /** The coordination session of this instance (slot ownership and wake-ups). */
  coordinator(events: CoordinatorEvents): RelayCoordinator;
  /** Closes connections (after the coordinator is closed). */
  close(): Promise<void>;
}

/** A message ready for Kafka: one partition, chosen by the relay. */
export interface OutgoingMessage {
  key: string;
  value: string;
  partition: number;
  timestamp: string;
  headers: Record<string, string>;
}

/**
 * How a failed send is handled:
 *  - refused: Kafka refuses THIS message (too large, topic missing…): count an attempt; dead letter at maxAttempts;
 *  - producer-state: the producer's idempotence state is out of step: resetProducer(), then retry;
 *  - transient: anything else: retry the same request forever, with backoff.
 */
export type FailureKind = 'refused' | 'producer-state' | 'transient';

export interface ClassifiedError {
  kind: FailureKind;
  /** Kafka's error type when there is one (MESSAGE_TOO_LARGE…), else the error's name. */
  type: string;
  message: string;
}

/** What the relay needs from a Kafka client. */
export interface RelayPublisher {
  /** 'up' after an acknowledged send, 'down' after a transient failure, 'unknown' before the first send. */
  readonly state: 'unknown' | 'up' | 'down';
  connect(): Promise<void>;
  /** Partitions of a topic (cached); a missing topic is an error that classify() calls refused. */
  partitionCount(topic: string): Promise<number>;
  /** The partition the Java client's default partitioner (murmur2 of the key) picks. */
  partitionFor(topic: string, key: string, count: number): number;
  /**
   * One produce request with messages of ONE partition, in order, idempotent (a retry of a request that landed is
   * de-duplicated by the broker), acks=all. Resolves when Kafka acknowledged all of them; rejects as a whole.
   */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  /**
   * Optional: one produce request (per broker) carrying several partitions — each entry's messages of ONE partition,
   * in order; at most one entry per partition. Resolves when Kafka acknowledged all; rejects as a whole. A
   * transient failure is retried as the identical request, and after a refusal each partition's messages are sent
   * again alone with send(): a failed request must leave every partition's sequence numbers as they were, so the
   * broker recognises what landed as a duplicate. Without it, the relay sends one request per partition.
   */
  sendPartitions?(requests: readonly { topic: string; messages: readonly OutgoingMessage[] }[]): Promise<void>;
  classify(err: unknown): ClassifiedError;
  /** Starts a new producer (new producer id) for the next send. */
  resetProducer(): Promise<void>;
  /** Forgets cached metadata of a topic (it may have been created or resized). */
  forgetTopic(topic: string): void;
  close(): Promise<void>;
}

/** What a store or publisher factory gets: the resolved options and the relay's logger. */
export interface SeamContext {
  options: ResolvedRelayOptions;
  log: Logger;
}

export type RelayStoreFactory = (ctx: SeamContext) => RelayStore;
export type RelayPublisherFactory = (ctx: SeamContext) => RelayPublisher;
