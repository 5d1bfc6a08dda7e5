/**
 * The lab's promise: every failure scenario reproduces its damage for real, every time, as measured by the
 * independent audit — and leaves no toxic behind. Runs the brief's URLs three times in a row.
 */
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveConfig, withDatabase } from '@dual-write/config';
import { useLab } from '@dual-write/testkit';
import { runScenarios } from '../src/index.ts';

const lab = useLab({ database: false });
const config = resolveConfig({ FAULT_INJECTION: true });
const names = () => ({ database: `s_${lab.id}`.slice(0, 63), topic: `t.${lab.id}.scenarios` });

afterAll(async () => {
  const { database, topic } = names();
  const admin = new pg.Client({ connectionString: withDatabase(config.database.url, 'postgres') });
  await admin.connect();
  await admin.query(`drop database if exists "${database}" with (force)`);
  await admin.end();
  const k = new Kafka({ clientId: 'cleanup', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
  await k.connect();
  await k.deleteTopics({ topics: [topic] }).catch(() => {});
  await k.disconnect();
});

describe('test-scenario (naive strategies)', () => {
  it('reproduces each failure three times in a row, as the audit measures it, and leaves no toxic behind', async () => {
    const { reports, rows } = await runScenarios({ config, repeat: 3, ...names() });
    expect(reports).toHaveLength(12);
    const by = (scenario: string, variant?: string) => reports.filter((r) => r.scenario === scenario && r.variant === variant);

    for (const r of by('db')) {
      expect(r.audit!.ghosts).toHaveLength(1);
      expect(r.audit!.blackHoles).toEqual([]);
      expect(r.findings).toMatchObject({ orderInDb: false, messageInKafka: true, shippingCallbackStatus: 404 });
    }
    for (const variant of ['broker', 'crash']) {
      const runs = by('mq', variant);
      expect(runs).toHaveLength(3);
      for (const r of runs) {
        expect(r.audit!.blackHoles).toHaveLength(1);
        expect(r.audit!.ghosts).toEqual([]);
        expect(r.findings).toMatchObject({ orderInDb: true, messageInKafka: false, downstreamEffects: 0 });
      }
    }
    for (const r of by('pool')) {
      const f = r.findings as { unrelated: { failed: number; errors: Record<string, number> } };
      expect(f.unrelated.failed).toBeGreaterThan(0);
      expect(Object.keys(f.unrelated.errors)).toContain('DW_DB_POOL_EXHAUSTED');
      expect(r.audit!.ghosts).toEqual([]);
      expect(r.audit!.blackHoles).toEqual([]);
    }
    expect(rows.every((row) => row.damage)).toBe(true);
    for (const r of reports) expect(r.toxicsLeft).toEqual({ postgres: [], kafka: [] });
    expect(await lab.toxics.list('postgres')).toEqual([]);
    expect(await lab.toxics.list('kafka')).toEqual([]);
    expect((await lab.toxics.proxy('kafka')).enabled).toBe(true);
  });
});
