/**
 * Poolers: the real PgBouncer 1.18 in TRANSACTION mode (the stack's optional pooler, started here when it is not
 * running and stopped again afterwards — usePgbouncer), the way managed PostgreSQL is usually reached.
 *
 *  - the hazard itself: through it, two client connections share one backend, so a session advisory lock "held" by
 *    one is held by the other too — and a naive check (ask the same connection for its backend twice) sees nothing;
 *  - enqueue() works through it: the caller's transaction commits the row, or rolls it back;
 *  - the relay refuses a coordination session through it (DW_RELAY_POOLED_SESSION, naming RELAY_COORDINATION_URL),
 *    in-process and as the bin (exit 2); and a coordination URL that reaches another database;
 *  - with RELAY_COORDINATION_URL direct it publishes what writers commit through PgBouncer — nothing lost, per-key
 *    order, no duplicates — its pool really going through PgBouncer (SHOW CLIENTS, SHOW SERVERS, SHOW STATS) and
 *    its session not; a writer's NOTIFY through the pooler wakes it; it never uses a named prepared statement;
 *  - negative control of the detection: PgBouncer switched to session mode is a real session and is accepted.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { withDatabase } from '@dual-write/config';
import { enqueue, pgExecutor } from '@dual-write/outbox';
import { usePgbouncer, useLab } from '@dual-write/testkit';
import { RelayError } from '../src/index.ts';
import { MEMBER_LOCK_CLASS, SLOT_LOCK_CLASS } from '../src/stores/postgres/relay-session.ts';
import { auditItems, cleanupRelays, KeyedWriter, migrateForTests, nextEvent, outboxCount, RelayProcess, relayEnv, relayOn, resetTables, writeItems } from './helpers.ts';

const lab = useLab({ initSql: migrateForTests });
const pooler = usePgbouncer(lab);

const pools: pg.Pool[] = [];
/** A pool through PgBouncer, ended after the test. */
function pooledPool(applicationName: string, max = 2): pg.Pool {
  const pool = new pg.Pool({ connectionString: pooler.url, max, application_name: applicationName });
  pool.on('error', () => {});
  pools.push(pool);
  return pool;
}

beforeEach(() => resetTables(lab));
afterEach(async () => {
  await cleanupRelays();
  await Promise.all(pools.splice(0).map((p) => p.end().catch(() => {})));
});
// Whatever a failed test left: PgBouncer back in transaction mode.
afterAll(() => pooler.admin("SET pool_mode = 'transaction'").catch(() => {}));

type ClientRow = { application_name: string; database: string; link: string; local_port: number };
type ServerRow = { remote_pid: number; database: string };
const backendOf = async (c: pg.ClientBase) => (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;

async function connected(url: string, applicationName: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, application_name: applicationName });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** The relay's session and member locks on this file's database (none once a relay has gone). */
async function relayLocks(): Promise<number> {
  const pool = lab.pool({ max: 1 });
  try {
    const { rows } = await pool.query<{ n: number }>(
      `select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())
       and classid::bigint = any($1::bigint[])`,
      [[SLOT_LOCK_CLASS, MEMBER_LOCK_CLASS]],
    );
    return rows[0]!.n;
  } finally {
    await pool.end();
  }
}

