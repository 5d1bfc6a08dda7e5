/** Shared by the dashboard's tests: the outbox plus an `items` table the auditor compares the topic with, a writer, a server. */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { ConfigResourceTypes, type Kafka } from 'kafkajs';
import { enqueue, migrateOutbox, pgExecutor } from '@dual-write/outbox';
import type { Dashboard } from '../src/index.ts';

export async function migrateForTests(client: pg.Client): Promise<void> {
  await migrateOutbox(client);
  await client.query('create table items (id uuid primary key, key text not null, n integer not null, created_at timestamptz not null default now())');
}

/** One transaction: an `items` row and its outbox message per item (aggregate type `item`, key = item key). */
export async function writeItems(pool: pg.Pool, items: { key: string; n: number; bytes?: number }[]): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const ids = items.map(() => randomUUID());
    for (const [i, item] of items.entries()) await client.query('insert into items (id, key, n) values ($1, $2, $3)', [ids[i], item.key, item.n]);
    await enqueue(pgExecutor(client), items.map((item, i) => ({
      aggregateType: 'item',
      aggregateId: item.key,
      type: 'ItemWritten',
      payload: { id: ids[i], key: item.key, n: item.n, ...(item.bytes ? { blob: 'x'.repeat(item.bytes) } : {}) },
    })));
    await client.query('commit');
    return ids;
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

export async function setMaxMessageBytes(kafka: Kafka, topic: string, bytes: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] }] });
  } finally {
    await admin.disconnect();
  }
}

/** A plain node:http server on a free port with the dashboard mounted (and 404 for everything else). */
export async function serve(dashboard: Dashboard): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => dashboard.handler(req, res, () => {
    res.statusCode = 404;
    res.end('not the dashboard');
  }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${dashboard.basePath}/`,
    async close() {
      await dashboard.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
