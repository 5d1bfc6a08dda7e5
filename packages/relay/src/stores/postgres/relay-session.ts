/**
 * The relay's one dedicated database session. It holds what must live exactly as long as this instance:
 *  - a shared "member" advisory lock, so instances can count each other (pg_locks) without a heartbeat table;
 *  - one exclusive session-level advisory lock per owned slot: the slot's rows are published by this instance
 *    only. When the process dies (kill -9 included) its session ends and PostgreSQL releases the locks, so the
 *    others take the slots over;
 *  - LISTEN on the outbox channel (wake up on commit; not with listen: false, which polls only) and on a
 *    rebalance channel (instances joining/leaving).
 * Only try-locks are used, never waiting locks, so instances cannot deadlock each other.
 *
 * Locks and channels belong to ONE outbox (schema + table): relays of two outboxes in the same database neither
 * share slots nor count each other as members (relayLockSpace()); the default public.outbox keeps the constants.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import pgModule from 'pg';
import type { Logger } from 'pino';
import type { ResolvedOutboxTables } from '@dual-write/outbox';
import { RelayError } from '../../errors.ts';
import type { CoordinatorEvents, RebalanceResult, RelayCoordinator } from '../../seams.ts';
import { describeServer, pinnedSession, redactUrl, sameServer, serverIdentity, type ServerIdentity } from './session-check.ts';

/** pg_advisory_lock(SLOT_LOCK_CLASS, slot): one owner per slot (of the default outbox, public.outbox). */
export const SLOT_LOCK_CLASS = 74_110_010;
/** pg_advisory_lock_shared(MEMBER_LOCK_CLASS, slots): one per live instance; the slot count is part of the key. */
export const MEMBER_LOCK_CLASS = 74_110_011;
export const REBALANCE_CHANNEL = 'outbox_relay_rebalance';

/** The advisory-lock classes and the rebalance channel of the relays of one outbox. */
export interface RelayLockSpace {
  slotClass: number;
  memberClass: number;
  rebalanceChannel: string;
}

/**
 * public.outbox: SLOT_LOCK_CLASS, MEMBER_LOCK_CLASS, REBALANCE_CHANNEL (what every relay used before the schema
 * and table options). Any other outbox: classes and a channel derived from a hash of "schema.table" — positive
 * int4s (pg_locks.classid is an oid), never the default classes — so its relays coordinate only among themselves.
 */
export function relayLockSpace(tables: Pick<ResolvedOutboxTables, 'schema' | 'table' | 'isDefault'>): RelayLockSpace {
  if (tables.isDefault) return { slotClass: SLOT_LOCK_CLASS, memberClass: MEMBER_LOCK_CLASS, rebalanceChannel: REBALANCE_CHANNEL };
  const h = createHash('sha256').update(`${tables.schema}.${tables.table}`).digest();
  const taken = new Set([SLOT_LOCK_CLASS, MEMBER_LOCK_CLASS]);
  const pick = (offset: number) => {
    let c = h.readUInt32BE(offset) & 0x7fff_ffff;
    while (taken.has(c)) c = (c + 1) & 0x7fff_ffff;
    taken.add(c);
    return c;
  };
  return { slotClass: pick(0), memberClass: pick(4), rebalanceChannel: `${REBALANCE_CHANNEL}_${h.toString('hex', 8, 14)}` };
}

const OUR_DB = '(select oid from pg_database where datname = current_database())';

/** The PostgreSQL coordinator: advisory locks and LISTEN on one dedicated session. */
export class RelaySession implements RelayCoordinator {
  private client: pg.Client | undefined;
  private readonly ownedSlots = new Set<number>();
  private readonly space: RelayLockSpace;
  private alive = false;
  private closing = false;
  private pid: number | undefined;
  /** Local time of the last statement the session completed: the lease runs from there. */
  private lastRenewed = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  /** The start-up checks of the URL passed (session-check.ts): once, before the first lock. */
  private checked = false;

  constructor(
    private readonly opts: {
      url: string; slots: number; instanceId: string; connectTimeoutMs: number; log: Logger; listen?: boolean; tables: ResolvedOutboxTables; leaseMs: number;
      /** The url is RELAY_COORDINATION_URL (coordinationUrl), not DATABASE_URL: for the messages. */
      coordinationGiven?: boolean;
      /** Where the pool's statements go: the session must reach the same server and database. */
      poolServer?: () => Promise<ServerIdentity>;
    },
    private readonly events: CoordinatorEvents,
  ) {
    this.space = relayLockSpace(opts.tables);
  }

  get isOpen(): boolean {
    return this.alive;
  }

  get owned(): number[] {
    return [...this.ownedSlots].sort((a, b) => a - b);
  }

  get backendPid(): number | undefined {
    return this.alive ? this.pid : undefined;
  }

