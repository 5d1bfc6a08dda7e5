/**
 * Commit → Kafka and commit → consumer latency with writer, relay and consumer in separate processes (the
 * latency section's rig). Every process stamps times on CLOCK_MONOTONIC, which Linux shares between processes:
 *
 * - the writer child (latency-writer-child.ts) commits one-outbox-row transactions at the target rate and takes
 *   each commit time right after COMMIT returned;
 * - the relay child (services/relay/src/main.ts, relay-process.ts) publishes them;
 * - the topic is created with message.timestamp.type=LogAppendTime, so each record carries the time the broker
 *   appended it (wall clock, whole ms): commit → append is the relay's commit → Kafka latency, read without
 *   touching the relay (the append happens just before the broker acknowledges; replication factor 1);
 * - the consumer child (latency-consumer-child.ts) reads all partitions concurrently and commits no offsets:
 *   commit → receipt is the end-to-end latency a consumer sees.
 *
 * One rig (scratch database, topic, consumer that has joined its group) serves every run of the section: the
 * consumer's group join is paid once; each run starts its own relay and writer.
 *
 * The publisher need not be our relay: runWith() takes any LatencyPublisher (started and stopped by callbacks,
 * writing to the rig's topic, the writer committing through its own inserter into its own database) — the peers
 * race measures Debezium and pg-transactional-outbox this way (bench/src/peers/common.ts pipelinePublisher).
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { LatencyWorkload, Progress } from '../types.ts';
import { wallMinusMono } from './clock.ts';
import { config, openScratch, percentile, type Scratch } from './common.ts';
import { cpuBetween, sampleCpu, type CpuTarget, type CpuUse } from './cpu-window.ts';
import { IpcChild } from './ipc-child.ts';
import type { ConsumerSettings, FromConsumer, FromWriter, InserterSpec, ToConsumer, ToWriter, WriterSettings } from './latency-ipc.ts';
import { isLinuxProc, pidListeningOn } from './proc.ts';
import { startRelayChild } from './relay-process.ts';

const WRITER = fileURLToPath(new URL('./latency-writer-child.ts', import.meta.url));
const CONSUMER = fileURLToPath(new URL('./latency-consumer-child.ts', import.meta.url));

/** A run whose writer committed less than this share of the target rate fell behind (the machine set the rate). */
export const BEHIND_BELOW = 0.97;
/** The CPU row of every core's busy time, whatever process used it. */
export const MACHINE = 'machine (all processes)';
/** The machine's busy time not used by any process listed (other work on the box; the bench section process included). */
export const OTHER = 'other';
/** How long committed rows may take to reach the consumer before they count as lost. */
const GRACE_MS = 30_000;

export interface RelaySettings {
  /** Wake on NOTIFY (LISTEN) or poll only (RELAY_LISTEN=false). */
  listen: boolean;
  batchSize: number;
  pollIntervalMs: number;
}

export interface LatencyFigures {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Latencies below 0 (kept in the figures): the message was there before COMMIT returned to the writer. */
  negative: number;
}

/**
 * What publishes the outbox in a run (runWith): our relay child (run()) or any other contender, started and stopped
 * by callbacks (the peers race: Debezium, pg-transactional-outbox), writing to the rig's topic.
 */
export interface LatencyPublisher {
  /** Its CPU row(s) are named after it. */
  name: string;
  /** The database the writer commits to (default: the rig's scratch database, our outbox). */
  databaseUrl?: string;
  /** How the writer writes a row (default: our outbox's enqueue()). */
  inserter?: InserterSpec;
  /** Starts publishing to `topic`; resolves once it is live (ready for the writer's clock). */
  start(topic: string, progress: Progress): Promise<StartedPublisher>;
}

export interface StartedPublisher {
  /** Processes whose CPU the run reports (e.g. the publisher and its own PostgreSQL). */
  cpu: CpuTarget[];
  /** Rejects when the publisher fails during the run (e.g. its process exited). */
  failed?: Promise<never>;
  stop(): Promise<void>;
}

/** One run of any publisher: one writer, one rate. */
export interface PublisherLatencyRun {
  ratePerSec: number;
  /** LatencyPublisher.name. */
  publisher: string;
  /** Commits in the measured window (after the warm-up). */
  sent: number;
  received: number;
  achievedPerSec: number;
  /** The writer committed less than BEHIND_BELOW × the target rate. */
  behind: boolean;
  /** COMMIT returned → the broker appended the record (LogAppendTime): the relay's commit → Kafka. */
  toKafka: LatencyFigures;
  /** COMMIT returned → the fetch response holding the message reached the consumer process. */
  toConsumer: LatencyFigures;
  /** Committed rows that had not reached the consumer GRACE_MS after the writer finished. */
  lost: number;
  failedTransactions: number;
  txP50Ms: number;
  txP99Ms: number;
  /** From the writer's go to the last message received (s): the CPU window. */
  windowSeconds: number;
  cpu: CpuUse[];
  /** How much (wall − monotonic) moved during the run (ms): the error it adds to commit → Kafka. */
  clockDriftMs: number;
  /** The machine's 1-minute load average at the end of the run (other work on the box shows here). */
  loadAverage1m: number;
}

