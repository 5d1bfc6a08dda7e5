/**
 * The audit CLI's flags that change what it does rather than where it looks — --limit, --group-by and
 * --idle-timeout-ms do what --help says — and its throwaway consumer group: there while it reads, deleted
 * afterwards, after a failed read too.
 */
import { spawn } from 'node:child_process';
import type { Kafka } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DwError } from '@dual-write/config';
import { useLab } from '@dual-write/testkit';
import { formatReport, runAudit } from '../src/index.ts';
import { parseCliArgs } from '../src/args.ts';
import { ordersTable, produce } from './fixtures.ts';

const lab = useLab();

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const root = lab.config.repoRoot;
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/audit/src/cli.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const target = () => ['--database-url', lab.db.url, '--brokers', lab.config.kafka.brokers.join(','), '--table', 'orders', '--grace-ms', '600000', '--entity-id', 'json:orderId'];

/**
 * A kafkajs client that reports the group id of every consumer the audit makes, and whether the broker listed
 * that group just before the consumer left. With `stall`, the consumer's first batch is held until the audit
 * disconnects it: from the audit's side, the broker gives nothing, as from a partition that stopped moving.
 */
function watchedKafka(opts: { stall?: boolean } = {}) {
  const kafka = lab.kafka({ clientId: 'audit-watched' });
  const admin = lab.kafka({ clientId: 'audit-watcher' }).admin();
  const seen: { groupId: string; listedWhileReading: boolean; batchesHeld: number }[] = [];
  const groups = async () => (await admin.listGroups()).groups.map((g) => g.groupId);
  const watched = new Proxy(kafka, {
    get(target, prop, receiver) {
      if (prop !== 'consumer') return Reflect.get(target, prop, receiver);
      return (config: Parameters<Kafka['consumer']>[0]) => {
        const consumer = target.consumer(config);
        const entry = { groupId: config.groupId, listedWhileReading: false, batchesHeld: 0 };
        seen.push(entry);
        let release = () => {};
        const released = new Promise<void>((r) => (release = r));
        if (opts.stall) {
          const run = consumer.run.bind(consumer);
          consumer.run = (runConfig) =>
            run({
              ...runConfig,
              eachBatch: async (payload) => {
                entry.batchesHeld++;
                await released;
                await runConfig!.eachBatch!(payload);
              },
            });
        }
        const disconnect = consumer.disconnect.bind(consumer);
        consumer.disconnect = async () => {
          entry.listedWhileReading = (await groups()).includes(config.groupId);
          release();
          return disconnect();
        };
        return consumer;
      };
    },
  });
  return { kafka: watched, admin, seen, groups };
}

let topic = '';

beforeAll(async () => {
  await ordersTable(lab, 'orders', [{ id: 'o-1' }, { id: 'o-2' }]);
  topic = await lab.topic('flags', 1);
  // One partition: o-1 and o-2 belong to account A, their sequence goes down (2 then 1) — an order violation per
  // account, none per key (each key appears once). Three ghosts, each of an account of its own.
  await produce(lab, topic, [
    { partition: 0, key: 'o-1', value: { orderId: 'o-1', account: 'A', seq: 2 }, headers: { id: 'e-1' } },
    { partition: 0, key: 'o-2', value: { orderId: 'o-2', account: 'A', seq: 1 }, headers: { id: 'e-2' } },
    ...[1, 2, 3].map((i) => ({ partition: 0, key: `ghost-${i}`, value: { orderId: `ghost-${i}`, account: `G${i}`, seq: 1 }, headers: { id: `e-g${i}` } })),
  ]);
});

describe('--limit and --group-by', () => {
  it('--limit 1 lists one entry per finding and says how many more (counts stay complete); --group-by json:account groups the order check', async () => {
    const r = await cli([...target(), '--topic', topic, '--sequence', 'json:seq', '--group-by', 'json:account', '--limit', '1']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/ghosts\s+3/);
    const ghostRows = r.stdout.split('\n').filter((l) => /^\s+ghost-\d\s/.test(l));
    expect(ghostRows).toHaveLength(1);
    expect(r.stdout).toContain('  … and 2 more (--json lists them all)');
    expect(r.stdout).toMatch(/order violations\s+1\s+messages whose json:seq is lower than the previous one of the same json:account/);
    expect(r.stdout).toContain('sequence json:seq per json:account');
  });

  it('without them: the default limit (20) lists every ghost, and grouped by key (the default) there is no order violation', async () => {
    const args = parseCliArgs([...target(), '--topic', topic, '--sequence', 'json:seq']);
    expect(args.limit).toBe(20);
    const report = await runAudit(args.options, { kafka: lab.kafka({ clientId: 'audit-defaults' }) });
    expect(report.counts).toMatchObject({ ghosts: 3, orderViolations: 0 });
    const text = formatReport(report, { limit: args.limit });
    expect(text.split('\n').filter((l) => /^\s+ghost-\d\s/.test(l))).toHaveLength(3);
    expect(text).not.toContain('more (--json lists them all)');
  });
});

describe('--idle-timeout-ms', () => {
  it('gives up with DW_AUDIT_UNREACHABLE when reading makes no progress that long, naming the partition it is stuck on', async () => {
    const args = parseCliArgs([...target(), '--topic', topic, '--idle-timeout-ms', '700']);
    expect(args.options.idleTimeoutMs).toBe(700);
    const w = watchedKafka({ stall: true });
    await w.admin.connect();
    try {
      const err = await runAudit(args.options, { kafka: w.kafka }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DwError);
      expect((err as DwError).code).toBe('DW_AUDIT_UNREACHABLE');
      expect((err as DwError).message).toBe(`Reading topic "${topic}" from ${lab.config.kafka.brokers.join(',')} made no progress for 700 ms; partitions not finished: 0 (at offset 0 of 5).`);
      expect((err as DwError).hint).toContain('--idle-timeout-ms');
      expect(w.seen[0]!.batchesHeld).toBe(1); // the one batch the broker handed over, held: nothing moved after it
      // The throwaway group was there while it read, and is deleted after the failed read too.
      expect(w.seen[0]!.listedWhileReading).toBe(true);
      expect(await w.groups()).not.toContain(w.seen[0]!.groupId);
    } finally {
      await w.admin.disconnect();
    }
  });
});

describe('the throwaway consumer group', () => {
  it('exists while the audit reads and is deleted afterwards', async () => {
    const w = watchedKafka();
    await w.admin.connect();
    try {
      const report = await runAudit(parseCliArgs([...target(), '--topic', topic]).options, { kafka: w.kafka });
      expect(report.counts.messages).toBe(5);
      expect(w.seen).toHaveLength(1);
      expect(w.seen[0]!.groupId).toMatch(/^dual-write-audit-[0-9a-f-]{36}$/);
      expect(w.seen[0]!.listedWhileReading).toBe(true);
      expect(await w.groups()).not.toContain(w.seen[0]!.groupId);
    } finally {
      await w.admin.disconnect();
    }
  });
});