  /**
   * The lease: the others fence this instance off once its session has been silent for leaseMs (by the
   * database's clock: pg_stat_activity.state_change). Publishing stops at half of it, so a send that starts in
   * time finishes long before anyone may take over. A stopped process wakes up with a stale lease and sends nothing.
   */
  mayPublish(): boolean {
    return this.alive && Date.now() - this.lastRenewed < this.opts.leaseMs / 2;
  }

  /** Runs a statement on the session; its completion renews the lease. */
  private async renewing<T extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<T>> {
    const r = await this.db().query<T>(sql, values);
    this.lastRenewed = Date.now();
    return r;
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
    const { channel, channelIdent } = this.opts.tables;
    const { memberClass, rebalanceChannel } = this.space;
    client.on('notification', (n) => {
      if (n.channel === channel) this.events.onOutboxNotify();
      else if (n.channel === rebalanceChannel) this.events.onRebalanceHint();
    });
    await client.connect();
    try {
      if (!this.checked) await this.checkSession(client);
      if (this.opts.listen !== false) await client.query(`listen ${channelIdent}`);
      await client.query(`listen "${rebalanceChannel}"`);
      await client.query('select pg_advisory_lock_shared($1, $2)', [memberClass, this.opts.slots]);
      const { rows } = await client.query<{ slots: string }>(
        `select distinct objid::bigint::text as slots from pg_locks
         where locktype = 'advisory' and database = ${OUR_DB} and classid::bigint = $1 and objsubid = 2 and objid::bigint <> $2`,
        [memberClass, this.opts.slots],
      );
      if (rows.length) {
        throw new RelayError(
          'DW_RELAY_SLOTS_MISMATCH',
          `This relay uses ${this.opts.slots} slots, but another instance of the same outbox (${this.opts.tables.outbox}) uses ${rows.map((r) => r.slots).join(', ')}.`,
          'Every relay instance of a database must use the same RELAY_SLOTS (slots option): stop the others before changing it.',
        );
      }
      await client.query('select pg_notify($1, $2)', [rebalanceChannel, `join ${this.opts.instanceId}`]);
      this.pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    } catch (err) {
      this.closing = true;
      await client.end().catch(() => {});
      this.closing = false;
      throw err;
    }
    this.client = client;
    this.alive = true;
    this.lastRenewed = Date.now();
    // The heartbeat: a statement every leaseMs / 5 keeps this session's state_change fresh for the others.
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (this.alive && !this.closing) this.renewing('select 1').catch(() => {});
    }, Math.max(200, Math.floor(this.opts.leaseMs / 5)));
    this.heartbeat.unref();
  }

  /**
   * Refuses a URL through which session state does not survive (a pooler in transaction or statement mode:
   * DW_RELAY_POOLED_SESSION), and a coordination URL that reaches another server or database than the pool.
   */
  private async checkSession(client: pg.Client): Promise<void> {
    const { url, coordinationGiven, poolServer, log } = this.opts;
    const variable = coordinationGiven ? 'RELAY_COORDINATION_URL' : 'DATABASE_URL';
    const verdict = await pinnedSession(client, url, { timeoutMs: this.opts.connectTimeoutMs, applicationName: `outbox-relay-check:${this.opts.instanceId}` });
    if (!verdict.pinned) {
      throw new RelayError(
        'DW_RELAY_POOLED_SESSION',
        `The relay's coordination session (${variable} ${redactUrl(url)}) does not stay one PostgreSQL session: ${verdict.evidence}. That is a pooler in transaction or statement mode (PgBouncer, RDS Proxy, Supavisor…): the session advisory locks that give every slot one owner, and LISTEN, would silently not work through it.`,
        coordinationGiven
          ? 'RELAY_COORDINATION_URL (the coordinationUrl option) must reach the database directly or through a session-mode pooler; DATABASE_URL may stay on the transaction-mode pooler.'
          : 'Set RELAY_COORDINATION_URL (the coordinationUrl option) to a direct or session-mode URL of the same database; DATABASE_URL may stay on the pooler for reads and deletes.',
        { url: redactUrl(url), evidence: verdict.evidence },
      );
    }
    if (verdict.inconclusive) log.warn({ url: redactUrl(url), reason: verdict.inconclusive }, 'could not finish checking that the coordination session is not pooled in transaction mode; going on');
    if (poolServer) {
      const [session, pool] = await Promise.all([serverIdentity(client), poolServer()]);
      if (!sameServer(session, pool)) {
        throw new RelayError(
          'DW_RELAY_INVALID_OPTION',
          `Relay option coordinationUrl (RELAY_COORDINATION_URL) reaches the database ${describeServer(session)}, but database (DATABASE_URL) reaches ${describeServer(pool)}: the slot locks of the session would not guard what the pool reads and deletes.`,
          'Point RELAY_COORDINATION_URL (the coordinationUrl option) at the same database as DATABASE_URL — the same server and database name, directly or through a session-mode pooler.',
          { option: 'coordinationUrl' },
        );
      }
    }
    if (coordinationGiven) log.info({ coordinationUrl: redactUrl(url) }, 'coordination session (slot locks, LISTEN) on RELAY_COORDINATION_URL; reads and deletes through DATABASE_URL');
    this.checked = true;
  }

  private lost(client: pg.Client, err: Error | undefined): void {
    if (client !== this.client || !this.alive) return;
    clearInterval(this.heartbeat);
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
    const fenced = await this.fenceSilentMembers();
    const { rows } = await this.renewing<{ members: number; taken: number[] }>(
      `select (select count(*)::int from pg_locks where locktype = 'advisory' and database = ${OUR_DB}
                 and classid::bigint = $1 and objsubid = 2 and granted) as members,
              array(select objid::int from pg_locks where locktype = 'advisory' and database = ${OUR_DB}
                 and classid::bigint = $2 and objsubid = 2 and granted) as taken`,
      [this.space.memberClass, this.space.slotClass],
    );
    const members = Math.max(1, rows[0]!.members);
    const fairShare = Math.ceil(this.opts.slots / members);
    const claimed: number[] = [];
    const released: number[] = [];
    if (this.ownedSlots.size > fairShare) {
      for (const slot of this.owned.reverse().slice(0, this.ownedSlots.size - fairShare)) {
        await db.query('select pg_advisory_unlock($1, $2)', [this.space.slotClass, slot]);
        this.ownedSlots.delete(slot);
        released.push(slot);
      }
      await db.query('select pg_notify($1, $2)', [this.space.rebalanceChannel, `released ${this.opts.instanceId}`]);
    } else if (this.ownedSlots.size < fairShare) {
      const taken = new Set(rows[0]!.taken);
      // Start at an instance-specific offset so instances starting together do not race for the same slots.
      const offset = [...this.opts.instanceId].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % this.opts.slots;
      for (let i = 0; i < this.opts.slots && this.ownedSlots.size < fairShare; i++) {
        const slot = (offset + i) % this.opts.slots;
        if (this.ownedSlots.has(slot) || taken.has(slot)) continue;
        const r = await db.query<{ ok: boolean }>('select pg_try_advisory_lock($1, $2) as ok', [this.space.slotClass, slot]);
        if (r.rows[0]?.ok) {
          this.ownedSlots.add(slot);
          claimed.push(slot);
        }
      }
    }
    return { members, fenced, owned: this.owned, fairShare, claimed, released };
  }

  /**
   * Fences off the instances that made no progress for longer than the lease: their member session (which holds
   * their slot locks) has been silent that long — stopped, frozen, or cut off while its TCP connection lives on.
   * Terminating that backend releases its locks, so the slots can be claimed, and the fenced instance, when it
   * wakes up, finds its session gone and its deletes refused (deletePublished checks the lock holder).
   * Needs the right to signal the other backends: the same database role, or pg_signal_backend.
   */
  private async fenceSilentMembers(): Promise<RebalanceResult['fenced']> {
    const { rows } = await this.db().query<{ pid: number; application_name: string | null; silent: number }>(
      `select l.pid, a.application_name, extract(epoch from now() - a.state_change)::float8 as silent
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
       where l.locktype = 'advisory' and l.database = ${OUR_DB} and l.classid::bigint = $1 and l.objsubid = 2 and l.granted
         and l.pid <> pg_backend_pid() and a.state_change < now() - $2 * interval '1 millisecond'`,
      [this.space.memberClass, this.opts.leaseMs],
    );
    const fenced: RebalanceResult['fenced'] = [];
    for (const r of rows) {
      try {
        await this.db().query('select pg_terminate_backend($1)', [r.pid]);
        fenced.push({ pid: r.pid, applicationName: r.application_name ?? '', silentSeconds: Math.round(r.silent) });
        this.opts.log.warn({ pid: r.pid, applicationName: r.application_name, silentSeconds: Math.round(r.silent), leaseMs: this.opts.leaseMs }, 'fenced off a relay instance that made no progress for longer than the lease: its session is terminated, its slots are free');
      } catch (err) {
        this.opts.log.error({ pid: r.pid, err: (err as Error).message }, 'could not fence off a silent relay instance (grant pg_signal_backend to the relay role, or run every instance as the same role)');
      }
    }
    return fenced;
  }

  /** Leaves cleanly: tells the others, then ends the session (which releases every lock). */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    const client = this.client;
    if (!client) return;
    this.closing = true;
    try {
      if (this.alive) await client.query('select pg_advisory_unlock_all()').catch(() => {});
      if (this.alive) await client.query('select pg_notify($1, $2)', [this.space.rebalanceChannel, `left ${this.opts.instanceId}`]).catch(() => {});
    } finally {
      this.alive = false;
      this.ownedSlots.clear();
      this.client = undefined;
      await client.end().catch(() => {});
      this.closing = false;
    }
  }
}