/** One run of our relay: one relay, one writer, one rate. */
export interface LatencyRun extends PublisherLatencyRun {
  listen: boolean;
}

interface Seen {
  appendWallMs: number;
  receivedMono: number;
  count: number;
}

export class ProcessLatencyRig {
  private readonly seen = new Map<string, Seen>();
  private waiting: { pending: Set<string>; done(): void } | undefined;
  private readonly stackTargets: CpuTarget[];

  private constructor(readonly scratch: Scratch, readonly topic: string, private readonly consumer: IpcChild<ToConsumer, FromConsumer>) {
    consumer.on('batch', ({ arrivals }) => {
      for (const [id, appendWallMs, receivedMono] of arrivals) {
        const s = this.seen.get(id);
        if (s) s.count++;
        else this.seen.set(id, { appendWallMs, receivedMono, count: 1 });
        if (this.waiting?.pending.delete(id) && this.waiting.pending.size === 0) this.waiting.done();
      }
    });
    const kafkaPort = Number(config.kafka.brokers[0]!.split(':').at(-1));
    const pgPort = Number(new URL(config.database.url).port || 5432);
    const linux = isLinuxProc();
    this.stackTargets = [
      { name: 'PostgreSQL', pid: linux ? pidListeningOn(pgPort) : undefined, tree: true },
      { name: 'Kafka', pid: linux ? pidListeningOn(kafkaPort) : undefined },
      { name: 'bench (section process)', pid: process.pid },
      { name: MACHINE, pid: undefined, machine: true },
    ];
  }

  /** `prefix`: of the scratch database and topic (default latency). */
  static async open(partitions: number, progress: Progress, prefix = 'latency'): Promise<ProcessLatencyRig> {
    const scratch = await openScratch(prefix);
    let consumer: IpcChild<ToConsumer, FromConsumer> | undefined;
    try {
      const topic = await scratch.topic('orders', partitions, { 'message.timestamp.type': 'LogAppendTime' });
      const settings: ConsumerSettings = { topic, partitions };
      consumer = new IpcChild('the latency consumer', CONSUMER, { BENCH_LATENCY_CONSUMER: JSON.stringify(settings) });
      progress('latency: starting the consumer process and waiting for it to join its group…');
      await consumer.next('ready', 90_000);
      return new ProcessLatencyRig(scratch, topic, consumer);
    } catch (err) {
      await consumer?.stop();
      await scratch.close();
      throw err;
    }
  }

  /** Which processes' CPU a run reports (undefined pid: not found, left out); a number: the relay's pid. */
  cpuTargets(writerPid: number, publisher: number | CpuTarget[]): CpuTarget[] {
    return [
      { name: 'writer', pid: writerPid },
      ...(typeof publisher === 'number' ? [{ name: 'relay', pid: publisher }] : publisher),
      { name: 'consumer', pid: this.consumer.pid },
      ...this.stackTargets,
    ];
  }

  /** One run: a relay child and a writer child at the workload's rate; waits until every commit reached the consumer. */
  async run(w: LatencyWorkload, relay: RelaySettings, progress: Progress): Promise<{ run: LatencyRun; ids: string[] }> {
    const r = await this.runWith(w, this.relayPublisher(relay), progress);
    return { run: { ...r.run, listen: relay.listen }, ids: r.ids };
  }

  /** Our relay as a child process (services/relay/src/main.ts) on the rig's scratch database: a LatencyPublisher. */
  relayPublisher(relay: RelaySettings, name = 'relay'): LatencyPublisher {
    return {
      name,
      start: async (topic) => {
        const relayChild = startRelayChild({
          databaseUrl: this.scratch.url, topic, batchSize: relay.batchSize,
          env: { RELAY_LISTEN: String(relay.listen), RELAY_POLL_INTERVAL_MS: String(relay.pollIntervalMs), RELAY_LOG_LEVEL: 'info' },
        });
        try {
          await relayChild.waitStarted();
        } catch (err) {
          await relayChild.stop();
          throw err;
        }
        return {
          cpu: [{ name, pid: relayChild.pid }],
          failed: relayChild.exited.then(({ code, signal }) => {
            throw new Error(`the relay process exited (${signal ?? code}) during the run: ${relayChild.stderr.slice(-800)} ${relayChild.lastLines.join('\n')}`);
          }),
          stop: () => relayChild.stop(),
        };
      },
    };
  }

