/**
 * What limits the relay: the relay as a child process under `node --cpu-prof` drains the drain section's
 * backlog (batch 500). During the drain (gate commit → every message on the topic) the CPU time of each
 * process is read from /proc/<pid>/stat (utime + stime, before/after): the relay, PostgreSQL (postmaster and
 * every backend), Kafka (its JVM), this benchmark process. The .cpuprofile's samples inside the drain window
 * give the relay's self time by function and by module group (pg, kafkajs, JSON, our code …).
 */
import { mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchSection, SectionContext, SectionResult } from '../types.ts';
import { auditTopic, config, fmtRate, openScratch, round, waitForMessages, writeBacklog, type TopicAudit } from '../lib/common.ts';
import { summariseProfile, type ProfileSummary } from '../lib/cpuprofile.ts';
import { isLinuxProc, pidListeningOn, procStat, sampleTree, treeCpuBetween } from '../lib/proc.ts';
import { killAllRelayChildren, openGate, startRelayChild } from '../lib/relay-process.ts';
import { drainWorkload } from './drain.ts';

const hrUs = () => Number(process.hrtime.bigint() / 1000n);

async function run(ctx: SectionContext): Promise<SectionResult> {
  const say = ctx.progress;
  const w = drainWorkload(ctx.quick);
  const batchSize = 500;
  const profileDir = path.join(ctx.outDir, 'profile');
  mkdirSync(profileDir, { recursive: true });
  const notes: string[] = [];
  const scratch = await openScratch('profile');
  const kafkaPort = Number(config.kafka.brokers[0]!.split(':').at(-1));
  const pgPort = Number(new URL(config.database.url).port || 5432);
  const pgPid = isLinuxProc() ? pidListeningOn(pgPort) : undefined;
  const kafkaPid = isLinuxProc() ? pidListeningOn(kafkaPort) : undefined;
  if (!pgPid) notes.push(`PostgreSQL's process (listening on ${pgPort}) not found: its CPU time is not shown.`);
  if (!kafkaPid) notes.push(`Kafka's process (listening on ${kafkaPort}) not found: its CPU time is not shown.`);
  let seconds = NaN;
  let cpu: { process: string; cpuSeconds: number; coresBusy: number; share: number }[];
  let summary: ProfileSummary | undefined;
  let profileFile: string | undefined;
  let audit: TopicAudit | undefined;
  try {
    say(`profile: writing a ${w.rows}-row backlog behind a gate; the relay runs under node --cpu-prof…`);
    const topic = await scratch.topic('profile', w.partitions);
    const gate = await openGate(scratch.url);
    const relay = startRelayChild({ databaseUrl: scratch.url, topic, batchSize, nodeFlags: ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-interval', '500'] });
    try {
      await writeBacklog(scratch.url, w, say);
      await relay.waitStarted();
      const before = {
        relay: procStat(relay.pid), pg: pgPid ? sampleTree(pgPid) : undefined, kafka: kafkaPid ? procStat(kafkaPid) : undefined, self: procStat(process.pid),
      };
      const t0 = performance.now();
      const fromUs = hrUs();
      await gate.commit();
      const t1 = await waitForMessages(scratch.admin, topic, w.rows, 900_000, (l) => say(`  ${l}`));
      const toUs = hrUs();
      const after = {
        relay: procStat(relay.pid), pg: pgPid ? sampleTree(pgPid) : undefined, kafka: kafkaPid ? procStat(kafkaPid) : undefined, self: procStat(process.pid),
      };
      seconds = (t1 - t0) / 1000;
      await relay.stop();
      audit = await auditTopic(scratch, topic);
      if (audit.lost || audit.duplicates) notes.push(`Audit of the profiled drain: ${audit.lost} lost, ${audit.duplicates} duplicates.`);
      const rows: [string, number | undefined][] = [
        ['relay (node, child process)', before.relay && after.relay ? after.relay.cpu - before.relay.cpu : undefined],
        ['PostgreSQL (postmaster + backends)', before.pg && after.pg ? treeCpuBetween(before.pg, after.pg) : undefined],
        ['Kafka (JVM)', before.kafka && after.kafka ? after.kafka.cpu - before.kafka.cpu : undefined],
        ['benchmark process (polls the topic offsets)', before.self && after.self ? after.self.cpu - before.self.cpu : undefined],
      ];
      const capacity = seconds * os.cpus().length;
      cpu = rows.filter((r): r is [string, number] => r[1] !== undefined).map(([p, s]) => ({ process: p, cpuSeconds: s, coresBusy: s / seconds, share: s / capacity }));
      say(`  drained ${w.rows} in ${seconds.toFixed(2)} s (${fmtRate(w.rows / seconds)} msg/s); CPU: ${cpu.map((c) => `${c.process.split(' ')[0]} ${c.cpuSeconds.toFixed(2)} s`).join(', ')}`);
      // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread (others: tsx's loader thread).
      const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${relay.pid}.`));
      const main = files.find((f) => f.includes(`.${relay.pid}.0.`)) ?? files.sort().at(0);
      if (main) {
        profileFile = path.join(profileDir, main);
        summary = summariseProfile(profileFile, { fromUs, toUs });
        if (!summary.windowed) notes.push('No profile sample fell inside the drain window (clock mismatch?): the whole profile (start-up included) is summarised.');
      } else {
        notes.push('The relay process wrote no .cpuprofile (did it exit gracefully?).');
      }
    } finally {
      await gate.close();
      await relay.stop();
    }
  } catch (err) {
    killAllRelayChildren();
    throw err;
  } finally {
    await scratch.close();
  }
  const groupsChart = [
    ...(summary?.groups ?? []).filter((g) => g.share >= 0.005).map((g) => ({ group: g.group, view: 'self time of the function', share: round(g.share * 100, 1) })),
    ...(summary?.byCaller ?? []).filter((g) => g.share >= 0.005).map((g) => ({ group: g.group, view: 'charged to the calling package', share: round(g.share * 100, 1) })),
  ];
  const total = cpu.reduce((s, c) => s + c.cpuSeconds, 0);
  return {
    id: 'profile',
    title: profileSection.title,
    table: {
      headers: ['process', 'CPU s during the drain', 'cores busy (avg)', `share of ${os.cpus().length} cores × ${seconds.toFixed(1)} s`],
      rows: [
        ...cpu.map((c) => [c.process, c.cpuSeconds.toFixed(2), c.coresBusy.toFixed(2), `${(c.share * 100).toFixed(0)} %`]),
        ['all of the above', total.toFixed(2), (total / seconds).toFixed(2), `${((total / (seconds * os.cpus().length)) * 100).toFixed(0)} %`],
      ],
    },
    ratios: cpu.length
      ? [{ name: 'profile: relay CPU ÷ drain wall time (cores the relay kept busy)', measured: `${cpu[0]!.cpuSeconds.toFixed(2)} CPU s`, reference: `${seconds.toFixed(2)} s`, value: cpu[0]!.coresBusy }]
      : [],
    charts: groupsChart.length
      ? [{
          file: 'profile-groups.svg',
          spec: {
            title: 'Where the relay spends its CPU during the drain (% of busy samples)',
            data: { values: groupsChart },
            mark: { type: 'bar' },
            encoding: {
              y: { field: 'group', type: 'nominal', sort: '-x', title: null },
              yOffset: { field: 'view', type: 'nominal' },
              color: { field: 'view', type: 'nominal', title: null },
              x: { field: 'share', type: 'quantitative', title: '% of the relay\'s busy (non-idle) samples' },
            },
          },
        }]
      : [],
    data: { workload: w, batchSize, seconds, msgsPerSec: w.rows / seconds, cpu, profile: summary, profileFile: profileFile ? path.relative(ctx.outDir, profileFile) : undefined, audit },
    notes: [
      `The relay (batch ${batchSize}) drains a ${w.rows.toLocaleString('en-US')}-row backlog as a child process under node --cpu-prof (0.5 ms sampling, which slows it a little: its rate here is not the drain section's). Timed from the gate's commit to the last message on the topic.`,
      'CPU time from /proc/<pid>/stat (utime + stime) before and after the drain; PostgreSQL = the postmaster and all its backends (and any backend that exited meanwhile).',
      ...(summary
        ? [
            `Relay profile (${summary.windowed ? 'drain window only' : 'whole process'}): ${(summary.totalMs - summary.idleMs).toFixed(0)} ms busy of ${summary.totalMs.toFixed(0)} ms sampled (${((1 - summary.idleMs / Math.max(1, summary.totalMs)) * 100).toFixed(0)} % busy). Self time by module: ${summary.groups.slice(0, 8).map((g) => `${g.group} ${(g.share * 100).toFixed(1)} %`).join(', ')}. Charged to the calling package (Node core and V8 builtins counted for whoever called them): ${summary.byCaller.slice(0, 8).map((g) => `${g.group} ${(g.share * 100).toFixed(1)} %`).join(', ')}.`,
            `Top self-time functions: ${summary.functions.slice(0, 10).map((f) => `${f.fn}${f.where ? ` (${f.where})` : ''} ${(f.share * 100).toFixed(1)} %`).join('; ')}.`,
          ]
        : []),
      ...notes,
    ],
    lost: audit?.lost ?? 0,
  };
}

export const profileSection: BenchSection = { id: 'profile', title: 'What limits the relay: CPU profile and CPU time per process during a drain', run };
