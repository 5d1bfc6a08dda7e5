/**
 * Scale-out: the drain rate with 1, 2, 3 and 4 relay instances (child processes: each its own Node process, as
 * deployed) on the same backlog — on the single broker, or with KAFKA_NODES=3 on the 3-node cluster (topics with
 * replication factor 3, min.insync.replicas 2). For each point the CPU the relays, PostgreSQL and Kafka used over the
 * drain says what limits it. Every payload carries `seq`, its per-key sequence in commit order; after each
 * run the project's auditor checks per-key order (json:seq grouped by key), loss and duplicates.
 *
 * The clock starts when every instance is ready: a "gate" transaction is opened before the backlog is
 * written, so the relays hold every backlog row back (none is published behind an older open transaction)
 * while they start and share the slots; committing the gate releases them all at once.
 */
import os from 'node:os';
import type { BenchSection, SectionContext, SectionResult } from '../types.ts';
import { cpuBetween, sampleCpu, type CpuTarget, type CpuUse } from '../lib/cpu-window.ts';
import { isLinuxProc, pidListeningOn } from '../lib/proc.ts';
import { auditTopic, config, fmtRate, fmtRatio, openScratch, ratio, round, waitForMessages, writeBacklog } from '../lib/common.ts';
import { killAllRelayChildren, openGate, startRelayChild, waitSlotsSettled, type RelayChild } from '../lib/relay-process.ts';
import { drainWorkload } from './drain.ts';

export const INSTANCE_COUNTS = [1, 2, 3, 4] as const;

/** CPU over one drain: cores kept busy on average, per part, and the whole machine's. */
interface PointCpu {
  relays: number;
  postgres: number;
  kafka: number;
  /** This benchmark process (it polls the topic's offsets until every message is there). */
  bench: number;
  machine: number;
  /** The part closest to what it can use (the relays: one core each; the machine: every core), e.g. "machine (1.9 of 2 cores)". */
  limit: string;
}

function cpuTargets(relays: RelayChild[]): CpuTarget[] {
  if (!isLinuxProc()) return [];
  const pgPid = pidListeningOn(Number(new URL(config.database.url).port || 5432));
  return [
    ...relays.map((r, i) => ({ name: `relay-${i + 1}`, pid: r.pid })),
    { name: 'postgres', pid: pgPid, tree: true },
    ...config.kafka.nodes.map((n) => ({ name: `kafka-${n.id}`, pid: pidListeningOn(n.directPort) })),
    { name: 'bench', pid: process.pid },
    { name: 'machine', pid: undefined, machine: true },
  ];
}

function pointCpu(use: CpuUse[], instances: number): PointCpu | undefined {
  if (use.length === 0) return undefined;
  const sum = (prefix: string) => use.filter((u) => u.process.startsWith(prefix)).reduce((n, u) => n + u.cores, 0);
  const cores = os.cpus().length;
  const relays = sum('relay-');
  const c = { relays, postgres: sum('postgres'), kafka: sum('kafka-'), bench: sum('bench'), machine: sum('machine') };
  const other = Math.max(0, c.machine - c.relays - c.postgres - c.kafka - c.bench);
  // What is nearest its ceiling: the machine's cores, or a relay instance's single core (a Node process).
  const busiestRelay = Math.max(0, ...use.filter((u) => u.process.startsWith('relay-')).map((u) => u.cores));
  const machineShare = c.machine / cores;
  const limit =
    machineShare >= 0.85
      ? `the machine (${c.machine.toFixed(1)} of ${cores} cores busy: relays ${c.relays.toFixed(2)}, PostgreSQL ${c.postgres.toFixed(2)}, Kafka ${c.kafka.toFixed(2)}, this benchmark ${c.bench.toFixed(2)}, other ${other.toFixed(2)})`
      : busiestRelay >= 0.85
        ? `a relay's single core (${busiestRelay.toFixed(2)} of 1, ${instances} instance${instances > 1 ? 's' : ''})`
        : `latency, not CPU (machine ${c.machine.toFixed(1)} of ${cores} cores)`;
  return { ...c, limit };
}

interface ScaleRun {
  instances: number;
  messages: number;
  seconds: number;
  msgsPerSec: number;
  slotShares: number[];
  cpu: PointCpu | undefined;
  audit: { rows: number; messages: number; lost: number; duplicates: number; ghosts: number; orderViolations: number };
}

