import pg from 'pg';
import { Sequelize, type Transaction } from 'sequelize';
import { describe, expect, it } from 'vitest';
import { OutboxError } from '../src/index.ts';
import { useLab } from '@dual-write/testkit';
import { enqueue, migrateOutbox, pgExecutor, sequelizeExecutor, type OutboxMessage, type SqlExecutor } from '../src/index.ts';

const lab = useLab({ initSql: async (c) => void (await migrateOutbox(c)) });

const message = (over: Partial<OutboxMessage> = {}): OutboxMessage => ({
  aggregateType: 'order',
  aggregateId: 'o-1',
  type: 'OrderCreated',
  payload: { orderId: 'o-1', totalCents: 1299 },
  ...over,
});

async function withClient<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: lab.db.url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function rowsFor(ids: string[]) {
  const pool = lab.pool({ max: 1 });
  const { rows } = await pool.query('select *, position::text as position, transaction_id::text as transaction_id from outbox o where id = any($1::uuid[]) order by o.position', [ids]);
  await pool.end();
  return rows;
}

describe('enqueue with pg', () => {
  it('writes the rows in the caller’s transaction, in order, with the writer’s transaction id; rollback leaves nothing', async () => {
    const { ids, xid } = await withClient(async (c) => {
      await c.query('begin');
      const ids = await enqueue(pgExecutor(c), [
        message({ headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } }),
        message({ type: 'OrderPaid', payload: { orderId: 'o-1', paid: true } }),
        message({ aggregateId: 'o-2', payload: ['any', 'json', 1, null] }),
      ], { headers: { 'x-tenant': 'acme' } });
      const xid = (await c.query('select pg_current_xact_id()::text as x')).rows[0].x;
      await c.query('commit');
      return { ids, xid };
    });
    expect(ids).toHaveLength(3);
    const rows = await rowsFor(ids);
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(rows.map((r) => r.transaction_id)).toEqual([xid, xid, xid]);
    expect(rows[0]).toMatchObject({ aggregatetype: 'order', aggregateid: 'o-1', type: 'OrderCreated', payload: { orderId: 'o-1', totalCents: 1299 }, attempts: 0, last_error: null, next_attempt_at: null });
    expect(rows[0].headers).toEqual({ 'x-tenant': 'acme', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(rows[2].payload).toEqual(['any', 'json', 1, null]);
    expect(BigInt(rows[0].position) < BigInt(rows[1].position) && BigInt(rows[1].position) < BigInt(rows[2].position)).toBe(true);

    const rolledBack = await withClient(async (c) => {
      await c.query('begin');
      const ids = await enqueue(pgExecutor(c), message({ aggregateId: 'o-3' }));
      await c.query('rollback');
      return ids;
    });
    expect(await rowsFor(rolledBack)).toEqual([]);
  });

  it('keeps a given event id, and NOTIFYs listeners on commit only', async () => {
    await withClient(async (listener) => {
      await listener.query('listen outbox');
      const notified: string[] = [];
      let onNotify: () => void = () => {};
      listener.on('notification', (n) => {
        notified.push(n.channel);
        onNotify();
      });
      const id = '8c1e7d52-2b7a-4d6e-9a43-0f5b1c2d3e4f';
      await withClient(async (c) => {
        await c.query('begin');
        await enqueue(pgExecutor(c), message({ aggregateId: 'o-4' }));
        await c.query('rollback');
        const arrived = new Promise<void>((r) => (onNotify = r));
        await c.query('begin');
        expect(await enqueue(pgExecutor(c), message({ id, aggregateId: 'o-5' }))).toEqual([id]);
        await c.query('commit');
        await arrived;
      });
      expect(notified).toEqual(['outbox']);
    });
  });

  it.each<[string, unknown, RegExp]>([
    ['empty aggregateId', message({ aggregateId: '' }), /#0: aggregateId must be a non-empty string/],
    ['missing type', { aggregateType: 'order', aggregateId: 'x', payload: {} }, /#0: type must be a non-empty string \(got nothing\)/],
    ['missing payload', { aggregateType: 'order', aggregateId: 'x', type: 'T' }, /#0: payload is missing/],
    ['payload not JSON', message({ payload: { n: 10n } }), /payload cannot be serialised as JSON/],
    ['payload a function', message({ payload: () => 1 }), /payload is not a JSON value/],
    ['NUL in payload', message({ payload: { s: 'a\u0000b' } }), /NUL character/],
    ['id not a UUID', message({ id: 'order-1' }), /#0: id must be a UUID/],
    ['header not a string', message({ headers: { retries: 3 as unknown as string } }), /headers\.retries must be a string/],
    ['reserved header', message({ headers: { id: 'x' } }), /headers\.id is a header the relay sets itself/],
    ['unknown field', { ...message(), aggregate_id: 'x' }, /#0: aggregate_id is not a message field/],
  ])('refuses a message with %s (DW_OUTBOX_INVALID_MESSAGE naming the field)', async (_name, bad, text) => {
    const err = await enqueue(pgExecutor(lab.pool({ max: 1 })), [bad as OutboxMessage]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutboxError);
    expect((err as OutboxError).code).toBe('DW_OUTBOX_INVALID_MESSAGE');
    expect((err as OutboxError).message).toMatch(text);
    expect((err as OutboxError).hint.length).toBeGreaterThan(10);
  });

  it('says DW_OUTBOX_NOT_MIGRATED when the tables are missing, and refuses the same id twice in one call', async () => {
    await withClient(async (c) => {
      // The schema option, not the search_path, says where the outbox is: a schema without one is "not migrated".
      await c.query('create schema if not exists empty_schema; set search_path = empty_schema');
      const err = await enqueue(pgExecutor(c), message(), { schema: 'empty_schema' }).catch((e: unknown) => e);
      expect((err as OutboxError).code).toBe('DW_OUTBOX_NOT_MIGRATED');
      expect((err as OutboxError).hint).toMatch(/migrateOutbox\(client, \{ schema: "empty_schema", table: "outbox" \}\)/);
    });
    const id = '11111111-2222-4333-8444-555555555555';
    await expect(enqueue(pgExecutor(lab.pool({ max: 1 })), [message({ id }), message({ id })])).rejects.toThrow(/appears twice/);
  });
});

type ExecutorFor = (sequelize: Sequelize, t: Transaction) => SqlExecutor;

/**
 * The check behind "enqueue joins the Sequelize transaction": inside sequelize.transaction(), the executor
 * must run on the transaction's backend and transaction; a rolled-back transaction leaves no outbox row,
 * a committed one leaves all of them. Returns what it saw, so the same check can run on a broken executor.
 */
async function sequelizeTransactionCheck(executorFor: ExecutorFor) {
  const sequelize = new Sequelize(lab.db.url, { dialect: 'postgres', logging: false, pool: { max: 3 } });
  try {
    const rollBack = new Error('roll back on purpose');
    let sameTransaction: boolean | undefined;
    let rolledBackIds: string[] = [];
    const outcome = await sequelize
      .transaction(async (t) => {
        const db = executorFor(sequelize, t);
        const [viaExecutor] = (await db.query('select pg_backend_pid() as pid, pg_current_xact_id()::text as xid')).rows as { pid: number; xid: string }[];
        const [viaSequelize] = (await sequelize.query('select pg_backend_pid() as pid, pg_current_xact_id()::text as xid', { transaction: t, type: 'SELECT' })) as { pid: number; xid: string }[];
        sameTransaction = viaExecutor!.pid === viaSequelize!.pid && viaExecutor!.xid === viaSequelize!.xid;
        rolledBackIds = await enqueue(db, message({ aggregateId: 'seq-rollback' }));
        throw rollBack;
      })
      .then(
        () => 'committed',
        (e: unknown) => e,
      );
    // Only the planned error may end that transaction: a failing query or enqueue fails the check here.
    expect(outcome).toBe(rollBack);
    expect(rolledBackIds).toHaveLength(1);
    const rowsAfterRollback = await rowsFor(rolledBackIds);
    const committedIds = await sequelize.transaction(async (t) => enqueue(executorFor(sequelize, t), [message({ aggregateId: 'seq-1' }), message({ aggregateId: 'seq-2' })]));
    return { sameTransaction, rowsAfterRollback, committed: await rowsFor(committedIds) };
  } finally {
    await sequelize.close();
  }
}

/** A deliberately broken executor (test code only): Sequelize queries without the transaction — its own autocommit connection. */
const ignoresTheTransaction: ExecutorFor = (sequelize) => ({
  async query(text, values) {
    const [rows, result] = (await sequelize.query(text, { raw: true, type: 'RAW', ...(values && values.length ? { bind: [...values] } : {}) })) as [unknown, unknown];
    return { rows: Array.isArray(rows) ? rows : [], rowCount: (result as { rowCount?: number | null } | undefined)?.rowCount ?? null };
  },
});

describe('enqueue with Sequelize', () => {
  it('runs on the transaction’s own connection: rolled back → no row; committed → the row', async () => {
    const seen = await sequelizeTransactionCheck(sequelizeExecutor);
    expect(seen.sameTransaction).toBe(true);
    expect(seen.rowsAfterRollback).toEqual([]);
    expect(seen.committed.map((r) => r.aggregateid)).toEqual(['seq-1', 'seq-2']);
    expect(seen.committed[0].payload).toEqual({ orderId: 'o-1', totalCents: 1299 });
  });

  it('negative control: the same check fails for an executor that ignores the transaction (its row survives the rollback)', async () => {
    const seen = await sequelizeTransactionCheck(ignoresTheTransaction);
    expect(seen.sameTransaction).toBe(false);
    expect(seen.rowsAfterRollback.map((r) => r.aggregateid)).toEqual(['seq-rollback']);
  });
});
