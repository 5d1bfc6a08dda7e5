/**
 * The contenders of the peers race, behind one shape: our relay, Debezium with its defaults, Debezium tuned for
 * latency (both on one Connect worker), pg-transactional-outbox. Each runs the same two measurements: a drain of
 * a backlog, its rate counted from the first message on the topic to the last (high watermarks, ./common.ts
 * watchTopicFill), and latency at a steady rate on the latency section's rig (../lib/latency-processes.ts: writer
 * and consumer child processes, a LogAppendTime topic, one monotonic clock) with the contender as its publisher.
 */
import { startRelay } from '@dual-write/relay';
import { auditTopic, brokers, dbUrl, openScratch, writeBacklog, type Scratch } from '../lib/common.ts';
import { relayDrain } from '../lib/drain.ts';
import { startRelayChild } from '../lib/relay-process.ts';
import { dropCdcLeftovers } from '../sections/api-relay.ts';
import type { DrainResult, DrainWorkload, LatencyWorkload, Outcome, Peer, Progress } from '../types.ts';
import { describeError, measureOnRig, rateFromFirstMessage, watchTopicFill, type RigLatency } from './common.ts';
import type { DebeziumPeer } from './debezium.ts';
import { DEBEZIUM_DEFAULTS, DEBEZIUM_TUNED, describeSettings } from './debezium-settings.ts';

/** The relay's batch size in the race (its default, RELAY_BATCH_SIZE). */
export const RELAY_BATCH = 500;

export interface Contender {
  /** Stable id (JSON, charts). */
  id: string;
  name: string;
  version: string;
  /** Settings that differ from the product's defaults ("defaults" when none). */
  settings: string;
  /**
   * The drain's backlog is cut to this many rows (a publisher that sends one message per transaction would take
   * minutes per repetition); its rate is per message, counted from the first message, so it compares.
   */
  maxDrainRows?: number;
  drain(w: DrainWorkload, progress: Progress): Promise<Outcome<DrainResult & { lost?: number }>>;
  /** On the latency rig: LatencyResult = commit → Kafka (append time); `run` also has commit → consumer. */
  latency(w: LatencyWorkload, progress: Progress): Promise<Outcome<RigLatency>>;
}

/**
 * Our relay (batch 500, NOTIFY on, poll 1 s: its defaults) on a scratch database of the shared stack. Drain: the
 * relay in this process (lib/drain.ts relayDrain), its rate counted like the peers' — from the first message on the
 * topic to the last (its start-up reported apart) — then audited against bench_rows; `lost` is the benchmark's own
 * loss. Latency: the relay as its own process (services/relay/src/main.ts), the latency section's relay.
 */
export function relayContender(): Contender {
  return {
    id: 'relay',
    name: 'our relay',
    version: '@dual-write/relay (this commit), kafkajs',
    settings: `batch ${RELAY_BATCH}, NOTIFY on, poll 1000 ms (defaults)`,
    async drain(w, progress) {
      const scratch = await openScratch('peers');
      try {
        await writeBacklog(scratch.url, w, progress);
        const topic = await scratch.topic('relay', w.partitions);
        const t0 = performance.now();
        const watching = watchTopicFill('relay', scratch.admin, topic, w.rows, t0, progress);
        const d = await relayDrain(scratch, topic, RELAY_BATCH, w.rows, progress);
        const fill = await watching;
        if (!fill.ok) return { ran: false, reason: fill.reason };
        const r = rateFromFirstMessage(w.rows, fill, t0);
        const audit = await auditTopic(scratch, topic);
        const notes = [
          r.fromFirst && fill.first
            ? `start-up (startRelay() called → first message on Kafka): ${((fill.first.at - t0) / 1000).toFixed(2)} s; rate = ${w.rows - fill.first.count} messages after the first observation ÷ ${((fill.last.at - fill.first.at) / 1000).toFixed(2)} s`
            : 'the whole backlog arrived between two 50 ms polls: rate over the wall time from startRelay(), start-up included',
          `startRelay() → waitUntilDrained(), start-up included: ${d.seconds.toFixed(2)} s = ${Math.round(d.msgsPerSec)} msg/s; ${d.batches} batches`,
        ];
        return { ran: true, result: { messages: d.messages, seconds: r.seconds, msgsPerSec: r.msgsPerSec, lost: audit.lost }, notes };
      } finally {
        await scratch.close();
      }
    },
    async latency(w, progress) {
      try {
        return await measureOnRig(w, progress, (rig) => rig.relayPublisher({ listen: true, batchSize: RELAY_BATCH, pollIntervalMs: 1000 }, 'our relay'));
      } catch (err) {
        return { ran: false, reason: `relay: latency run failed: ${describeError(err)}` };
      }
    },
  };
}

/** A slot of this scratch database only (slot names are cluster-wide; the default would be shared by every scratch). */
const cdcSlotOf = (s: Scratch) => `dw_${s.database}`.slice(0, 63);

/** Drops the scratch database's CDC slot and publication (a slot retains WAL and blocks the DROP DATABASE). */
async function dropCdc(s: Scratch, progress: Progress): Promise<void> {
  await dropCdcLeftovers(dbUrl('postgres'), s.database, s.url).catch((err: unknown) => progress(`relay (CDC): dropping the slot of ${s.database}: ${describeError(err)}`));
}

