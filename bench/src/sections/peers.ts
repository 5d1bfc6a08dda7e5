/**
 * Peers: other outbox implementations (bench/src/peers/) on the same box and the same workloads — the drain
 * section's backlog and a steady 500 orders/s — each shown next to our relay measured in the same run, right
 * before the peer, with the peer's own processes already started (so both share the same machine state).
 * A peer that cannot run says why (prepare() → { ok: false, reason }); the report shows the reason.
 */
import type { BenchSection, DrainResult, LatencyResult, Outcome, Peer, SectionContext, SectionResult } from '../types.ts';
import { auditTopic, fmtMs, fmtRate, fmtRatio, openScratch, ratio, writeBacklog } from '../lib/common.ts';
import { relayDrain } from '../lib/drain.ts';
import { LatencyRig } from '../lib/latency.ts';
import { loadPeers } from '../peers/index.ts';
import { drainWorkload } from './drain.ts';
import { latencyWorkload } from './latency.ts';

const LATENCY_RATE = 500;

interface PeerRun {
  peer: string;
  version: string;
  prepared: { ok: true } | { ok: false; reason: string };
  relayDrain?: DrainResult & { lost: number };
  relayLatency?: LatencyResult;
  drain?: Outcome<DrainResult>;
  latency?: Outcome<LatencyResult>;
}

async function measureRelay(ctx: SectionContext): Promise<{ drain: DrainResult & { lost: number }; latency: LatencyResult }> {
  const w = drainWorkload(ctx.quick);
  const scratch = await openScratch('peers');
  let drain: DrainResult & { lost: number };
  try {
    await writeBacklog(scratch.url, w, ctx.progress);
    const topic = await scratch.topic('relay', w.partitions);
    const d = await relayDrain(scratch, topic, 500, w.rows, ctx.progress);
    const audit = await auditTopic(scratch, topic);
    drain = { messages: d.messages, seconds: d.seconds, msgsPerSec: d.msgsPerSec, lost: audit.lost };
  } finally {
    await scratch.close();
  }
  const rig = await LatencyRig.open('peerslat', w.partitions, ctx.progress);
  try {
    const p = await rig.relayPoint(latencyWorkload(LATENCY_RATE, ctx.quick), { listen: true, batchSize: 500, pollIntervalMs: 1000 }, ctx.progress);
    return { drain, latency: { sent: p.sent, received: p.received, p50Ms: p.p50Ms, p95Ms: p.p95Ms, p99Ms: p.p99Ms, maxMs: p.maxMs, lost: p.lost, duplicates: p.duplicates } };
  } finally {
    await rig.close();
  }
}

async function runPeer(peer: Peer, ctx: SectionContext): Promise<PeerRun> {
  const say = (l: string) => ctx.progress(`  [${peer.name}] ${l}`);
  const r: PeerRun = { peer: peer.name, version: peer.version, prepared: { ok: false, reason: 'not prepared' } };
  try {
    try {
      r.prepared = await peer.prepare(say);
    } catch (err) {
      r.prepared = { ok: false, reason: `prepare() threw: ${(err as Error).message}` };
    }
    if (!r.prepared.ok) {
      ctx.progress(`peers: ${peer.name} cannot run here: ${r.prepared.reason}`);
      return r;
    }
    ctx.progress(`peers: our relay first (the reference, same machine state), then ${peer.name}…`);
    const ref = await measureRelay(ctx);
    r.relayDrain = ref.drain;
    r.relayLatency = ref.latency;
    const w = drainWorkload(ctx.quick);
    r.drain = await peer.drain(w, say).catch((err: Error) => ({ ran: false as const, reason: `drain() threw: ${err.message}` }));
    r.latency = await peer.latency(latencyWorkload(LATENCY_RATE, ctx.quick), say).catch((err: Error) => ({ ran: false as const, reason: `latency() threw: ${err.message}` }));
    return r;
  } finally {
    await peer.close().catch(() => {});
  }
}

