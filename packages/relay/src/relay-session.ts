/**
 * The relay's one dedicated database session. It holds what must live exactly as long as this instance:
 *  - a shared "member" advisory lock, so instances can count each other (pg_locks) without a heartbeat table;
 *  - one exclusive session-level advisory lock per owned slot: the slot's rows are published by this instance
 *    only. When the process dies (kill -9 included) its session ends and PostgreSQL releases the locks, so the
 *    others take the slots over;
 *  - LISTEN on the outbox channel (wake up on commit; not with listen: false, which polls only) and on a
 *    rebalance channel (instances joining/leaving).
 * Only try-locks are used, never waiting locks, so instances cannot deadlock each other.
 */
import type pg from 'pg';
import pgModule from 'pg';
import type { Logger } from 'pino';
import { RelayError } from './errors.ts';
import { OUTBOX_CHANNEL } from '@dual-write/outbox';

/** pg_advisory_lock(SLOT_LOCK_CLASS, slot): one owner per slot. */
export const SLOT_LOCK_CLASS = 74_110_010;
/** pg_advisory_lock_shared(MEMBER_LOCK_CLASS, slots): one per live instance; the slot count is part of the key. */
export const MEMBER_LOCK_CLASS = 74_110_011;
export const REBALANCE_CHANNEL = 'outbox_relay_rebalance';

const OUR_DB = '(select oid from pg_database where datname = current_database())';

export interface SessionEvents {
  /** A row was committed to the outbox (NOTIFY). */
  onOutboxNotify(): void;
  /** An instance joined or released slots: re-share soon. */
  onRebalanceHint(): void;
  /** The session died: every slot lock is gone. */
  onLost(err: Error | undefined): void;
}

export interface RebalanceResult {
  members: number;
  fairShare: number;
  owned: number[];
  claimed: number[];
  released: number[];
}

export class RelaySession {
  private client: pg.Client | undefined;
  private readonly ownedSlots = new Set<number>();
  private alive = false;
  private closing = false;

  constructor(
    private readonly opts: { url: string; slots: number; instanceId: string; connectTimeoutMs: number; log: Logger; listen?: boolean },
    private readonly events: SessionEvents,
  ) {}

  get isOpen(): boolean {
    return this.alive;
  }

  get owned(): number[] {
    return [...this.ownedSlots].sort((a, b) => a - b);
  }

  /** Connects, listens, joins the members and checks every member uses the same slot count. */
  async open(): Promise<void> {
    const client = new pgModule.Client({
      connectionString: this.opts.url,
      application_name: `outbox-relay-session:${this.opts.instanceId}`.slice(0, 63),
      connectionTimeoutMillis: this.opts.connectTimeoutMs,
      keepAlive: true,
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, undefined));
    client.on('notification', (n) => {
      if (n.channel === OUTBOX_CHANNEL) this.events.onOutboxNotify();
      else if (n.channel === REBALANCE_CHANNEL) this.events.onRebalanceHint();
    });
    await client.connect();
    try {
      if (this.opts.listen !== false) await client.query(`listen ${OUTBOX_CHANNEL}`);
      await client.query(`listen ${REBALANCE_CHANNEL}`);
      await client.query('select pg_advisory_lock_shared($1, $2)', [MEMBER_LOCK_CLASS, this.opts.slots]);
      const { rows } = await client.query<{ slots: string }>(
        `select distinct objid::bigint::text as slots from pg_locks
         where locktype = 'advisory' and database = ${OUR_DB} and classid::bigint = $1 and objsubid = 2 and objid::bigint <> $2`,
        [MEMBER_LOCK_CLASS, this.opts.slots],
      );
      if (rows.length) {
        throw new RelayError(
          'DW_RELAY_SLOTS_MISMATCH',
          `This relay uses ${this.opts.slots} slots, but another instance on the same database uses ${rows.map((r) => r.slots).join(', ')}.`,
          'Every relay instance of a database must use the same RELAY_SLOTS (slots option): stop the others before changing it.',
        );
      }
      await client.query('select pg_notify($1, $2)', [REBALANCE_CHANNEL, `join ${this.opts.instanceId}`]);
    } catch (err) {
      this.closing = true;
      await client.end().catch(() => {});
      this.closing = false;
      throw err;
    }
    this.client = client;
    this.alive = true;
  }

  private lost(client: pg.Client, err: Error | undefined): void {
    if (client !== this.client || !this.alive) return;
    this.alive = false;
    this.ownedSlots.clear();
    this.client = undefined;
    if (!this.closing) this.events.onLost(err);
  }

  private db(): pg.Client {
    if (!this.client || !this.alive) throw new Error('relay session is not open');
    return this.client;
  }

  /**
   * Counts the live instances and moves this one towards its fair share, ceil(slots / members):
   * gives up slots above it (the caller only rebalances between batches, so nothing of a released slot
   * is in flight), and try-locks free slots below it.
   */
  async rebalance(): Promise<RebalanceResult> {
    const db = this.db();
    const { rows } = await db.query<{ members: number; taken: number[] }>(
      `select (select count(*)::int from pg_locks where locktype = 'advisory' and database = ${OUR_DB}
                 and classid::bigint = $1 and objsubid = 2 and granted) as members,
              array(select objid::int from pg_locks where locktype = 'advisory' and database = ${OUR_DB}
                 and classid::bigint = $2 and objsubid = 2 and granted) as taken`,
      [MEMBER_LOCK_CLASS, SLOT_LOCK_CLASS],
    );
    const members = Math.max(1, rows[0]!.members);
    const fairShare = Math.ceil(this.opts.slots / members);
    const claimed: number[] = [];
    const released: number[] = [];
    if (this.ownedSlots.size > fairShare) {
      for (const slot of this.owned.reverse().slice(0, this.ownedSlots.size - fairShare)) {
        await db.query('select pg_advisory_unlock($1, $2)', [SLOT_LOCK_CLASS, slot]);
        this.ownedSlots.delete(slot);
        released.push(slot);
      }
      await db.query('select pg_notify($1, $2)', [REBALANCE_CHANNEL, `released ${this.opts.instanceId}`]);
    } else if (this.ownedSlots.size < fairShare) {
      const taken = new Set(rows[0]!.taken);
      // Start at an instance-specific offset so instances starting together do not race for the same slots.
      const offset = [...this.opts.instanceId].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % this.opts.slots;
      for (let i = 0; i < this.opts.slots && this.ownedSlots.size < fairShare; i++) {
        const slot = (offset + i) % this.opts.slots;
        if (this.ownedSlots.has(slot) || taken.has(slot)) continue;
        const r = await db.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [SLOT_LOCK_CLASS, slot]);
        if (r.rows[0]?.ok) {
          this.ownedSlots.add(slot);
          claimed.push(slot);
        }
      }
    }
    return { members, fairShare, owned: this.owned, claimed, released };
  }

  /** Leaves cleanly: tells the others, then ends the session (which releases every lock). */
  async close(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.closing = true;
    try {
      if (this.alive) await client.query('select pg_advisory_unlock_all()').catch(() => {});
      if (this.alive) await client.query('select pg_notify($1, $2)', [REBALANCE_CHANNEL, `left ${this.opts.instanceId}`]).catch(() => {});
    } finally {
      this.alive = false;
      this.ownedSlots.clear();
      this.client = undefined;
      await client.end().catch(() => {});
      this.closing = false;
    }
  }
}
