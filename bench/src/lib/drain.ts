/**
 * The relay (in this process) draining the backlog of a scratch database, timed until waitUntilDrained().
 * With a `gate` (see relay-process.ts openGate), the relay starts while the backlog is still held back and the
 * clock starts when the gate commits, so no batch is already in flight before the timing starts.
 */
import { startRelay } from '@dual-write/relay';
import type { Progress } from '../types.ts';
import { brokers, type Scratch } from './common.ts';

export interface RelayDrain {
  messages: number;
  seconds: number;
  msgsPerSec: number;
  batches: number;
  /** Seconds until the first batch was acknowledged. */
  firstBatchSeconds: number;
}

export async function relayDrain(scratch: Scratch, topic: string, batchSize: number, rows: number, progress: Progress, gate?: { commit(): Promise<void> }): Promise<RelayDrain> {
  const relay = await startRelay({ database: scratch.url, brokers, topic, port: false, logLevel: 'warn', batchSize });
  try {
    await gate?.commit();
    let last = performance.now();
    let first = NaN;
    const t0 = performance.now();
    relay.events.on('published', ({ total }) => {
      if (Number.isNaN(first)) first = (performance.now() - t0) / 1000;
      if (performance.now() - last > 3000) {
        last = performance.now();
        progress(`  relay: ${total}/${rows} published`);
      }
    });
    await relay.waitUntilDrained({ timeoutMs: 900_000 });
    const seconds = (performance.now() - t0) / 1000;
    const { published, batches } = relay.stats();
    return { messages: published, seconds, msgsPerSec: published / seconds, batches, firstBatchSeconds: first };
  } finally {
    await relay.stop();
  }
}
