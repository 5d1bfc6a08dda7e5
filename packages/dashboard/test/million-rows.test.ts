/**
 * A million outbox rows (one INSERT … generate_series, in this file's scratch database): the dashboard stays
 * usable because it never counts them. Asserted on what runs, not on a stopwatch: every statement the summary and
 * the first page of each list send is recorded; none counts the outbox (the backlog is the planner's estimate,
 * shown ≈, and per-topic counts come from pg_stats); the oldest row is read through the index on `position`; the
 * parked-keys count through the partial index on failing rows; and a page of dead letters through keyset, each
 * plan checked with EXPLAIN. A count(*) measured in the same run is printed next to the summary's time.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { migrateOutbox } from '@dual-write/outbox';
import { countRows, createDashboard, type Dashboard } from '../src/index.ts';
import { serve } from './helpers.ts';

const ROWS = 1_000_000;
const lab = useLab({ initSql: (c) => migrateOutbox(c).then(() => undefined) });
const statements: string[] = [];
let pool: pg.Pool;
let srv: { url: string; close(): Promise<void> };
let dashboard: Dashboard;

beforeAll(async () => {
  const setup = lab.pool({ max: 1 });
  const t0 = Date.now();
  // A scratch database: the per-row key-lock trigger is left out of this bulk load (it only matters to the relay's read).
  await setup.query('alter table outbox disable trigger user');
  await setup.query(`
    insert into outbox (id, aggregatetype, aggregateid, type, payload, created_at)
    select gen_random_uuid(), case when i % 10 = 0 then 'invoice' else 'order' end, 'key-' || (i % 50000), 'Created', '{"n":1}'::jsonb,
           now() - interval '1 hour' + i * interval '1 ms'
    from generate_series(1, ${ROWS}) i`);
  await setup.query('alter table outbox enable trigger user');
  await setup.query('analyze outbox');
  console.log(`[million] inserted and analyzed ${ROWS} rows in ${Date.now() - t0} ms`);
  pool = lab.pool({ max: 3 });
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    statements.push(typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string }).text));
    return query(...args);
  };
  dashboard = createDashboard({ database: pool, basePath: '/d', topicFor: { invoice: 'invoices' }, migrate: false });
  srv = await serve(dashboard);
}, 300_000);

afterAll(async () => {
  await srv?.close();
});

const api = async (path: string) => (await fetch(`${srv.url}api/${path}`)).json() as Promise<Record<string, unknown>>;
const plan = async (sql: string, values: unknown[] = []) => JSON.stringify((await pool.query(`explain (format json) ${sql}`, values)).rows[0]['QUERY PLAN']);

describe('a million outbox rows', () => {
  it('summary, topics and the first page of each list never count the outbox', async () => {
    statements.length = 0;
    const t0 = performance.now();
    const summary = (await api('summary')) as { backlog: { rows: number; exact: boolean; method: string }; oldestAgeSeconds: number };
    const summaryMs = performance.now() - t0;
    const topics = (await api('topics')) as { method: string; exact: boolean; topics: { topic: string; rows: number }[] };
    const parked = (await api('parked?limit=50')) as { items: unknown[]; waitingCounted: boolean };
    const dead = (await api('dead-letters?limit=50')) as { items: unknown[] };

    expect(summary.backlog.exact).toBe(false);
    expect(summary.backlog.method).toBe('planner-estimate');
    expect(Math.abs(summary.backlog.rows - ROWS) / ROWS).toBeLessThan(0.1);
    expect(summary.oldestAgeSeconds).toBeGreaterThan(3000);
    expect(topics.method).toBe('statistics');
    const byTopic = Object.fromEntries(topics.topics.map((t) => [t.topic, t.rows]));
    expect(byTopic.invoices! / ROWS).toBeCloseTo(0.1, 1);
    expect(byTopic['outbox.event.order']! / ROWS).toBeCloseTo(0.9, 1);
    expect(parked).toMatchObject({ items: [], waitingCounted: false });
    expect(dead.items).toEqual([]);

    // What ran: no count over the outbox (a bounded count only ever runs on a table estimated small).
    const countsOutbox = () => statements.filter((s) => /count\(\*\)/i.test(s) && /from "public"\."outbox"(?!_)/.test(s) && !/next_attempt_at > now\(\)/.test(s));
    expect(countsOutbox()).toEqual([]);
    // Negative control: with the exact-count limit above the table's size, the same recorder does see the count.
    const counted = await countRows(pool, '"public"."outbox"', 2_000_000);
    expect(counted).toEqual({ rows: ROWS, exact: true, method: 'count' });
    expect(countsOutbox()).toHaveLength(1);
    expect(statements.some((s) => s.startsWith('explain (format json) select 1 from "public"."outbox"'))).toBe(true);

    // The plans of what did run.
    const oldest = await plan('select created_at from "public"."outbox" order by position limit 1');
    expect(oldest).toContain('"Index Name":"outbox_position_key"');
    const parkedCount = await plan('select count(*) from (select aggregatetype, aggregateid from "public"."outbox" where next_attempt_at > now() union select aggregatetype, aggregateid from "public"."outbox_dead_letters") k');
    expect(parkedCount).toContain('"Index Name":"outbox_failing_key_idx"');
    expect(parkedCount).not.toContain('"Node Type":"Seq Scan","Parent Relationship":"Outer","Parallel Aware":false,"Async Capable":false,"Relation Name":"outbox"');

    const c0 = performance.now();
    await pool.query('select count(*) from outbox');
    const countMs = performance.now() - c0;
    console.log(`[million] summary ${summaryMs.toFixed(0)} ms (${summary.backlog.rows} ≈ rows), one count(*) ${countMs.toFixed(0)} ms — ratio ${(summaryMs / countMs).toFixed(2)}`);
  });
});