  /**
   * One run of any publisher: it is started (and live) while the writer child opens its connections, then the
   * writer commits at the workload's rate; waits until every commit reached the consumer, then stops the publisher.
   */
  async runWith(w: LatencyWorkload, publisher: LatencyPublisher, progress: Progress): Promise<{ run: PublisherLatencyRun; ids: string[] }> {
    const settings: WriterSettings = {
      databaseUrl: publisher.databaseUrl ?? this.scratch.url, workload: w, connections: 8,
      ...(publisher.inserter ? { inserter: publisher.inserter } : {}),
    };
    const writer = new IpcChild<ToWriter, FromWriter>('the latency writer', WRITER, { BENCH_LATENCY_WRITER: JSON.stringify(settings) });
    let started: StartedPublisher | undefined;
    try {
      // Both settle before going on, so a publisher that started is always stopped (finally), whichever failed.
      const [pub, ready] = await Promise.allSettled([publisher.start(this.topic, progress), writer.next('ready', 60_000)]);
      if (pub.status === 'rejected') throw pub.reason;
      started = pub.value;
      if (ready.status === 'rejected') throw ready.reason;
      const targets = this.cpuTargets(writer.pid, started.cpu);
      const offsetBefore = wallMinusMono();
      const cpuBefore = sampleCpu(targets);
      const t0 = performance.now();
      writer.send({ type: 'go' });
      const failed = started.failed ?? new Promise<never>(() => {});
      const done = await Promise.race([writer.next('done', (w.seconds + 120) * 1000), this.consumer.failed, failed]);
      if (done.failedTransactions) progress(`  ${done.failedTransactions} writer transactions failed, the first: ${done.firstFailure}`);
      await Promise.race([this.allArrived(done.commits.map(([id]) => id)), this.consumer.failed, failed]);
      const windowSeconds = (performance.now() - t0) / 1000;
      const cpu = withOther(cpuBetween(targets, cpuBefore, sampleCpu(targets), windowSeconds));
      const offsetAfter = wallMinusMono();
      const run: PublisherLatencyRun = {
        ...this.figures(w, done, (offsetBefore + offsetAfter) / 2),
        publisher: publisher.name,
        failedTransactions: done.failedTransactions,
        txP50Ms: done.txP50Ms,
        txP99Ms: done.txP99Ms,
        windowSeconds,
        cpu,
        clockDriftMs: Math.abs(offsetAfter - offsetBefore),
        loadAverage1m: os.loadavg()[0]!,
      };
      return { run, ids: done.commits.map(([id]) => id) };
    } finally {
      await Promise.all([writer.stop(), started?.stop()]);
    }
  }

  /** Messages seen more than once, of these ids (call once the last run is over: a late duplicate counts too). */
  duplicates(ids: Iterable<string>): number {
    let n = 0;
    for (const id of ids) n += Math.max(0, (this.seen.get(id)?.count ?? 0) - 1);
    return n;
  }

  async close(): Promise<void> {
    await this.consumer.stop();
    await this.scratch.close();
  }

  /** Resolves once every id reached the consumer, or after GRACE_MS (the missing ones are lost). */
  private allArrived(ids: string[]): Promise<void> {
    const pending = new Set(ids.filter((id) => !this.seen.has(id)));
    if (pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve();
      };
      const timer = setTimeout(finish, GRACE_MS);
      this.waiting = { pending, done: finish };
    });
  }

  private figures(w: LatencyWorkload, done: Extract<FromWriter, { type: 'done' }>, wallMinusMonoMs: number) {
    const from = done.t0Mono + w.warmupSeconds * 1000;
    const measured = done.commits.filter(([, at]) => at >= from);
    const arrived = measured.flatMap(([id, at]) => {
      const s = this.seen.get(id);
      // LogAppendTime is a whole millisecond (floor): +0.5 ms centres it on the true append time.
      return s ? [{ toKafka: s.appendWallMs + 0.5 - wallMinusMonoMs - at, toConsumer: s.receivedMono - at }] : [];
    });
    const lastCommit = Math.max(...measured.map(([, at]) => at));
    const achievedPerSec = measured.length / Math.max(0.001, (lastCommit - from) / 1000);
    return {
      ratePerSec: w.ratePerSec,
      sent: measured.length,
      received: arrived.length,
      achievedPerSec,
      behind: achievedPerSec < BEHIND_BELOW * w.ratePerSec,
      toKafka: latencyFigures(arrived.map((a) => a.toKafka)),
      toConsumer: latencyFigures(arrived.map((a) => a.toConsumer)),
      lost: done.commits.filter(([id]) => !this.seen.has(id)).length,
    };
  }
}

/** Adds OTHER: the machine's busy time minus every process listed (the section process counts as other). */
function withOther(cpu: CpuUse[]): CpuUse[] {
  const machine = cpu.find((c) => c.process === MACHINE);
  if (!machine) return cpu;
  const listed = cpu.filter((c) => c.process !== MACHINE && c.process !== 'bench (section process)').reduce((n, c) => n + c.cpuSeconds, 0);
  const cpuSeconds = Math.max(0, machine.cpuSeconds - listed);
  return [...cpu, { process: OTHER, cpuSeconds, cores: (cpuSeconds / machine.cpuSeconds) * machine.cores || 0 }];
}

export function latencyFigures(values: number[]): LatencyFigures {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.at(-1) ?? NaN,
    negative: sorted.filter((v) => v < 0).length,
  };
}