async function run(ctx: SectionContext): Promise<SectionResult> {
  const say = ctx.progress;
  const w = drainWorkload(ctx.quick);
  const batchSize = 500;
  const runs: ScaleRun[] = [];
  const scratch = await openScratch('scale');
  try {
    for (const instances of INSTANCE_COUNTS) {
      say(`scale-out: ${instances} relay instance${instances > 1 ? 's' : ''} — writing a ${w.rows}-row backlog behind a gate…`);
      await scratch.reset();
      const topic = await scratch.topic(`n${instances}`, w.partitions);
      const gate = await openGate(scratch.url);
      const relays: RelayChild[] = [];
      try {
        await writeBacklog(scratch.url, w, say);
        for (let i = 0; i < instances; i++) relays.push(startRelayChild({ databaseUrl: scratch.url, topic, batchSize }));
        await Promise.all(relays.map((r) => r.waitStarted()));
        // With a large backlog held back by the gate, each relay's reads scan it and find nothing to publish: the
        // instances hand slots over between those reads, which takes longer than on a small backlog.
        const shares = await waitSlotsSettled(scratch.url, instances, undefined, ctx.quick ? 30_000 : 180_000);
        const targets = cpuTargets(relays);
        const before = sampleCpu(targets);
        const t0 = performance.now();
        await gate.commit();
        const t1 = await waitForMessages(scratch.admin, topic, w.rows, 900_000, (l) => say(`  ${l}`));
        const seconds = (t1 - t0) / 1000;
        const cpu = pointCpu(cpuBetween(targets, before, sampleCpu(targets), seconds), instances);
        await Promise.all(relays.map((r) => r.stop()));
        const audit = await auditTopic(scratch, topic, 'json:seq');
        runs.push({ instances, messages: w.rows, seconds, msgsPerSec: w.rows / seconds, slotShares: shares, cpu, audit });
        say(`  ${fmtRate(w.rows / seconds)} msg/s (slots ${shares.join('/')}); limit: ${cpu?.limit ?? 'CPU not measured here'}; audit: lost ${audit.lost}, duplicates ${audit.duplicates}, order violations ${audit.orderViolations}`);
      } finally {
        await gate.close();
        await Promise.all(relays.map((r) => r.stop()));
      }
    }
  } catch (err) {
    killAllRelayChildren();
    throw err;
  } finally {
    await scratch.close();
  }
  const one = runs.find((r) => r.instances === 1)!;
  const lost = runs.reduce((n, r) => n + r.audit.lost + r.audit.orderViolations, 0);
  return {
    id: 'scale-out',
    title: scaleOutSection.title,
    table: {
      headers: ['instances', 'msg/s', '÷ 1 instance', 'seconds', 'slots per instance', 'cores: relays / PostgreSQL / Kafka / bench / machine', 'what limits it', 'lost', 'duplicates', 'order violations'],
      rows: runs.map((r) => [
        r.instances,
        fmtRate(r.msgsPerSec),
        fmtRatio(ratio(r.msgsPerSec, one.msgsPerSec)),
        r.seconds.toFixed(2),
        r.slotShares.join('/'),
        r.cpu ? [r.cpu.relays, r.cpu.postgres, r.cpu.kafka, r.cpu.bench, r.cpu.machine].map((x) => x.toFixed(2)).join(' / ') : '—',
        r.cpu?.limit ?? '—',
        r.audit.lost,
        r.audit.duplicates,
        r.audit.orderViolations,
      ]),
    },
    ratios: runs.filter((r) => r.instances > 1).map((r) => ({
      name: `scale-out: ${r.instances} instances ÷ 1`,
      measured: `${fmtRate(r.msgsPerSec)} msg/s`,
      reference: `${fmtRate(one.msgsPerSec)} msg/s`,
      value: ratio(r.msgsPerSec, one.msgsPerSec),
    })),
    charts: [
      {
        file: 'scale-out.svg',
        spec: {
          title: `Drain rate vs relay instances (${w.rows.toLocaleString('en-US')} rows)`,
          data: { values: runs.map((r) => ({ instances: r.instances, msgsPerSec: round(r.msgsPerSec), ratio: fmtRatio(ratio(r.msgsPerSec, one.msgsPerSec)) })) },
          layer: [
            { mark: { type: 'bar' }, encoding: { x: { field: 'instances', type: 'ordinal', title: 'relay instances (processes)' }, y: { field: 'msgsPerSec', type: 'quantitative', title: 'messages / s' } } },
            { mark: { type: 'text', dy: -8 }, encoding: { x: { field: 'instances', type: 'ordinal' }, y: { field: 'msgsPerSec', type: 'quantitative' }, text: { field: 'ratio', type: 'nominal' } } },
          ],
        },
      },
    ],
    data: { workload: w, batchSize, runs },
    notes: [
      `Kafka: ${config.kafka.nodeCount === 3 ? 'the 3-node cluster (KAFKA_NODES=3): topic replication factor 3, min.insync.replicas 2, acks=all' : 'one broker (replication factor 1); KAFKA_NODES=3 npm run bench -- --only scale-out runs it on the 3-node cluster'}.`,
      'CPU: cores kept busy on average over the drain (/proc): the relays together, PostgreSQL with its backends, the Kafka JVM(s), this benchmark process (it polls the topic’s offsets), and the whole machine (other: the rest — the kernel, Toxiproxy, anything else running); "what limits it" names the machine when ≥ 85 % of its cores were busy, else a relay when its one core was ≥ 85 % busy, else latency (round trips), not CPU.',
      `${w.rows.toLocaleString('en-US')}-row backlog, ${w.keys} keys, ~${w.payloadBytes} B payload, ${w.partitions} partitions, batch ${batchSize}; each instance is a separate Node process (services/relay/src/main.ts) on direct connections; the ${runs[0]?.slotShares.reduce((a, b) => a + b, 0) ?? 32} key-hash slots are shared out among them.`,
      'Timed from the commit of the gate transaction (every instance started and settled on its slots) until every message is on the topic (high watermarks).',
      'Audited per run with packages/audit: black holes (lost), duplicates, and per-key order by the payload\'s `seq` (grouped by key). Lost in the summary counts order violations too.',
      'On a 2-core machine the instances share the cores with PostgreSQL and Kafka: more instances can only help while the relay itself (not the database or the broker) is the bottleneck.',
    ],
    lost,
  };
}

export const scaleOutSection: BenchSection = { id: 'scale-out', title: 'Scale-out: 1, 2, 3 and 4 relay instances on one backlog', run };
