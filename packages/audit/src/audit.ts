/**
 * `runAudit()` — one pass over a table and a topic:
 *  1. connect to both (fast failure when unreachable; the table, its columns and the topic must exist),
 *  2. take every partition's low/high offsets, and the grace cutoff from the database's clock at that moment,
 *  3. read the rows (one read-only snapshot), then every partition from low up to that high watermark,
 *  4. compare: ghosts, black holes, duplicates, order violations, and — when the broker's append times and the
 *     rows' commit times are both known — messages that were readable before their row committed (premature).
 * Rows are read after the offsets are taken, so a message below the watermark had its row's chance to commit.
 */
import type { Admin, Kafka } from 'kafkajs';
import { Analyzer } from './analyzer.ts';
import { commitTimesUnavailable, connectDatabase, graceCutoff, readRows, resolveTable } from './database.ts';
import { describeFieldSource } from './fields.ts';
import { connectAdmin, createKafka, readTopic, snapshotOffsets, topicTimestampType } from './kafka.ts';
import { redactUrl, resolveAuditOptions, type AuditOptions } from './options.ts';
import type { AuditReport, PartitionRead, PrematureCheck } from './report.ts';

export interface AuditProgress {
  phase: 'connected' | 'offsets' | 'rows' | 'messages' | 'partition' | 'done';
  /** One human line describing the step. */
  text: string;
  rows: number;
  messages: number;
  /** Messages between the low and high offsets taken at start (an upper bound: compaction leaves gaps). */
  messagesExpected: number;
  partitionsDone: number;
  partitions: number;
}

export interface RunAuditContext {
  onProgress?: (progress: AuditProgress) => void;
  /** Report progress every this many messages and rows (default 10 000). */
  progressEvery?: number;
  /** A kafkajs client to use instead of one built from `brokers` (e.g. one with TLS/SASL). The audit disconnects what it creates with it. */
  kafka?: Kafka;
}

