import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { migrateOutbox, pgExecutor, processOnce, type ProcessOutcome } from '../src/index.ts';

const lab = useLab({
  initSql: async (c) => {
    await migrateOutbox(c);
    await c.query('create table effects (event_id uuid not null, note text)');
  },
});

/** One consumer delivery: the inbox row and the effect in one transaction, as the README prescribes. */
async function deliver(pool: pg.Pool, consumer: string, eventId: string, effect?: () => void): Promise<ProcessOutcome> {
  const c = await pool.connect();
  try {
    await c.query('begin');
    const outcome = await processOnce(pgExecutor(c), { consumer, eventId }, async () => {
      effect?.();
      await c.query('insert into effects (event_id, note) values ($1, $2)', [eventId, consumer]);
    });
    await c.query('commit');
    return outcome;
  } catch (err) {
    await c.query('rollback');
    throw err;
  } finally {
    c.release();
  }
}

async function effects(pool: pg.Pool, eventId: string): Promise<number> {
  return (await pool.query('select count(*)::int as n from effects where event_id = $1', [eventId])).rows[0].n;
}

/** A deliberately broken consumer (test code only): the same effect, without the inbox. */
async function deliverWithoutInbox(pool: pg.Pool, consumer: string, eventId: string): Promise<ProcessOutcome> {
  await pool.query('insert into effects (event_id, note) values ($1, $2)', [eventId, consumer]);
  return 'processed';
}

/** The check behind "at-least-once delivery, one effect": one event delivered three times in a row, then three times at once. */
async function effectsOfRedeliveries(deliverFn: typeof deliver): Promise<number> {
  const pool = lab.pool({ max: 4 });
  const eventId = randomUUID();
  for (let i = 0; i < 3; i++) await deliverFn(pool, 'shipping', eventId);
  await Promise.all([1, 2, 3].map(() => deliverFn(pool, 'shipping', eventId)));
  return effects(pool, eventId);
}

describe('processOnce (inbox)', () => {
  it('six deliveries of one event (three in a row, three at once) have one effect; negative control: without the inbox, six', async () => {
    expect(await effectsOfRedeliveries(deliver)).toBe(1);
    expect(await effectsOfRedeliveries(deliverWithoutInbox)).toBe(6);
  });

  it('a redelivered event id has no second effect; another consumer still processes it', async () => {
    const pool = lab.pool();
    const eventId = randomUUID();
    expect(await deliver(pool, 'shipping', eventId)).toBe('processed');
    expect(await deliver(pool, 'shipping', eventId)).toBe('duplicate');
    expect(await deliver(pool, 'billing', eventId)).toBe('processed');
    expect(await effects(pool, eventId)).toBe(2);
  });

  it('two deliveries of the same event at the same moment: exactly one effect', async () => {
    const pool = lab.pool({ max: 4 });
    const eventId = randomUUID();
    const outcomes = await Promise.all([deliver(pool, 'shipping', eventId), deliver(pool, 'shipping', eventId), deliver(pool, 'shipping', eventId)]);
    expect(outcomes.sort()).toEqual(['duplicate', 'duplicate', 'processed']);
    expect(await effects(pool, eventId)).toBe(1);
  });

  it('an effect that fails rolls the inbox row back with it, so the redelivery processes the event', async () => {
    const pool = lab.pool();
    const eventId = randomUUID();
    await expect(deliver(pool, 'shipping', eventId, () => { throw new Error('downstream 503'); })).rejects.toThrow('downstream 503');
    expect(await deliver(pool, 'shipping', eventId)).toBe('processed');
    expect(await effects(pool, eventId)).toBe(1);
    await expect(processOnce(pgExecutor(pool), { consumer: 'shipping', eventId: 'not-a-uuid' }, () => {})).rejects.toThrow(/eventId must be a UUID/);
  });
});
