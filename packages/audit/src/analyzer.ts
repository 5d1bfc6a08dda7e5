/**
 * The comparison itself, without any I/O: fed the table's rows, then every message in offset order per
 * partition, it finds ghosts, black holes, duplicates and order violations.
 */
import { MessageReader, parseSequence, type FieldSource, type MessageLike } from './fields.ts';
import type { BlackHole, Duplicate, Ghost, MessageLocation, OrderViolation, Premature, UnreadableMessage } from './report.ts';

export interface AnalyzerSources {
  entityId: FieldSource;
  eventId: FieldSource;
  sequence: FieldSource | undefined;
  groupBy: FieldSource;
  /** When set, messages appended more than this many ms before their row committed are premature; undefined: not checked. */
  prematureSkewMs?: number;
}

export interface AnalyzerRow {
  id: string;
  createdAt: string | null;
  /** Older than the grace period: it must have a message. */
  pastGrace: boolean;
  /** When the row's transaction committed (epoch ms), when known. */
  committedAtMs?: number | null;
}

export interface AnalysisResult {
  rows: number;
  rowsPastGrace: number;
  pendingWithinGrace: number;
  messages: number;
  unreadable: number;
  withoutEventId: number;
  withoutSequence: number;
  entities: number;
  ghosts: Ghost[];
  blackHoles: BlackHole[];
  duplicates: Duplicate[];
  orderViolations: OrderViolation[];
  premature: Premature[];
  unreadableSample: UnreadableMessage[];
}

const UNREADABLE_SAMPLE = 20;

const byLocation = (a: MessageLocation, b: MessageLocation) => a.partition - b.partition || a.offset - b.offset;

export class Analyzer {
  /** Row id → created-at, for rows not yet mentioned by any message. */
  private readonly rowsPastGrace = new Map<string, string | null>();
  private readonly rowsWithinGrace = new Set<string>();
  private readonly rowIds = new Set<string>();
  /** Row id → commit time (epoch ms), only while the premature check runs. */
  private readonly committedAt = new Map<string, number>();
  private readonly premature: Premature[] = [];
  /** Entity id → its last event seen so far (premature check only). */
  private readonly lastEvent = new Map<string, { eventId: string | undefined; loc: MessageLocation; appendedAtMs: number | undefined }>();
  private rowCount = 0;
  private pastGraceCount = 0;

  private readonly entitiesSeen = new Set<string>();
  private readonly deliveries = new Map<string, MessageLocation[]>();
  /** `${partition}\u0000${group}` → the previous sequenced message of that group in that partition. */
  private readonly lastInGroup = new Map<string, { offset: number; sequence: bigint | number; text: string }>();

  private messageCount = 0;
  private unreadable = 0;
  private withoutEventId = 0;
  private withoutSequence = 0;
  private readonly ghosts: Ghost[] = [];
  private readonly orderViolations: OrderViolation[] = [];
  private readonly unreadableSample: UnreadableMessage[] = [];

  constructor(private readonly sources: AnalyzerSources) {}

  addRow(row: AnalyzerRow): void {
    if (this.rowIds.has(row.id)) return; // a non-unique id column: one entity, however many rows
    this.rowIds.add(row.id);
    this.rowCount++;
    if (this.sources.prematureSkewMs !== undefined && typeof row.committedAtMs === 'number') this.committedAt.set(row.id, row.committedAtMs);
    if (row.pastGrace) {
      this.pastGraceCount++;
      this.rowsPastGrace.set(row.id, row.createdAt);
    } else {
      this.rowsWithinGrace.add(row.id);
    }
  }

  /**
   * Messages of one partition must arrive in offset order (partitions may interleave). `appendedAtMs` is the
   * broker's append time (LogAppendTime), needed by the premature check.
   */
  addMessage(partition: number, offset: number, message: MessageLike, appendedAtMs?: number): void {
    this.messageCount++;
    const reader = new MessageReader(message);
    const loc = { partition, offset };

    const eventId = reader.read(this.sources.eventId);
    let redelivery = false;
    if (eventId.ok) {
      const seen = this.deliveries.get(eventId.value);
      redelivery = seen !== undefined;
      if (seen) seen.push(loc);
      else this.deliveries.set(eventId.value, [loc]);
    } else {
      this.withoutEventId++;
    }

    const entity = reader.read(this.sources.entityId);
    if (entity.ok) {
      this.entitiesSeen.add(entity.value);
      this.rowsPastGrace.delete(entity.value);
      this.rowsWithinGrace.delete(entity.value);
      if (!this.rowIds.has(entity.value)) this.ghosts.push({ entityId: entity.value, eventId: eventId.ok ? eventId.value : undefined, ...loc });
      else this.noteLastEvent(entity.value, eventId.ok ? eventId.value : undefined, loc, appendedAtMs);
    } else {
      this.unreadable++;
      if (this.unreadableSample.length < UNREADABLE_SAMPLE) this.unreadableSample.push({ ...loc, reason: entity.reason });
    }

    if (this.sources.sequence) this.checkOrder(reader, this.sources.sequence, loc, redelivery);
  }