describe('PgBouncer in transaction mode (the stack’s optional pooler)', () => {
  it('is what managed databases put in front: session state does not follow the client connection, and a naive check does not see it', async () => {
    const [config] = await pooler.admin<{ key: string; value: string }>('SHOW CONFIG').then((rows) => rows.filter((r) => r.key === 'pool_mode'));
    expect(config!.value).toBe('transaction');
    expect((await pooler.admin<{ version: string }>('SHOW VERSION'))[0]!.version).toMatch(/^PgBouncer 1\.\d+/);

    const a = await connected(pooler.url, 'pooler-test-a');
    const b = await connected(pooler.url, 'pooler-test-b');
    try {
      // Negative control of the relay's check: the same connection asked twice, nothing held in between — same backend.
      const first = await backendOf(a);
      expect(await backendOf(a)).toBe(first);
      // A session advisory lock "taken" by a…
      expect((await a.query('select pg_try_advisory_lock(4242, 1) as ok')).rows[0].ok).toBe(true);
      // …is held by b too: inside its transaction b got a's backend (PgBouncer reuses the last released server).
      await b.query('begin');
      expect(await backendOf(b)).toBe(first);
      expect((await b.query('select pg_try_advisory_lock(4242, 1) as ok')).rows[0].ok).toBe(true);
      // And a's next statement runs on another backend, which does not hold "its" lock.
      expect(await backendOf(a)).not.toBe(first);
      expect((await a.query('select count(*)::int as n from pg_locks where locktype = \'advisory\' and objid = 1 and classid = 4242 and pid = pg_backend_pid()')).rows[0].n).toBe(0);
      await b.query('select pg_advisory_unlock_all()'); // on the backend that holds the lock, still b's
      await b.query('rollback');
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it('enqueue() runs in the caller’s transaction through it: commit → the row, rollback → no row', async () => {
    const c = await connected(pooler.url, 'pooler-test-enqueue');
    try {
      await c.query('begin');
      const committed = await enqueue(pgExecutor(c), [
        { aggregateType: 'item', aggregateId: 'k-1', type: 'ItemWritten', payload: { n: 1 } },
        { aggregateType: 'item', aggregateId: 'k-2', type: 'ItemWritten', payload: { n: 2 } },
      ]);
      // Inside the transaction this client is a PgBouncer client linked to a server connection.
      const mine = (await pooler.admin<ClientRow>('SHOW CLIENTS')).filter((r) => r.application_name === 'pooler-test-enqueue');
      expect(mine).toHaveLength(1);
      expect(mine[0]!.link).not.toBe('');
      expect(mine[0]!.local_port).toBe(lab.config.pgbouncer.port);
      await c.query('commit');

      await c.query('begin');
      const rolledBack = await enqueue(pgExecutor(c), { aggregateType: 'item', aggregateId: 'k-3', type: 'ItemWritten', payload: { n: 3 } });
      await c.query('rollback');

      // Through an items row too, as an application writes (writeItems: the row and its message in one transaction).
      const written = await writeItems(c, [{ key: 'k-4', n: 0 }]);
      const before = await outboxCount(lab);
      await writeItems(c, [{ key: 'k-5', n: 0 }], 'rollback');
      expect(await outboxCount(lab)).toBe(before);

      const direct = lab.pool({ max: 1 });
      const { rows } = await direct.query<{ id: string }>('select id::text from outbox order by position');
      expect(rows.map((r) => r.id)).toEqual([...committed, expect.any(String)]);
      expect(rows.map((r) => r.id)).not.toContain(rolledBack[0]);
      const items = await direct.query<{ key: string }>('select key from items');
      expect(items.rows.map((r) => r.key)).toEqual(['k-4']);
      expect(written).toHaveLength(1);
    } finally {
      await c.end();
    }
  });
});

describe('the relay behind a transaction-mode pooler', () => {
  it('refuses to coordinate through it: DW_RELAY_POOLED_SESSION, naming RELAY_COORDINATION_URL; nothing left behind', async () => {
    const topic = await lab.topic('refused', 1);
    const err = await relayOn(lab, topic, { database: pooler.url, instanceId: 'pooled-a' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RelayError);
    expect((err as RelayError).code).toBe('DW_RELAY_POOLED_SESSION');
    expect((err as RelayError).message).toMatch(/does not stay one PostgreSQL session: .*pid \d+/);
    expect((err as RelayError).message).not.toContain(':postgres@'); // the password is never printed
    expect((err as RelayError).hint).toContain('RELAY_COORDINATION_URL');
    // Refused before the first lock; every connection it opened is closed.
    expect(await relayLocks()).toBe(0);
    await vi.waitFor(async () => {
      const left = (await pooler.admin<ClientRow>('SHOW CLIENTS')).filter((r) => r.application_name.includes('pooled-a'));
      expect(left).toEqual([]);
    });

    // A coordination URL through the same pooler is refused the same way, with the hint for that case.
    const again = await relayOn(lab, topic, { database: pooler.url, coordinationUrl: pooler.url }).catch((e: unknown) => e);
    expect((again as RelayError).code).toBe('DW_RELAY_POOLED_SESSION');
    expect((again as RelayError).message).toContain('RELAY_COORDINATION_URL');
    expect((again as RelayError).hint).toMatch(/RELAY_COORDINATION_URL .* must reach the database directly or through a session-mode pooler/);
  });

  it('the bin with DATABASE_URL through PgBouncer and no RELAY_COORDINATION_URL exits 2 with the code and the fix', async () => {
    const topic = await lab.topic('refused-bin', 1);
    const relay = new RelayProcess(relayEnv(lab, topic, { DATABASE_URL: pooler.url, RELAY_PORT: '0', RELAY_LOG_LEVEL: 'silent' }));
    const { code } = await relay.exited;
    expect(code, relay.stderr).toBe(2);
    expect(relay.stderr).toContain('[DW_RELAY_POOLED_SESSION]');
    expect(relay.stderr).toMatch(/→ Set RELAY_COORDINATION_URL .* to a direct or session-mode URL of the same database/);
  });

  it('refuses a coordination URL that reaches another database than DATABASE_URL', async () => {
    const topic = await lab.topic('other-db', 1);
    const err = await relayOn(lab, topic, { database: pooler.url, coordinationUrl: withDatabase(lab.db.url, 'postgres') }).catch((e: unknown) => e);
    expect((err as RelayError).code).toBe('DW_RELAY_INVALID_OPTION');
    expect((err as RelayError).message).toMatch(/coordinationUrl \(RELAY_COORDINATION_URL\) reaches the database "postgres".*but database \(DATABASE_URL\) reaches "t_/);
    expect(await relayLocks()).toBe(0);
  });

  it('with RELAY_COORDINATION_URL direct: publishes what writers commit through PgBouncer — nothing lost, per-key order — its pool through PgBouncer, its session not', async () => {
    const topic = await lab.topic('pooled', 3);
    const queries = vi.spyOn(pg.Client.prototype, 'query');
    const statsOf = async () => Number((await pooler.admin<{ database: string; total_xact_count: string }>('SHOW STATS')).find((r) => r.database === lab.db.name)?.total_xact_count ?? 0);
    const xactsBefore = await statsOf();
    try {
      const relay = await relayOn(lab, topic, { database: pooler.url, coordinationUrl: lab.db.url, instanceId: 'pooled-b', batchSize: 50 });
      const writer = new KeyedWriter(pooledPool('pooler-test-writer'), ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'], 3).start({ max: 300, paceMs: 5 });
      await writer.reached(90);

      // While it runs: its pool's connections are PgBouncer clients; its session is not…
      const clients = (await pooler.admin<ClientRow>('SHOW CLIENTS')).filter((r) => r.database === lab.db.name);
      expect(clients.filter((r) => r.application_name === 'outbox-relay:pooled-b').length).toBeGreaterThanOrEqual(1);
      expect(clients.filter((r) => r.application_name.startsWith('outbox-relay-session:'))).toEqual([]);
      // …and the session is a backend of its own, not one of PgBouncer's server connections.
      const direct = lab.pool({ max: 1 });
      const session = await direct.query<{ pid: number }>("select pid from pg_stat_activity where application_name = 'outbox-relay-session:pooled-b'");
      expect(session.rows).toHaveLength(1);
      const servers = (await pooler.admin<ServerRow>('SHOW SERVERS')).map((s) => s.remote_pid);
      expect(servers.length).toBeGreaterThanOrEqual(1);
      expect(servers).not.toContain(session.rows[0]!.pid);

      const written = await writer.finished().then(() => writer.written);
      await relay.waitUntilDrained({ timeoutMs: 60_000 });
      // Transactions through PgBouncer on this database beyond the writer's own: the relay's reads and deletes.
      const writerTransactions = written.length / 3;
      expect((await statsOf()) - xactsBefore).toBeGreaterThan(writerTransactions + 10);
      await relay.stop();

      const report = await auditItems(lab, topic, 'json:n');
      expect(report.counts).toMatchObject({ rows: 300, messages: 300, blackHoles: 0, ghosts: 0, duplicates: 0, orderViolations: 0, withoutSequence: 0 });
      expect(await outboxCount(lab)).toBe(0);
      expect(relay.stats().published).toBe(300);

      // pg's unnamed statements only: a named prepared statement would not survive a change of backend.
      expect(queries.mock.calls.length).toBeGreaterThan(100);
      const named = queries.mock.calls.filter(([q]) => typeof q === 'object' && q !== null && 'name' in q && (q as { name?: string }).name);
      expect(named).toEqual([]);
    } finally {
      queries.mockRestore();
    }
  });

  it('a writer’s NOTIFY through PgBouncer wakes the relay LISTENing on its direct session (no poll in between)', async () => {
    const topic = await lab.topic('wake', 1);
    const relay = await relayOn(lab, topic, { database: pooler.url, coordinationUrl: lab.db.url, pollIntervalMs: 60_000, rebalanceIntervalMs: 60_000 });
    await relay.waitUntilDrained();
    const c = await pooledPool('pooler-test-notify', 1).connect();
    try {
      const published = nextEvent<{ ids: string[] }>(
        (fn) => {
          relay.events.on('published', fn);
          return () => relay.events.off('published', fn);
        },
        'the published event (woken by the NOTIFY: the next poll and re-share are a minute away)',
        10_000,
      );
      const [w] = await writeItems(c, [{ key: 'wake', n: 0 }]);
      expect((await published).ids).toHaveLength(1);
      expect(w!.id).toBeTruthy();
    } finally {
      c.release();
    }
  });

  it('negative control: PgBouncer in SESSION mode keeps one backend per client — accepted without a coordination URL, and it publishes', async () => {
    await pooler.admin("SET pool_mode = 'session'");
    try {
      const topic = await lab.topic('session-mode', 2);
      const relay = await relayOn(lab, topic, { database: pooler.url, instanceId: 'session-mode' });
      const clients = (await pooler.admin<ClientRow>('SHOW CLIENTS')).filter((r) => r.application_name === 'outbox-relay-session:session-mode');
      expect(clients).toHaveLength(1); // its session really goes through PgBouncer
      const writer = new KeyedWriter(pooledPool('pooler-test-session-writer'), ['s1', 's2'], 2).start({ max: 40 });
      await writer.finished();
      await relay.waitUntilDrained();
      await relay.stop();
      const report = await auditItems(lab, topic, 'json:n');
      expect(report.counts).toMatchObject({ rows: 40, messages: 40, blackHoles: 0, ghosts: 0, duplicates: 0, orderViolations: 0 });
    } finally {
      await cleanupRelays();
      await Promise.all(pools.splice(0).map((p) => p.end().catch(() => {})));
      await pooler.admin("SET pool_mode = 'transaction'");
    }
  });
});