export async function runAudit(input: AuditOptions, ctx: RunAuditContext = {}): Promise<AuditReport> {
  const opts = resolveAuditOptions(input);
  const every = Math.max(1, ctx.progressEvery ?? 10_000);
  const started = new Date();
  const t0 = performance.now();
  const p = { rows: 0, messages: 0, messagesExpected: 0, partitionsDone: 0, partitions: 0 };
  const progress = (phase: AuditProgress['phase'], text: string) => ctx.onProgress?.({ phase, text, ...p });

  const db = await connectDatabase(opts.databaseUrl, opts.connectTimeoutMs);
  try {
    const table = await resolveTable(db, opts.table, opts.idColumn, opts.createdAtColumn);
    const kafka = ctx.kafka ?? createKafka(opts.brokers, opts.connectTimeoutMs);
    const admin = await connectAdmin(kafka, opts.brokers, opts.topic);
    try {
      const prematureCheck = await checkPremature(admin, opts.topic, await commitTimesUnavailable(db, table), opts.clockSkewMs);
      const analyzer = new Analyzer({ entityId: opts.entityId, eventId: opts.eventId, sequence: opts.sequence, groupBy: opts.groupBy, prematureSkewMs: prematureCheck.checked ? opts.clockSkewMs : undefined });
      progress('connected', `connected: table ${table.name}, topic ${opts.topic}`);

      const offsets = await snapshotOffsets(admin, opts.brokers, opts.topic);
      const cutoff = await graceCutoff(db, opts.graceMs);
      p.partitions = offsets.length;
      p.messagesExpected = offsets.reduce((n, o) => n + (o.high - o.low), 0);
      progress('offsets', `topic ${opts.topic}: ${offsets.length} partition${offsets.length === 1 ? '' : 's'}, up to ${p.messagesExpected} messages below the high watermarks`);

      let rowsReported = 0;
      await readRows(db, table, cutoff, (row) => analyzer.addRow(row), (n) => {
        p.rows = n;
        if (n - rowsReported >= every) {
          rowsReported = n;
          progress('rows', `read ${n} rows`);
        }
      }, prematureCheck.checked);
      progress('rows', `read ${p.rows} rows from ${table.name}`);

      const partitions: PartitionRead[] = await readTopic({
        kafka,
        admin,
        brokers: opts.brokers,
        topic: opts.topic,
        partitions: offsets,
        idleTimeoutMs: opts.idleTimeoutMs,
        onMessage: (partition, offset, message) => {
          analyzer.addMessage(partition, offset, message, Number(message.timestamp));
          p.messages++;
          if (p.messages % every === 0) progress('messages', `read ${p.messages} of ≤${p.messagesExpected} messages`);
        },
        onPartitionDone: (part) => {
          p.partitionsDone++;
          const range = part.high > part.low ? `offsets ${part.low}–${part.high - 1}` : 'empty';
          progress('partition', `partition ${part.partition} done: ${part.messages} message${part.messages === 1 ? '' : 's'} (${range}) — ${p.partitionsDone}/${p.partitions}`);
        },
      });

      const r = analyzer.result();
      const finished = new Date();
      const report: AuditReport = {
        source: {
          database: redactUrl(opts.databaseUrl),
          table: table.name,
          idColumn: opts.idColumn,
          createdAtColumn: opts.createdAtColumn,
          topic: opts.topic,
          brokers: opts.brokers,
          entityId: describeFieldSource(opts.entityId),
          eventId: describeFieldSource(opts.eventId),
          sequence: opts.sequence ? describeFieldSource(opts.sequence) : null,
          groupBy: describeFieldSource(opts.groupBy),
        },
        graceMs: opts.graceMs,
        cutoff: cutoff.toISOString(),
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        durationMs: Math.round(performance.now() - t0),
        orderChecked: opts.sequence !== undefined,
        counts: {
          rows: r.rows,
          rowsPastGrace: r.rowsPastGrace,
          pendingWithinGrace: r.pendingWithinGrace,
          messages: r.messages,
          partitions: partitions.length,
          unreadable: r.unreadable,
          withoutEventId: r.withoutEventId,
          withoutSequence: r.withoutSequence,
          entities: r.entities,
          ghosts: r.ghosts.length,
          blackHoles: r.blackHoles.length,
          duplicates: r.duplicates.length,
          extraDeliveries: r.duplicates.reduce((n, d) => n + d.count - 1, 0),
          orderViolations: r.orderViolations.length,
          orderViolationsByRedelivery: r.orderViolations.filter((v) => v.redelivery).length,
          premature: r.premature.length,
        },
        partitions,
        ghosts: r.ghosts,
        blackHoles: r.blackHoles,
        duplicates: r.duplicates,
        orderViolations: r.orderViolations,
        prematureCheck,
        premature: r.premature,
        unreadableSample: r.unreadableSample,
      };
      progress('done', `audit done in ${report.durationMs} ms`);
      return report;
    } finally {
      await admin.disconnect().catch(() => {});
    }
  } finally {
    await db.end().catch(() => {});
  }
}

/** The premature check needs both clocks' facts: the broker's append times and the rows' commit times. */
async function checkPremature(admin: Admin, topic: string, noCommitTimes: string | undefined, skewMs: number): Promise<PrematureCheck> {
  const type = await topicTimestampType(admin, topic);
  const missing: string[] = [];
  if (type !== 'LogAppendTime') missing.push(`the topic's messages carry ${type ?? 'an unknown'} timestamps, not the broker's append time: set message.timestamp.type=LogAppendTime on ${topic}`);
  if (noCommitTimes) missing.push(noCommitTimes);
  if (missing.length) return { checked: false, reason: `not checked: ${missing.join('; ')}` };
  return { checked: true, reason: `the broker's append time (LogAppendTime) vs the row's commit time (track_commit_timestamp)${skewMs ? `, allowing ${skewMs} ms of clock skew` : ''}` };
}
