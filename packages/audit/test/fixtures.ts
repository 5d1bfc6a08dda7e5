/** Hand-made fixtures: rows in a table of this file's database, messages at known partitions and offsets. */
import type { Lab } from '@dual-write/testkit';
import type { AuditOptions } from '../src/index.ts';

export interface FixtureMessage {
  partition: number;
  key?: string | null;
  value?: string | null | Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Sends the messages one at a time, in order, so offsets within a partition follow the list. */
export async function produce(lab: Lab, topic: string, messages: FixtureMessage[]): Promise<void> {
  const producer = lab.kafka().producer();
  await producer.connect();
  try {
    for (const m of messages) {
      const value = m.value === undefined ? '{}' : m.value === null || typeof m.value === 'string' ? m.value : JSON.stringify(m.value);
      await producer.send({ topic, acks: -1, messages: [{ partition: m.partition, key: m.key ?? null, value, headers: m.headers }] });
    }
  } finally {
    await producer.disconnect();
  }
}

/** A table shaped like the lab's orders table (uuid-free on purpose: text ids are easy to read in assertions). */
export async function ordersTable(lab: Lab, table: string, rows: { id: string; ageMs?: number }[]): Promise<void> {
  const pool = lab.pool();
  await pool.query(`create table ${table} (id text primary key, created_at timestamptz not null default now())`);
  for (const r of rows) {
    await pool.query(`insert into ${table} (id, created_at) values ($1, now() - ($2::double precision * interval '1 millisecond'))`, [r.id, r.ageMs ?? 3_600_000]);
  }
  await pool.end();
}

/** Options pointing at this file's database and the direct brokers; a 10-minute grace period unless given. */
export function options(lab: Lab, table: string, topic: string, extra: Partial<AuditOptions> = {}): AuditOptions {
  return { databaseUrl: lab.db.url, table, topic, brokers: lab.config.kafka.brokers, graceMs: 600_000, ...extra };
}
