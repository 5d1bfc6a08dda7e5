/** The shape of an audit's result, and the one question most callers ask of it. */

/** Where one message sits in the topic. */
export interface MessageLocation {
  partition: number;
  offset: number;
}

/** A message whose entity id has no row: a zombie message (downstream acts on something that does not exist). */
export interface Ghost extends MessageLocation {
  entityId: string;
  /** The message's event id, when it has one. */
  eventId: string | undefined;
}

/** A row older than the grace period that no message mentions: nobody downstream heard about it. */
export interface BlackHole {
  id: string;
  /** The row's created-at value (ISO 8601), or null when the column is null. */
  createdAt: string | null;
}

/** One event id delivered more than once, with every delivery in (partition, offset) order. */
export interface Duplicate {
  eventId: string;
  count: number;
  deliveries: MessageLocation[];
}

/** A message whose sequence is lower than the previous message of the same group in the same partition. */
export interface OrderViolation extends MessageLocation {
  key: string;
  sequence: string;
  previousOffset: number;
  previousSequence: string;
  /**
   * The message's event id was already delivered earlier in the topic: a redelivery (e.g. a relay killed after the
   * send and before it deleted its rows sends them again), which an inbox absorbs — not a reordering of the stream.
   */
  redelivery: boolean;
}

/**
 * A message the broker appended before its row's transaction committed: for that long the message was readable
 * and the row was not, so a consumer that looked it up at once found nothing ("the message outran its commit").
 * Unlike a ghost, the row exists now.
 */
export interface Premature extends MessageLocation {
  entityId: string;
  eventId: string | undefined;
  /** When the broker appended the message (the topic's LogAppendTime), ISO 8601. */
  appendedAt: string;
  /** When the row's transaction committed (pg_xact_commit_timestamp), ISO 8601. */
  committedAt: string;
  /** committedAt − appendedAt: how long the message was readable before its row (ms). */
  leadMs: number;
}

/** Whether the premature check ran, and if not, what it needs. */
export interface PrematureCheck {
  checked: boolean;
  /** Why it did not run (what to set), or what it compared. */
  reason: string;
}

/** A message the auditor could not read an entity id from (counted, never fatal). */
export interface UnreadableMessage extends MessageLocation {
  reason: string;
}

export interface PartitionRead {
  partition: number;
  /** Earliest offset when the audit started. */
  low: number;
  /** High watermark when the audit started: messages at or above it were not read. */
  high: number;
  /** Messages read from this partition. */
  messages: number;
}

export interface AuditCounts {
  /** Rows in the table. */
  rows: number;
  /** Rows older than the grace period (the ones that must have a message). */
  rowsPastGrace: number;
  /** Rows younger than the grace period that have no message yet (not a divergence). */
  pendingWithinGrace: number;
  /** Messages read (below each partition's high watermark taken at start). */
  messages: number;
  /** Partitions of the topic (all of them are read). */
  partitions: number;
  /** Messages without a readable entity id. */
  unreadable: number;
  /** Messages without a readable event id (left out of the duplicate check). */
  withoutEventId: number;
  /** Messages without a readable sequence or group key (left out of the order check); 0 when order is not checked. */
  withoutSequence: number;
  /** Distinct entity ids seen in messages. */
  entities: number;
  ghosts: number;
  blackHoles: number;
  /** Event ids delivered more than once. */
  duplicates: number;
  /** Deliveries beyond the first, summed over every duplicated event id. */
  extraDeliveries: number;
  orderViolations: number;
  /** Of orderViolations, those whose message is a redelivery of an event already on the topic (not a reordering). */
  orderViolationsByRedelivery: number;
  /** Messages appended before their row committed (0 when the check did not run: see prematureCheck). */
  premature: number;
}

export interface AuditReport {
  source: {
    /** The database URL, password redacted. */
    database: string;
    /** The table as PostgreSQL resolved it (schema.table). */
    table: string;
    idColumn: string;
    createdAtColumn: string;
    topic: string;
    brokers: string[];
    entityId: string;
    eventId: string;
    /** The sequence source, or null when order is not checked. */
    sequence: string | null;
    groupBy: string;
  };
  graceMs: number;
  /** Rows created before this instant (database clock) must have a message. */
  cutoff: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  /** False when no sequence source was configured. */
  orderChecked: boolean;
  counts: AuditCounts;
  partitions: PartitionRead[];
  ghosts: Ghost[];
  blackHoles: BlackHole[];
  duplicates: Duplicate[];
  orderViolations: OrderViolation[];
  prematureCheck: PrematureCheck;
  premature: Premature[];
  /** The first few unreadable messages (the full number is counts.unreadable). */
  unreadableSample: UnreadableMessage[];
}

/** True when the table and the topic disagree: any ghost, black hole, duplicate, order violation or premature message. */
export function reportDiverges(report: AuditReport): boolean {
  const c = report.counts;
  return c.ghosts > 0 || c.blackHoles > 0 || c.duplicates > 0 || c.orderViolations > 0 || c.premature > 0;
}
