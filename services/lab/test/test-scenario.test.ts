/**
 * The lab's promise: every failure scenario reproduces its damage for real, every time, as measured by the
 * independent audit — and the same fault against the outbox strategy leaves everything consistent, with
 * exactly one effect per order downstream. Each runs three times in a row; no toxic is left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '@dual-write/config';
import type { ScenarioReport } from '@dual-write/order-service/lab';
import { useLab } from '@dual-write/testkit';
import { dropDatabaseAndTopic, runScenarios } from '../src/index.ts';

const lab = useLab({ database: false });
const config = resolveConfig({ FAULT_INJECTION: true });
const names = () => ({ database: `s_${lab.id}`.slice(0, 63), topic: `t.${lab.id}.scenarios` });
let reports: ScenarioReport[] = [];

beforeAll(async () => {
  ({ reports } = await runScenarios({ config, repeat: 3, ...names() }));
}, 600_000);

afterAll(async () => {
  const { database, topic } = names();
  expect(await dropDatabaseAndTopic(config, database, topic)).toBeUndefined();
});

const runs = (strategy: string, scenario: string, variant?: string) => {
  const r = reports.filter((x) => x.strategy === strategy && x.scenario === scenario && x.variant === variant);
  expect(r).toHaveLength(3);
  return r;
};
type Effects = { shipments: { outcome: string }[]; invoices: { outcome: string }[] };

describe('test-scenario, naive strategies: the damage, every time', () => {
  it('kind=db: one ghost message per run; the order is not in the database; shipping called back and got 404', () => {
    for (const r of runs('naive', 'db')) {
      expect(r.audit!.ghosts).toHaveLength(1);
      expect(r.audit!.blackHoles).toEqual([]);
      expect(r.findings).toMatchObject({ orderInDb: false, messageInKafka: true, shippingCallbackStatus: 404 });
    }
  });

  it('kind=mq (broker cut and SIGKILL): one black hole per run; the order is committed, no message, no effect', () => {
    for (const variant of ['broker', 'crash']) {
      for (const r of runs('naive-after-commit', 'mq', variant)) {
        expect(r.audit!.blackHoles).toHaveLength(1);
        expect(r.audit!.ghosts).toEqual([]);
        expect(r.findings).toMatchObject({ orderInDb: true, messageInKafka: false, downstreamEffects: 0 });
      }
    }
  });

  it('kind=early: the message outruns its commit — the order is committed, but shipping and billing looked first, got 404 and will never act on it; the audit counts it premature, not a ghost', () => {
    for (const r of runs('naive', 'early')) {
      expect(r.audit!.premature).toHaveLength(1);
      expect(r.audit!.premature[0]!.leadMs).toBeGreaterThan(0);
      expect(r.audit!.ghosts).toEqual([]);
      expect(r.audit!.blackHoles).toEqual([]);
      expect(r.findings).toMatchObject({ orderInDb: true, messageInKafka: true, shippingCallbackStatus: 404, prematureEffects: 2, neverShipped: true });
      expect((r.findings as { callbacksBeforeCommit: number }).callbacksBeforeCommit).toBeGreaterThanOrEqual(2);
      const e = (r.findings as { effects: Effects }).effects;
      expect(e.shipments.map((x) => x.outcome)).toEqual(['ghost']);
      expect(e.invoices.map((x) => x.outcome)).toEqual(['ghost']);
      expect(r.damage).toBe(true);
    }
  });

  it('kind=pool: unrelated endpoints fail with DW_DB_POOL_EXHAUSTED; the hostage-connection detector caught the transactions held across the slow send', () => {
    for (const r of runs('naive', 'pool')) {
      const f = r.findings as { unrelated: { failed: number; errors: Record<string, number> }; latencyMs: number; hostageConnections: { reports: number; inTransaction: number; minHeldMs: number } };
      expect(f.unrelated.failed).toBeGreaterThan(0);
      expect(Object.keys(f.unrelated.errors)).toContain('DW_DB_POOL_EXHAUSTED');
      expect(f.hostageConnections.reports).toBeGreaterThan(0);
      expect(f.hostageConnections.inTransaction).toBe(f.hostageConnections.reports);
      expect(f.hostageConnections.minHeldMs).toBeGreaterThanOrEqual(f.latencyMs);
    }
  });
});

describe('test-scenario, outbox strategy: the same faults, nothing lost, nothing invented', () => {
  it('kind=db: order and outbox row roll back together — no message, no ghost, no effect', () => {
    for (const r of runs('outbox', 'db')) {
      expect(r.audit!.ghosts).toEqual([]);
      expect(r.findings).toMatchObject({ orderInDb: false, outboxRow: false, messageInKafka: false });
      const e = (r.findings as { effects: Effects }).effects;
      expect(e.shipments.length + e.invoices.length).toBe(0);
      expect(r.damage).toBe(false);
    }
  });

  it('kind=mq (broker cut and SIGKILL): the event waits in the outbox, is delivered, and shipped and invoiced exactly once', () => {
    for (const variant of ['broker', 'crash']) {
      for (const r of runs('outbox', 'mq', variant)) {
        expect(r.audit!.blackHoles).toEqual([]);
        expect(r.audit!.ghosts).toEqual([]);
        expect(r.findings).toMatchObject({ orderInDb: true, messageInKafka: true, deliveredAfterMs: expect.any(Number) });
        if (variant === 'broker') expect((r.findings as { waitingInOutbox: number }).waitingInOutbox).toBe(1);
        const e = (r.findings as { effects: Effects }).effects;
        expect(e.shipments.map((x) => x.outcome)).toEqual(['shipped']);
        expect(e.invoices.map((x) => x.outcome)).toEqual(['invoiced']);
      }
    }
  });

  it('kind=pool: orders and unrelated endpoints keep succeeding; the backlog drains after the latency is lifted', () => {
    for (const r of runs('outbox', 'pool')) {
      const f = r.findings as { orders: { failed: number; ok: number }; unrelated: { failed: number; ok: number }; backlogDrainMs: number | null };
      expect(f.orders.failed).toBe(0);
      expect(f.unrelated.failed).toBe(0);
      expect(f.unrelated.ok).toBeGreaterThan(0);
      expect(f.backlogDrainMs).toEqual(expect.any(Number));
      expect((r.findings as { hostageConnections: { reports: number } }).hostageConnections.reports).toBe(0);
      expect(r.audit!.blackHoles).toEqual([]);
      expect(r.audit!.ghosts).toEqual([]);
    }
  });

  it('kind=early: the same further work before COMMIT — nobody can read the event until the order is committed: no premature message, shipped and invoiced once', () => {
    for (const r of runs('outbox', 'early')) {
      expect(r.audit!.prematureChecked).toBe(true);
      expect(r.audit!.premature).toEqual([]);
      expect(r.audit!.ghosts).toEqual([]);
      expect(r.audit!.blackHoles).toEqual([]);
      expect(r.findings).toMatchObject({ orderInDb: true, messageInKafka: true, callbacksBeforeCommit: 0, prematureEffects: 0, neverShipped: false, shippingCallbackStatus: 200 });
      const e = (r.findings as { effects: Effects }).effects;
      expect(e.shipments.map((x) => x.outcome)).toEqual(['shipped']);
      expect(e.invoices.map((x) => x.outcome)).toEqual(['invoiced']);
      expect(r.damage).toBe(false);
    }
  });

  it('leaves no toxic behind', async () => {
    for (const r of reports) expect(r.toxicsLeft).toEqual({ postgres: [], kafka: [] });
    expect(await lab.toxics.list('postgres')).toEqual([]);
    expect(await lab.toxics.list('kafka')).toEqual([]);
    expect((await lab.toxics.proxy('kafka')).enabled).toBe(true);
  });
});

describe('test-scenario with the consumers retrying a 404 (NOT_FOUND_RETRY_MS): a mitigation, not a fix', () => {
  const retryConfig = resolveConfig({ FAULT_INJECTION: true, NOT_FOUND_RETRY_MS: 3000 });
  const retryNames = () => ({ database: `r_${lab.id}`.slice(0, 63), topic: `t.${lab.id}.retry404` });
  let retried: ScenarioReport[] = [];

  beforeAll(async () => {
    ({ reports: retried } = await runScenarios({ config: retryConfig, only: ['early', 'db'], strategies: ['naive'], ...retryNames() }));
  }, 300_000);

  afterAll(async () => {
    const { database, topic } = retryNames();
    expect(await dropDatabaseAndTopic(config, database, topic)).toBeUndefined();
  });

  it('kind=early: the consumers looked before the COMMIT, retried the 404 and found the order — shipped and invoiced', () => {
    const r = retried.find((x) => x.scenario === 'early')!;
    expect((r.findings as { callbacksBeforeCommit: number }).callbacksBeforeCommit).toBeGreaterThanOrEqual(2);
    expect(r.audit!.premature).toHaveLength(1); // the message still outran its commit
    const e = (r.findings as { effects: Effects }).effects;
    expect(e.shipments.map((x) => x.outcome)).toEqual(['shipped']);
    expect(e.invoices.map((x) => x.outcome)).toEqual(['invoiced']);
    expect(r.findings).toMatchObject({ neverShipped: false, prematureEffects: 0 });
    expect(r.summary).toMatch(/^rescued/);
  });

  it('kind=db: a true zombie stays a ghost — the retry only postpones the 404 verdict', () => {
    const r = retried.find((x) => x.scenario === 'db')!;
    expect(r.audit!.ghosts).toHaveLength(1);
    expect(r.findings).toMatchObject({ orderInDb: false, shippingCallbackStatus: 404 });
    expect(r.damage).toBe(true);
  });
});