/**
 * Our relay in CDC mode (mode 'cdc': a pgoutput slot, ../../packages/relay/README.md "CDC mode"), batch 500, a slot
 * of its own per scratch database. Drain, like Debezium's: the relay starts once (creating its slot and publication)
 * and stops, the backlog is written into the WAL behind the slot, then the relay starts again (in this process) and
 * streams it; its clock runs from the first message on the topic to the last, then the topic is audited against
 * bench_rows. (A gate would not hold the rows back: logical decoding streams each transaction at its commit.)
 * Latency: the relay as its own process with RELAY_MODE=cdc, started (slot created) before the writer's first row.
 * The slot and publication are dropped after each run.
 */
export function relayCdcContender(): Contender {
  return {
    id: 'relay-cdc',
    name: 'our relay, CDC mode',
    version: '@dual-write/relay (this commit), pgoutput via pg-logical-replication, kafkajs',
    settings: `mode cdc, batch ${RELAY_BATCH} (other settings: defaults)`,
    async drain(w, progress) {
      const scratch = await openScratch('peers');
      try {
        const options = { database: scratch.url, brokers, port: false as const, logLevel: 'error' as const, batchSize: RELAY_BATCH, mode: 'cdc' as const, cdcSlot: cdcSlotOf(scratch) };
        const topic = await scratch.topic('relaycdc', w.partitions);
        const tSlot = performance.now();
        await (await startRelay({ ...options, topic })).stop(); // creates the slot and the publication
        const slotSeconds = (performance.now() - tSlot) / 1000;
        await writeBacklog(scratch.url, w, progress);
        const t0 = performance.now();
        const watching = watchTopicFill('relay-cdc', scratch.admin, topic, w.rows, t0, progress);
        const relay = await startRelay({ ...options, topic });
        let drained: number;
        try {
          await relay.waitUntilDrained({ timeoutMs: 900_000 });
          drained = (performance.now() - t0) / 1000;
        } finally {
          await relay.stop();
        }
        const { published, batches } = relay.stats();
        const fill = await watching;
        if (!fill.ok) return { ran: false, reason: fill.reason };
        const r = rateFromFirstMessage(w.rows, fill, t0);
        const audit = await auditTopic(scratch, topic);
        const notes = [
          `slot and publication created by a first start/stop of the relay before the backlog was written: ${slotSeconds.toFixed(2)} s (not timed)`,
          r.fromFirst && fill.first
            ? `start-up (startRelay() called → first message on Kafka): ${((fill.first.at - t0) / 1000).toFixed(2)} s; rate = ${w.rows - fill.first.count} messages after the first observation ÷ ${((fill.last.at - fill.first.at) / 1000).toFixed(2)} s`
            : 'the whole backlog arrived between two 50 ms polls: rate over the wall time from startRelay(), start-up included',
          `startRelay() → waitUntilDrained(), start-up included: ${drained.toFixed(2)} s = ${Math.round(published / drained)} msg/s; ${published} published in ${batches} batches`,
        ];
        return { ran: true, result: { messages: published, seconds: r.seconds, msgsPerSec: r.msgsPerSec, lost: audit.lost }, notes };
      } finally {
        await dropCdc(scratch, progress);
        await scratch.close();
      }
    },
    async latency(w, progress) {
      try {
        return await measureOnRig(w, progress, (rig) => ({
          name: 'our relay, CDC mode',
          start: async (topic) => {
            const child = startRelayChild({
              databaseUrl: rig.scratch.url, topic, batchSize: RELAY_BATCH,
              env: { RELAY_MODE: 'cdc', RELAY_CDC_SLOT: cdcSlotOf(rig.scratch), RELAY_LOG_LEVEL: 'info' },
            });
            const stop = async () => {
              await child.stop();
              await dropCdc(rig.scratch, progress);
            };
            try {
              await child.waitStarted();
            } catch (err) {
              await stop();
              throw err;
            }
            return {
              cpu: [{ name: 'our relay, CDC mode', pid: child.pid }],
              failed: child.exited.then(({ code, signal }) => {
                throw new Error(`the CDC relay process exited (${signal ?? code}) during the run: ${child.stderr.slice(-800)} ${child.lastLines.join('\n')}`);
              }),
              stop,
            };
          },
        }));
      } catch (err) {
        return { ran: false, reason: `relay (CDC): latency run failed: ${describeError(err)}` };
      }
    },
  };
}

/** Debezium with `overrides` on the peer's one Connect worker (a fresh connector, slot and topic per run). */
export function debeziumContender(peer: DebeziumPeer, id: string, label: string, overrides: Readonly<Record<string, string>>): Contender {
  return {
    id,
    name: `Debezium outbox event router (${label})`,
    version: peer.version,
    settings: describeSettings(overrides),
    drain: (w, progress) => peer.drainWith(overrides, w, progress),
    latency: (w, progress) => peer.latencyWith(overrides, w, progress),
  };
}

export const debeziumDefault = (peer: DebeziumPeer) => debeziumContender(peer, 'debezium-default', 'defaults', DEBEZIUM_DEFAULTS);
export const debeziumTuned = (peer: DebeziumPeer) => debeziumContender(peer, 'debezium-tuned', 'tuned', DEBEZIUM_TUNED);

/** Any Peer whose latency() runs on the rig, as it is (pg-transactional-outbox: its defaults). */
export function peerContender(peer: Omit<Peer, 'latency'> & Pick<Contender, 'latency'>, id: string, maxDrainRows?: number): Contender {
  return {
    id,
    name: peer.name,
    version: peer.version,
    settings: 'defaults',
    maxDrainRows,
    drain: (w, progress) => peer.drain(w, progress),
    latency: (w, progress) => peer.latency(w, progress),
  };
}
