/**
 * Deletes the rows Kafka acknowledged, off the publishing path: the batch publisher hands acknowledged rows over
 * and goes on sending; this deletes them in bulk (one statement for everything acknowledged meanwhile), one
 * statement at a time. Until a row's delete commits its position stays "pending", and the relay's reads skip it,
 * so it is not sent again. A delete that fails is retried (the rows stay pending); a delete that never happens
 * (stop deadline, crash) only means the rows are published again later — at-least-once, absorbed by the inbox.
 */
import type { Logger } from 'pino';
import type { OutboxRow } from '@dual-write/outbox';
import { backoffDelay } from './backoff.ts';
import type { ResolvedRelayOptions } from './options.ts';
import type { RelayStore } from './seams.ts';

export interface AckedRowsDeps {
  store: Pick<RelayStore, 'deletePublished'>;
  opts: Pick<ResolvedRelayOptions, 'retryBackoff'>;
  log: Logger;
  sleep: (ms: number) => Promise<void>;
  /** True once stop()'s deadline has passed: give up retrying (the rows are republished after a restart). */
  shouldAbandon: () => boolean;
  /** Rows acknowledged by Kafka and now deleted, per topic. */
  onDeleted: (rows: OutboxRow[], topic: string) => void;
  /** The delete removed fewer rows than asked: another instance owns (some of) their slots now. */
  onFenced: (rows: number, deleted: number) => void;
  onDatabaseError: (error: string) => void;
}

export class AckedRows {
  private queue: { rows: OutboxRow[]; topic: string }[] = [];
  private readonly pending = new Set<string>();
  private running: Promise<void> | undefined;

  constructor(private readonly d: AckedRowsDeps) {}

  /** Positions acknowledged but not yet deleted: a read must not return them. */
  get pendingPositions(): ReadonlySet<string> {
    return this.pending;
  }

  add(rows: readonly OutboxRow[], topic: string): void {
    if (rows.length === 0) return;
    for (const r of rows) this.pending.add(r.position);
    this.queue.push({ rows: [...rows], topic });
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves once everything handed over so far is deleted (or given up on). */
  async flushed(): Promise<void> {
    while (this.running) await this.running;
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const items = this.queue.splice(0);
      const rows = items.flatMap((i) => i.rows);
      const done = () => {
        for (const r of rows) this.pending.delete(r.position);
      };
      for (let attempt = 0; ; attempt++) {
        try {
          const deleted = await this.d.store.deletePublished(rows);
          done();
          if (deleted < rows.length) {
            this.d.log.warn({ rows: rows.length, deleted }, 'published rows of slots this instance no longer owns: it was fenced off; their owner publishes them again (at-least-once)');
            this.d.onFenced(rows.length, deleted);
          } else {
            for (const i of items) this.d.onDeleted(i.rows, i.topic);
          }
          break;
        } catch (err) {
          const message = (err as Error).message;
          this.d.log.warn({ err: message, rows: rows.length }, 'could not delete published rows; retrying (they would be republished after a restart)');
          this.d.onDatabaseError(`could not delete ${rows.length} published row(s): ${message}`);
          if (this.d.shouldAbandon()) {
            done();
            this.queue = [];
            return;
          }
          await this.d.sleep(backoffDelay(attempt, this.d.opts.retryBackoff));
        }
      }
    }
  }
}
