/**
 * "Who holds rows back" (store.blockers()) scans the outbox once, however many key buckets an open transaction
 * holds. The planner estimates pg_locks at one row: with the held rows' CTE inlined it chose a nested loop that
 * re-ran the scan of the outbox once per lock — 117 s with 100 000 rows behind a transaction holding all 1024
 * buckets, which stalled the relay's loop and collapsed a multi-instance drain. The plan is read with EXPLAIN
 * on the real PostgreSQL: with the planner's joins left to it, and with hash and merge joins switched off so that it
 * must choose nested loops as it did with the benchmark's statistics. The inlined variant is the negative control.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { useLab } from '@dual-write/testkit';
import { KEY_LOCK_BUCKETS, outboxTables } from '@dual-write/outbox';
import { blockersSql } from '../src/stores/postgres/outbox-store.ts';
import { migrateForTests } from './helpers.ts';

const lab = useLab({ initSql: migrateForTests });
const tables = outboxTables({});
const ROWS = 20_000;
const SLOTS = 32;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Parent Relationship'?: string;
  'Subplan Name'?: string;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/**
 * Scans of the outbox that a nested loop of the outer query (the join with pg_locks, whose row count the planner
 * cannot know) may run again for each of its outer rows. A CTE's plan runs once; what it joins inside is its own.
 */
function rescannedOutboxScans(node: PlanNode, onInnerSide = false): number {
  if (node['Subplan Name']?.startsWith('CTE ')) return 0;
  const own = node['Relation Name'] === 'outbox' && onInnerSide ? 1 : 0;
  return (
    own +
    (node.Plans ?? []).reduce(
      (n, child) => n + rescannedOutboxScans(child, onInnerSide || (node['Node Type'] === 'Nested Loop' && child['Parent Relationship'] === 'Inner')),
      0,
    )
  );
}

function outboxScanLoops(node: PlanNode): number {
  const own = node['Relation Name'] === 'outbox' ? (node['Actual Loops'] ?? 0) : 0;
  return own + (node.Plans ?? []).reduce((n, p) => n + outboxScanLoops(p), 0);
}

describe('blockers() with a transaction holding every key bucket', () => {
  let pool: pg.Pool;
  let gate: pg.PoolClient;
  const params = () => [SLOTS, Array.from({ length: SLOTS }, (_, i) => i), Array.from({ length: KEY_LOCK_BUCKETS }, (_, i) => i), tables.keyLockClass];

  beforeAll(async () => {
    pool = lab.pool({ max: 3 });
    // A backlog (each row its own key), written in one statement.
    await pool.query(
      `insert into outbox (id, aggregatetype, aggregateid, type, payload)
       select gen_random_uuid(), 'item', 'k' || i, 'ItemWritten', jsonb_build_object('n', i) from generate_series(1, $1::int) i`,
      [ROWS],
    );
    await pool.query('analyze outbox');
    // A transaction holding all buckets, as a writer touching every key would (migration 000002's lock).
    gate = await pool.connect();
    await gate.query('begin');
    await gate.query('select count(pg_advisory_xact_lock_shared($1::int, b)) from generate_series(0, $2::int - 1) b', [tables.keyLockClass, KEY_LOCK_BUCKETS]);
  });

  afterAll(async () => {
    await gate?.query('rollback');
    gate?.release();
    await pool?.end();
  });

  /** The plan of the question, with nested loops forced or not (planner settings local to one transaction). */
  async function plan(variant: 'materialized' | 'inlined', nestedLoopsOnly: boolean, analyze = false): Promise<PlanNode> {
    const client = await pool.connect();
    try {
      await client.query('begin');
      if (nestedLoopsOnly) await client.query('set local enable_hashjoin = off; set local enable_mergejoin = off');
      const { rows } = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
        `explain (format json${analyze ? ', analyze' : ''}) ${blockersSql(tables, variant)}`,
        params(),
      );
      return rows[0]!['QUERY PLAN'][0]!.Plan;
    } finally {
      await client.query('rollback');
      client.release();
    }
  }

  it('names the holder of every held row and scans the outbox once', async () => {
    const gatePid = (await gate.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    const { rows } = await pool.query<{ pid: number; rows: number }>(blockersSql(tables), params());
    expect(rows).toEqual([expect.objectContaining({ pid: gatePid, rows: ROWS })]);
    const loops = outboxScanLoops(await plan('materialized', false, true));
    expect(loops).toBeGreaterThanOrEqual(1);
    expect(loops).toBeLessThanOrEqual(3); // the leader and up to two parallel workers
  });

  it('keeps the scan of the outbox out of any nested loop, even when the planner may only choose nested loops', async () => {
    expect(rescannedOutboxScans(await plan('materialized', false))).toBe(0);
    expect(rescannedOutboxScans(await plan('materialized', true))).toBe(0);
  });

  it('negative control: inlined, a nested loop runs the scan of the outbox again for every lock', async () => {
    expect(rescannedOutboxScans(await plan('inlined', true))).toBeGreaterThan(0);
  });
});