async function run(ctx: SectionContext): Promise<SectionResult> {
  const peers = loadPeers();
  const runs: PeerRun[] = [];
  for (const peer of peers) runs.push(await runPeer(peer, ctx));

  const rows: (string | number)[][] = [];
  const notes: string[] = [];
  const ratios: SectionResult['ratios'] = [];
  const chart: { who: string; metric: string; value: number }[] = [];
  let lost = 0;
  for (const r of runs) {
    if (!r.prepared.ok) {
      rows.push([r.peer, r.version, 'did not run', '–', '–', '–', '–', '–']);
      notes.push(`**${r.peer}** did not run: ${r.prepared.reason}`);
      continue;
    }
    const d = r.drain?.ran ? r.drain.result : undefined;
    const l = r.latency?.ran ? r.latency.result : undefined;
    if (r.drain && !r.drain.ran) notes.push(`**${r.peer}** drain did not run: ${r.drain.reason}`);
    if (r.latency && !r.latency.ran) notes.push(`**${r.peer}** latency did not run: ${r.latency.reason}`);
    for (const o of [r.drain, r.latency]) if (o?.ran && o.notes) notes.push(...o.notes.map((n) => `${r.peer}: ${n}`));
    // `lost` is ours (the relay measured next to the peer); a peer's loss is a finding about the peer, reported as such.
    lost += (r.relayDrain?.lost ?? 0) + (r.relayLatency?.lost ?? 0);
    if (l && l.lost > 0) notes.push(`**${r.peer} lost ${l.lost} committed message(s)** in the latency run (never on the topic; see its notes above) — a finding about the peer, not counted as the benchmark's own loss.`);
    rows.push([
      `our relay (before ${r.peer})`, '', fmtRate(r.relayDrain!.msgsPerSec), fmtMs(r.relayLatency!.p50Ms), fmtMs(r.relayLatency!.p99Ms), r.relayDrain!.lost + r.relayLatency!.lost, '1.00', '1.00',
    ]);
    rows.push([
      r.peer, r.version, d ? fmtRate(d.msgsPerSec) : 'did not run', l ? fmtMs(l.p50Ms) : 'did not run', l ? fmtMs(l.p99Ms) : 'did not run', l ? l.lost : '–',
      d ? fmtRatio(ratio(d.msgsPerSec, r.relayDrain!.msgsPerSec)) : '–', l ? fmtRatio(ratio(l.p99Ms, r.relayLatency!.p99Ms)) : '–',
    ]);
    if (d) {
      ratios.push({ name: `peers: ${r.peer} drain ÷ our relay`, measured: `${fmtRate(d.msgsPerSec)} msg/s`, reference: `${fmtRate(r.relayDrain!.msgsPerSec)} msg/s`, value: ratio(d.msgsPerSec, r.relayDrain!.msgsPerSec) });
      chart.push({ who: r.peer, metric: 'drain ÷ relay', value: ratio(d.msgsPerSec, r.relayDrain!.msgsPerSec) });
    }
    if (l) {
      ratios.push({ name: `peers: ${r.peer} latency p99 at ${LATENCY_RATE}/s ÷ our relay`, measured: `${fmtMs(l.p99Ms)} ms`, reference: `${fmtMs(r.relayLatency!.p99Ms)} ms`, value: ratio(l.p99Ms, r.relayLatency!.p99Ms) });
      chart.push({ who: r.peer, metric: `latency p99 ÷ relay`, value: ratio(l.p99Ms, r.relayLatency!.p99Ms) });
    }
  }
  const w = drainWorkload(ctx.quick);
  return {
    id: 'peers',
    title: peersSection.title,
    table: { headers: ['who', 'version', 'drain msg/s', `p50 ms at ${LATENCY_RATE}/s`, `p99 ms at ${LATENCY_RATE}/s`, 'lost', 'drain ÷ relay', 'p99 ÷ relay'], rows },
    ratios,
    charts: chart.length
      ? [{
          file: 'peers.svg',
          spec: {
            title: 'Peers ÷ our relay (same run; drain > 1 = faster, latency < 1 = faster)',
            data: { values: chart.map((c) => ({ ...c, value: Number(c.value.toFixed(3)) })) },
            mark: { type: 'bar' },
            encoding: {
              y: { field: 'who', type: 'nominal', title: null },
              x: { field: 'value', type: 'quantitative', title: 'peer ÷ relay' },
              color: { field: 'metric', type: 'nominal', title: null },
              yOffset: { field: 'metric', type: 'nominal' },
            },
          },
        }]
      : [],
    data: { drainWorkload: w, latencyWorkload: latencyWorkload(LATENCY_RATE, ctx.quick), runs },
    notes: [
      `Drain: the drain section's backlog (${w.rows.toLocaleString('en-US')} rows, ${w.keys} keys, ~${w.payloadBytes} B); latency at ${LATENCY_RATE}/s. Our relay (batch 500, NOTIFY on) is measured right before each peer, after the peer's prepare(), so both ran in the same machine state.`,
      ...notes,
    ],
    lost,
  };
}

export const peersSection: BenchSection = { id: 'peers', title: 'Peers: other outbox implementations next to our relay', run };
