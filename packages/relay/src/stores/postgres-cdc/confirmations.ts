/**
 * Which LSN the replication slot may confirm (confirmed_flush_lsn): the end LSN of the last transaction, in commit
 * order, whose every outbox row is settled — acknowledged by Kafka and deleted from the table, or moved to the dead
 * letters — and of every transaction before it. PostgreSQL re-streams, after a restart, exactly the transactions
 * whose commit record starts at or after the confirmed LSN, so confirming anything later would lose the rows of an
 * unsettled transaction in a crash (test/cdc-mode.test.ts, the negative control).
 *
 * Between transactions the walsender sends keepalives carrying the WAL position it has decoded up to; once every
 * transaction before such a marker is settled, its position may be confirmed too (what PostgreSQL's own apply
 * worker does), so the slot's confirmed LSN follows WAL written by other tables instead of retaining it forever.
 */
export interface TxEntry {
  /** The commit record's end LSN (a keepalive marker: the position it carried). */
  endLsn: bigint;
  /** Rows of this transaction not yet settled (0 for a marker). */
  remaining: number;
}

export class Confirmations {
  private readonly queue: TxEntry[] = [];
  private head = 0;

  /** @param confirmed the slot's confirmed_flush_lsn when the stream started. */
  constructor(private confirmedLsn: bigint) {}

  /** What may be confirmed now. */
  get confirmed(): bigint {
    return this.confirmedLsn;
  }

  /** Transactions and markers received and not yet confirmable. */
  get waiting(): number {
    return this.queue.length - this.head;
  }

  /** A committed transaction with `rows` outbox rows (0: nothing to publish, confirmable once the ones before are). */
  commit(endLsn: bigint, rows: number): TxEntry {
    const entry = { endLsn, remaining: rows };
    this.queue.push(entry);
    this.advance();
    return entry;
  }

  /** A keepalive between transactions: its position is confirmable once everything received before it is settled. */
  marker(lsn: bigint): void {
    const last = this.queue[this.queue.length - 1];
    if (this.queue.length > this.head && last && last.remaining === 0 && lsn >= last.endLsn) {
      last.endLsn = lsn; // the last entry already waits only for the ones before it: move it forward
    } else {
      this.queue.push({ endLsn: lsn, remaining: 0 });
    }
    this.advance();
  }

  /** One row of `entry` is settled. */
  settle(entry: TxEntry, rows = 1): void {
    entry.remaining -= rows;
    if (entry.remaining < 0) throw new Error('a transaction settled more rows than it had');
    this.advance();
  }

  private advance(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.remaining === 0) {
      const e = this.queue[this.head++]!;
      if (e.endLsn > this.confirmedLsn) this.confirmedLsn = e.endLsn;
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }
}
