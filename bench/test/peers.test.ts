/**
 * The benchmark peers, each for real on this machine: prepare (its own PostgreSQL with wal_level=logical, and for
 * Debezium a Kafka Connect worker), drain a 500-row backlog onto the stack's Kafka (every row must arrive, at least
 * once), then close() must leave no process and no replication slot behind. A peer that cannot prepare here fails
 * its test with the reason prepare() gave.
 */
import { describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { isAlive } from '../../packages/stack/src/process.ts';
import { isListening } from '../../packages/stack/src/net.ts';
import { labConfig } from '../src/peers/common.ts';
import { debeziumPeer, type DebeziumPeer } from '../src/peers/debezium.ts';
import { pgTransactionalOutboxPeer, type PgTransactionalOutboxPeer } from '../src/peers/pg-transactional-outbox.ts';
import type { DrainWorkload } from '../src/types.ts';

// The peers start PostgreSQL servers and a Kafka Connect worker next to the stack and drain onto its Kafka:
// like every file that starts or faults services, this one holds the lab lock (also under `pnpm turbo test`).
useLab({ database: false });

const lines: string[] = [];
const progress = (line: string) => {
  lines.push(line);
  if (process.env.BENCH_PEERS_VERBOSE) process.stderr.write(`[peer] ${line}\n`);
};
const workload: DrainWorkload = { rows: 500, keys: 50, payloadBytes: 300, partitions: 3 };

async function drainAndClose(peer: DebeziumPeer | PgTransactionalOutboxPeer, ports: number[]) {
  try {
    const ready = await peer.prepare(progress);
    // Both peers run on this machine: a failed prepare is a failure, with its reason as the message.
    expect(ready.ok ? '' : ready.reason, 'prepare() failed').toBe('');
    const pids = peer.pids();
    expect(pids.length).toBeGreaterThan(0);

    const drain = await peer.drain(workload, progress);
    expect(drain.ran ? '' : drain.reason, 'drain did not run').toBe('');
    if (!drain.ran) return;
    expect(drain.result.messages).toBe(workload.rows);
    expect(drain.result.msgsPerSec).toBeGreaterThan(0);
    // Read back from the topic: every row is there (exactly once or more — duplicates are allowed, loss is not).
    expect(peer.lastDrainCheck).toMatchObject({ expected: workload.rows, distinct: workload.rows, missing: 0, foreign: 0 });

    await peer.close();
    // The slots and publications were dropped before PostgreSQL was stopped …
    expect(peer.closeReport).toEqual({ slots: [], publications: [] });
    // … and nothing it started is left running or listening.
    for (const pid of pids) expect(isAlive(pid), `pid ${pid} still alive after close()`).toBe(false);
    for (const port of ports) expect(await isListening('127.0.0.1', port), `port ${port} still listening after close()`).toBe(false);
    // close() twice is fine.
    await peer.close();
  } finally {
    await peer.close();
  }
}

describe('benchmark peers', () => {
  it('Debezium outbox event router: drains a backlog with no loss; close() leaves no process or slot', async () => {
    await drainAndClose(debeziumPeer({ pgPort: 15440, restPort: 18083 }), [15440, 18083]);
  }, 600_000);

  it('pg-transactional-outbox (replication listener): drains a backlog with no loss; close() leaves no process or slot', async () => {
    await drainAndClose(pgTransactionalOutboxPeer({ pgPort: 15441 }), [15441]);
  }, 300_000);

  it('a peer that cannot run resolves prepare() to the exact reason instead of throwing', async () => {
    // The port of the shared stack's PostgreSQL is taken (by the stack): the peer must say so, and start nothing.
    const taken = labConfig().database.upstream.port;
    const peer = pgTransactionalOutboxPeer({ pgPort: taken });
    const ready = await peer.prepare(progress);
    expect(ready.ok).toBe(false);
    if (!ready.ok) expect(ready.reason).toMatch(new RegExp(`${taken}|Kafka`));
    expect(peer.pids()).toEqual([]);
    const drain = await peer.drain(workload, progress);
    expect(drain.ran).toBe(false);
    await peer.close();
  }, 60_000);
});
