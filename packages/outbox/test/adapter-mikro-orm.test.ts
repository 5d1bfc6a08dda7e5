/**
 * The MikroORM adapter joins the caller's transaction, on the real PostgreSQL (as test/adapters.test.ts does for
 * the other clients): inside `em.transactional`, the executor runs on the backend and transaction id of the em's
 * own queries, and writes in the same transaction as the em's unit of work (an entity flushed through the ORM);
 * a rollback takes both rows with it; a commit keeps them, in order; the inbox sees a redelivery; em.begin() /
 * em.commit() works too; an executor kept past its transaction fails instead of autocommitting; and an em
 * outside a transaction is refused.
 */
import { randomUUID } from 'node:crypto';
import { EntitySchema, MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { enqueue } from '../src/enqueue.ts';
import { processOnce } from '../src/inbox.ts';
import { migrateOutbox } from '../src/migrate.ts';
import { mikroOrmExecutor } from '../src/adapters/mikro-orm.ts';
import type { SqlExecutor } from '../src/types.ts';

const lab = useLab({
  initSql: async (c) => {
    await migrateOutbox(c);
    await c.query('create table mo_order (id uuid primary key, total_cents integer not null)');
  },
});

interface Order {
  id: string;
  totalCents: number;
}
const OrderEntity = new EntitySchema<Order>({
  name: 'Order',
  tableName: 'mo_order',
  properties: { id: { type: 'uuid', primary: true }, totalCents: { type: 'integer' } },
});

interface Backend {
  pid: number;
  xid: string;
}
const WHO = 'select pg_backend_pid() as pid, pg_current_xact_id()::text as xid';
const who = (row: { pid: unknown; xid: unknown } | undefined): Backend => ({ pid: Number(row?.pid), xid: String(row?.xid) });

const message = (aggregateId: string) => ({ aggregateType: 'order', aggregateId, type: 'OrderCreated', payload: { orderId: aggregateId } });

let orm: MikroORM;
beforeAll(async () => {
  orm = await MikroORM.init({ clientUrl: lab.db.url, entities: [OrderEntity], pool: { min: 0, max: 3 }, debug: false });
  lab.leaks.trackCloseable('MikroORM', orm, 'close');
});
afterAll(async () => {
  await orm?.close(true);
});

/** What is in the database, seen from a connection of its own. */
async function stored(outboxIds: string[], orderIds: string[]): Promise<{ outbox: { aggregateid: string; transaction_id: string }[]; orders: { id: string; xmin: string }[] }> {
  const pool = lab.pool({ max: 1 });
  try {
    const outbox = (await pool.query('select aggregateid, transaction_id::text from outbox o where id = any($1::uuid[]) order by o.position', [outboxIds])).rows;
    const orders = (await pool.query('select id::text, xmin::text from mo_order where id = any($1::uuid[]) order by id', [orderIds])).rows;
    return { outbox, orders };
  } finally {
    await pool.end();
  }
}

/** The 32-bit xid (what `xmin` holds) of a 64-bit xid8, as text. */
const xid32 = (xid8: string) => String(BigInt(xid8) & 0xffffffffn);

describe('MikroORM: the outbox joins the caller’s transaction', () => {
  it('same backend and transaction as the em; rolled back → neither the entity nor the outbox row; committed → both, in order; the inbox sees a redelivery', async () => {
    // Rolled back: an entity flushed through the unit of work, and an outbox row, in one em.transactional.
    const rollBack = new Error('roll back on purpose');
    let seen: { viaExecutor: Backend; viaEm: Backend } | undefined;
    let rolledBackIds: string[] = [];
    const lostOrder = randomUUID();
    const outcome = await orm.em
      .transactional(async (em) => {
        em.persist(em.create(OrderEntity, { id: lostOrder, totalCents: 100 }));
        await em.flush();
        const executor = mikroOrmExecutor(em);
        seen = { viaExecutor: who((await executor.query(WHO)).rows[0]), viaEm: who((await em.execute<{ pid: unknown; xid: unknown }[]>(WHO))[0]) };
        rolledBackIds = await enqueue(executor, message('mikro-orm-rollback'));
        throw rollBack;
      })
      .then(
        () => 'committed',
        (e: unknown) => e,
      );
    expect(outcome).toBe(rollBack);
    expect(seen!.viaExecutor).toEqual(seen!.viaEm);
    expect(rolledBackIds).toHaveLength(1);
    expect(await stored(rolledBackIds, [lostOrder])).toEqual({ outbox: [], orders: [] });

    // Committed: the entity and the outbox rows, written by one transaction (the one the em reports).
    const keptOrder = randomUUID();
    const { ids, xid } = await orm.em.transactional(async (em) => {
      em.persist(em.create(OrderEntity, { id: keptOrder, totalCents: 200 }));
      await em.flush();
      const executor = mikroOrmExecutor(em);
      return { ids: await enqueue(executor, [message('mikro-orm-1'), message('mikro-orm-2')]), xid: who((await em.execute<{ pid: unknown; xid: unknown }[]>(WHO))[0]).xid };
    });
    const after = await stored(ids, [keptOrder]);
    expect(after.outbox).toEqual([
      { aggregateid: 'mikro-orm-1', transaction_id: xid },
      { aggregateid: 'mikro-orm-2', transaction_id: xid },
    ]);
    expect(after.orders).toEqual([{ id: keptOrder, xmin: xid32(xid) }]);

    // The inbox's insert reports its row count through the adapter.
    const eventId = randomUUID();
    const outcomes = await orm.em.transactional(async (em) => {
      const executor = mikroOrmExecutor(em);
      return [await processOnce(executor, { consumer: 'mikro-orm', eventId }, () => {}), await processOnce(executor, { consumer: 'mikro-orm', eventId }, () => {})];
    });
    expect(outcomes).toEqual(['processed', 'duplicate']);
  });

  it('em.begin() … em.commit() works too; an executor kept past its transaction fails rather than writing outside it', async () => {
    const em = orm.em.fork();
    await em.begin();
    let executor: SqlExecutor;
    let ids: string[];
    try {
      executor = mikroOrmExecutor(em);
      expect(who((await executor.query(WHO)).rows[0])).toEqual(who((await em.execute<{ pid: unknown; xid: unknown }[]>(WHO))[0]));
      ids = await enqueue(executor, message('mikro-orm-begin'));
      await em.commit();
    } catch (err) {
      await em.rollback();
      throw err;
    }
    expect((await stored(ids, [])).outbox.map((r) => r.aggregateid)).toEqual(['mikro-orm-begin']);

    // After em.commit() the em has no transaction any more: the executor must not fall back to the pool.
    const lateAfterCommit = randomUUID();
    await expect(enqueue(executor, { ...message('mikro-orm-late'), id: lateAfterCommit })).rejects.toThrow();
    // Same for the em of a finished em.transactional().
    const kept = await orm.em.transactional(async (txEm) => mikroOrmExecutor(txEm));
    const lateAfterTransactional = randomUUID();
    await expect(enqueue(kept, { ...message('mikro-orm-late'), id: lateAfterTransactional })).rejects.toThrow();
    expect((await stored([lateAfterCommit, lateAfterTransactional], [])).outbox).toEqual([]);
  });

  it('a duplicate event id comes back as the outbox’s coded error (PostgreSQL’s SQLSTATE survives MikroORM)', async () => {
    const id = randomUUID();
    await orm.em.transactional(async (em) => void (await enqueue(mikroOrmExecutor(em), { ...message('mikro-orm-dup'), id })));
    const err = await orm.em.transactional(async (em) => enqueue(mikroOrmExecutor(em), { ...message('mikro-orm-dup'), id })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DW_OUTBOX_INVALID_MESSAGE' });
    expect((err as Error).message).toMatch(/already exists/);
  });

  it('$n placeholders bind in order of use; a literal ? stays a literal, with or without values', async () => {
    await orm.em.transactional(async (em) => {
      const executor = mikroOrmExecutor(em);
      expect((await executor.query("select $2::int as n, $1::text as s, $2::int as m, '?' as q, $3::text as t", ['it’s', 7, 'a\\b'])).rows).toEqual([{ n: 7, s: 'it’s', m: 7, q: '?', t: 'a\\b' }]);
      expect((await executor.query("select '?' as q")).rows).toEqual([{ q: '?' }]);
      // jsonb's ? operator right before a placeholder
      expect((await executor.query(`select '{"a":1}'::jsonb ?$1 as has, $2::int as n`, ['a', 3])).rows).toEqual([{ has: true, n: 3 }]);
    });
  });
});

describe('MikroORM adapter edges', () => {
  it('refuses an em outside a transaction (a fork, the global em) or no em at all, naming the fix', () => {
    for (const em of [orm.em.fork(), orm.em, undefined, {}]) {
      let err: unknown;
      try {
        mikroOrmExecutor(em as never);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'DW_OUTBOX_INVALID_MESSAGE' });
      expect((err as { hint: string }).hint).toMatch(/em\.transactional/);
    }
  });
});