  /**
   * The premature check compares a message with its row's commit time — and a row's commit time is its *last*
   * change's (xmin). When an entity has several events (created, paid, shipped: each a transaction that updates the
   * row), only the message of its last event can be held to that time: the earlier ones were rightly on the topic
   * before the row's later changes committed. So each entity's last event in the topic (its first copy, when
   * redelivered) is kept, and checked in result().
   */
  private noteLastEvent(entityId: string, eventId: string | undefined, loc: MessageLocation, appendedAtMs: number | undefined): void {
    if (this.sources.prematureSkewMs === undefined || !this.committedAt.has(entityId)) return;
    const last = this.lastEvent.get(entityId);
    if (last && eventId !== undefined && last.eventId === eventId) return; // a redelivery of the last event: its first copy counts
    this.lastEvent.set(entityId, { eventId, loc, appendedAtMs });
  }

  private checkPremature(entityId: string, eventId: string | undefined, loc: MessageLocation, appendedAtMs: number | undefined): void {
    const skew = this.sources.prematureSkewMs;
    const committedAtMs = this.committedAt.get(entityId);
    if (skew === undefined || committedAtMs === undefined || appendedAtMs === undefined || !Number.isFinite(appendedAtMs)) return;
    // The broker's append time is a whole millisecond (truncated): the append happened within [t, t+1). Only a
    // message whose whole millisecond ended before the commit certainly outran it.
    if (appendedAtMs + 1 <= committedAtMs - skew) {
      this.premature.push({
        entityId,
        eventId,
        ...loc,
        appendedAt: new Date(appendedAtMs).toISOString(),
        committedAt: new Date(committedAtMs).toISOString(),
        leadMs: Math.round((committedAtMs - appendedAtMs) * 1000) / 1000,
      });
    }
  }

  private checkOrder(reader: MessageReader, source: FieldSource, loc: MessageLocation, redelivery: boolean): void {
    const group = reader.read(this.sources.groupBy);
    const seq = reader.read(source);
    const sequence = seq.ok ? parseSequence(seq.value) : undefined;
    if (!group.ok || !seq.ok || sequence === undefined) {
      this.withoutSequence++;
      return;
    }
    const slot = `${loc.partition}\u0000${group.value}`;
    const previous = this.lastInGroup.get(slot);
    if (previous && sequence < previous.sequence) {
      this.orderViolations.push({ key: group.value, ...loc, sequence: seq.value, previousOffset: previous.offset, previousSequence: previous.text, redelivery });
    }
    this.lastInGroup.set(slot, { offset: loc.offset, sequence, text: seq.value });
  }

  result(): AnalysisResult {
    this.premature.length = 0;
    for (const [entityId, last] of this.lastEvent) this.checkPremature(entityId, last.eventId, last.loc, last.appendedAtMs);
    const duplicates: Duplicate[] = [];
    for (const [eventId, deliveries] of this.deliveries) {
      if (deliveries.length > 1) duplicates.push({ eventId, count: deliveries.length, deliveries: [...deliveries].sort(byLocation) });
    }
    duplicates.sort((a, b) => byLocation(a.deliveries[0]!, b.deliveries[0]!));
    const blackHoles = [...this.rowsPastGrace].map(([id, createdAt]) => ({ id, createdAt }));
    blackHoles.sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? '') || a.id.localeCompare(b.id));
    return {
      rows: this.rowCount,
      rowsPastGrace: this.pastGraceCount,
      pendingWithinGrace: this.rowsWithinGrace.size,
      messages: this.messageCount,
      unreadable: this.unreadable,
      withoutEventId: this.withoutEventId,
      withoutSequence: this.withoutSequence,
      entities: this.entitiesSeen.size,
      ghosts: [...this.ghosts].sort(byLocation),
      blackHoles,
      duplicates,
      orderViolations: [...this.orderViolations].sort(byLocation),
      premature: [...this.premature].sort(byLocation),
      unreadableSample: [...this.unreadableSample].sort(byLocation),
    };
  }
}
