/**
 * Scale-out: the drain rate with 1, 2 and 3 relay instances (child processes: each its own Node process, as
 * deployed) on the same backlog. Every payload carries `seq`, its per-key sequence in commit order; after each
 * run the project's auditor checks per-key order (json:seq grouped by key), loss and duplicates.
 *
 * The clock starts when every instance is ready: a "gate" transaction is opened before the backlog is
 * written, so the relays hold every backlog row back (none is published behind an older open transaction)
 * while they start and share the slots; committing the gate releases them all at once.
 */
import type { BenchSection, SectionContext, SectionResult } from '../types.ts';
import { auditTopic, fmtRate, fmtRatio, openScratch, ratio, round, waitForMessages, writeBacklog } from '../lib/common.ts';
import { killAllRelayChildren, openGate, startRelayChild, waitSlotsSettled, type RelayChild } from '../lib/relay-process.ts';
import { drainWorkload } from './drain.ts';

export const INSTANCE_COUNTS = [1, 2, 3] as const;

interface ScaleRun {
  instances: number;
  messages: number;
  seconds: number;
  msgsPerSec: number;
  slotShares: number[];
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
        const shares = await waitSlotsSettled(scratch.url, instances);
        const t0 = performance.now();
        await gate.commit();
        const t1 = await waitForMessages(scratch.admin, topic, w.rows, 900_000, (l) => say(`  ${l}`));
        const seconds = (t1 - t0) / 1000;
        await Promise.all(relays.map((r) => r.stop()));
        const audit = await auditTopic(scratch, topic, 'json:seq');
        runs.push({ instances, messages: w.rows, seconds, msgsPerSec: w.rows / seconds, slotShares: shares, audit });
        say(`  ${fmtRate(w.rows / seconds)} msg/s (slots ${shares.join('/')}); audit: lost ${audit.lost}, duplicates ${audit.duplicates}, order violations ${audit.orderViolations}`);
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
      headers: ['instances', 'msg/s', '÷ 1 instance', 'seconds', 'slots per instance', 'lost', 'duplicates', 'order violations'],
      rows: runs.map((r) => [r.instances, fmtRate(r.msgsPerSec), fmtRatio(ratio(r.msgsPerSec, one.msgsPerSec)), r.seconds.toFixed(2), r.slotShares.join('/'), r.audit.lost, r.audit.duplicates, r.audit.orderViolations]),
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
      `${w.rows.toLocaleString('en-US')}-row backlog, ${w.keys} keys, ~${w.payloadBytes} B payload, ${w.partitions} partitions, batch ${batchSize}; each instance is a separate Node process (services/relay/src/main.ts) on direct connections; the ${runs[0]?.slotShares.reduce((a, b) => a + b, 0) ?? 32} key-hash slots are shared out among them.`,
      'Timed from the commit of the gate transaction (every instance started and settled on its slots) until every message is on the topic (high watermarks).',
      'Audited per run with packages/audit: black holes (lost), duplicates, and per-key order by the payload\'s `seq` (grouped by key). Lost in the summary counts order violations too.',
      'On a 2-core machine the instances share the cores with PostgreSQL and Kafka: more instances can only help while the relay itself (not the database or the broker) is the bottleneck.',
    ],
    lost,
  };
}

export const scaleOutSection: BenchSection = { id: 'scale-out', title: 'Scale-out: 1, 2 and 3 relay instances on one backlog', run };
