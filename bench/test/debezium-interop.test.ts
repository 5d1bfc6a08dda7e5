/**
 * Drop-in both ways with Debezium: the table OUR migrations create (migrateOutbox(), rows written with enqueue()),
 * read by Debezium's outbox event router configured with docs/debezium/outbox-connector.json, and by our relay —
 * compared message by message (per event id): key, value (bytes and parsed JSON), headers, topic naming.
 * The differences must be EXACTLY the known list below (the one packages/relay/README.md documents): a difference
 * that appears or disappears fails the test. A negative control checks that the comparison does report an altered
 * relay value encoding and a missing message.
 *
 * Order of operations: the relay deletes what it published, and Debezium streams inserts from the WAL; so the
 * connector starts first, the rows are written, Debezium's messages are awaited (up to a sentinel per topic), and
 * only then the relay publishes (and deletes) the same rows.
 */
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Admin, Consumer, IHeaders } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLab } from '@dual-write/testkit';
import { enqueue, migrateOutbox, pgExecutor, type OutboxMessage } from '@dual-write/outbox';
import { DEFAULT_TOPIC, startRelay } from '@dual-write/relay';
import { dropSlot, withClient } from '../src/peers/common.ts';
import { debeziumPeer, type DebeziumPeer } from '../src/peers/debezium.ts';

// Starts a PostgreSQL and a Kafka Connect worker next to the stack: holds the lab lock like every such file.
const lab = useLab({ database: false });

const CONNECTOR_FILE = fileURLToPath(new URL('../../docs/debezium/outbox-connector.json', import.meta.url));
const DATABASE = 'dbz_interop';
const run = `${process.pid}x${Date.now().toString(36)}`;
const SLOT = `bench_dbz_interop_${process.pid}`;
const PUBLICATION = `bench_dbz_pub_interop_${process.pid}`;
const CONNECTOR = `interop-outbox-${run}`;
const DBZ_PREFIX = `interop.${run}.dbz.`;
const RELAY_PREFIX = `interop.${run}.relay.`;
const TYPES = ['order', 'customer'] as const;
const dbzTopic = (t: string) => `${DBZ_PREFIX}outbox.event.${t}`;
const relayTopic = (t: string) => `${RELAY_PREFIX}outbox.event.${t}`;

/** One message read back: the topic, key, value bytes and headers (as UTF-8 strings). */
interface Received {
  topic: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** A written event and what the test knows about it. */
interface Case {
  label: string;
  message: OutboxMessage & { id: string };
  /** jsonb's text form of the payload has a space after `:` or `,` (objects and arrays with more than one entry or any member). */
  jsonbSpaces: boolean;
}

function mk(label: string, aggregateType: string, aggregateId: string, payload: unknown, jsonbSpaces: boolean, headers?: Record<string, string>): Case {
  return { label, jsonbSpaces, message: { id: randomUUID(), aggregateType, aggregateId, type: `${aggregateType}.${label}`, payload, ...(headers ? { headers } : {}) } };
}

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const committed: Case[] = [
  mk('o1-created', 'order', 'order-1', { orderId: 'order-1', total: 12.5, items: [{ sku: 'a', qty: 2 }] }, true),
  mk('o1-paid', 'order', 'order-1', { orderId: 'order-1', paid: true }, true, { traceparent: TRACEPARENT }),
  mk('o2-unicode', 'order', 'order-2', { name: 'Zoë 🚀 日本語', quote: 'say "hi"', path: 'C:\\temp\\x', multi: 'line1\nline2\ttab', ctrl: '\u0001', slash: '</script>' }, true),
  mk('o2-string', 'order', 'order-2', 'a "string" payload with \\ backslash, \n newline, é and 🎉', false),
  mk('o3-array', 'order', 'order-3', [1, 'two', { three: 3 }, null, true], true),
  mk('o3-number', 'order', 'order-3', 42, false),
  mk('o3-empty-object', 'order', 'order-3', {}, false),
  mk('o3-one-element-array', 'order', 'order-3', ['solo'], false),
  mk('c1-registered', 'customer', 'customer-1', { customerId: 'customer-1', email: 'ä@example.com' }, true),
  mk('c2-registered', 'customer', 'customer-2', { customerId: 'customer-2' }, true),
];
const rolledBack: Case[] = [mk('rolled-back-order', 'order', 'order-1', { never: true }, true), mk('rolled-back-customer', 'customer', 'customer-1', { never: true }, true)];
const insertedAndDeleted = mk('insert-and-delete', 'order', 'order-4', { gone: 'before commit' }, true);
// Written last, one per topic: once both sides published these, they published everything before them.
const sentinels: Case[] = TYPES.map((t) => mk(`sentinel-${t}`, t, `${t}-sentinel`, { last: true }, true));
const allCases = [...committed, ...rolledBack, insertedAndDeleted, ...sentinels];
const byId = new Map(allCases.map((c) => [c.message.id, c]));

/** The connector exactly as docs/debezium/outbox-connector.json has it, with this run's database, slot and topics. */
function connectorConfig(peer: DebeziumPeer): Record<string, string> {
  const file = JSON.parse(readFileSync(CONNECTOR_FILE, 'utf8')) as Record<string, string>;
  const values: Record<string, string> = {
    DATABASE_HOST: '127.0.0.1',
    DATABASE_PORT: String(peer.db.port),
    DATABASE_USER: peer.db.user,
    DATABASE_PASSWORD: peer.db.password,
    DATABASE_NAME: DATABASE,
    TOPIC_PREFIX: `interop${process.pid}`,
    SLOT,
    PUBLICATION,
  };
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(file)) config[k] = v.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => values[name] ?? `{{${name}}}`);
  config['transforms.outbox.route.topic.replacement'] = DBZ_PREFIX + file['transforms.outbox.route.topic.replacement'];
  return config;
}

const headerText = (headers: IHeaders | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k] = Array.isArray(v) ? v.map(String).join(',') : String(v ?? '');
  return out;
};

/**
 * Compares what Debezium and the relay published, per event id, and lists every difference as one line. Headers are
 * compared by name and value; values as bytes and as parsed JSON; topics by their name after the side's prefix.
 */
function compareSides(dbz: Received[], relay: Received[], expectedIds: readonly string[], label: (id: string) => string): string[] {
  const diffs: string[] = [];
  const index = (side: string, list: Received[], prefix: string) => {
    const m = new Map<string, Received>();
    for (const r of list) {
      const id = r.headers.id ?? '';
      if (m.has(id)) diffs.push(`${label(id)}: published twice by ${side}`);
      m.set(id, r);
      if (!r.topic.startsWith(prefix)) diffs.push(`${label(id)}: ${side} topic ${r.topic} outside its prefix`);
    }
    return m;
  };
  const d = index('debezium', dbz, DBZ_PREFIX);
  const r = index('relay', relay, RELAY_PREFIX);
  const ids = [...new Set([...expectedIds, ...d.keys(), ...r.keys()])];
  for (const id of ids) {
    const a = d.get(id);
    const b = r.get(id);
    if (!a && !b) continue;
    if (!a || !b) {
      diffs.push(`${label(id)}: only published by ${a ? 'debezium' : 'relay'}`);
      continue;
    }
    if (a.topic.slice(DBZ_PREFIX.length) !== b.topic.slice(RELAY_PREFIX.length)) diffs.push(`${label(id)}: topic ${a.topic.slice(DBZ_PREFIX.length)} vs ${b.topic.slice(RELAY_PREFIX.length)}`);
    if (a.key !== b.key) diffs.push(`${label(id)}: key ${JSON.stringify(a.key)} vs ${JSON.stringify(b.key)}`);
    const av = a.value?.toString('utf8') ?? null;
    const bv = b.value?.toString('utf8') ?? null;
    if (!(a.value && b.value && a.value.equals(b.value))) diffs.push(`${label(id)}: value bytes differ`);
    const parse = (text: string | null): string | undefined => {
      if (text === null) return undefined;
      try {
        return JSON.stringify(JSON.parse(text));
      } catch {
        return undefined;
      }
    };
    const parsedEqual = parse(av) !== undefined && parse(av) === parse(bv);
    if (!parsedEqual) diffs.push(`${label(id)}: value differs as JSON`);
    for (const name of [...new Set([...Object.keys(a.headers), ...Object.keys(b.headers)])].sort()) {
      const x = a.headers[name];
      const y = b.headers[name];
      if (x === undefined) diffs.push(`${label(id)}: header ${name} only from relay`);
      else if (y === undefined) diffs.push(`${label(id)}: header ${name} only from debezium`);
      else if (x !== y) diffs.push(`${label(id)}: header ${name} differs (${x} vs ${y})`);
    }
  }
  return diffs.sort();
}

/** The differences the test expects, exactly (packages/relay/README.md, "Switching between this relay and Debezium"). */
function knownDifferences(): string[] {
  const out: string[] = [];
  for (const c of [...committed, ...sentinels]) {
    const l = c.label;
    // xid8 has no Debezium converter (the column is excluded), and a jsonb column cannot become several headers.
    out.push(`${l}: header outbox-transaction-id only from relay`);
    if (c.message.headers?.traceparent) out.push(`${l}: header traceparent only from relay`);
  }
  // Deleted in the transaction that inserted it: the WAL still holds the insert, and the router publishes it.
  out.push(`${insertedAndDeleted.label}: only published by debezium`);
  return out.sort();
}

describe('Debezium outbox router on the table migrateOutbox() creates, against the relay', () => {
  const peer = debeziumPeer({ pgPort: 15440, restPort: 18083 });
  const received: Received[] = [];
  let consumer: Consumer | undefined;
  const progress = (line: string) => {
    if (process.env.BENCH_PEERS_VERBOSE) process.stderr.write(`[interop] ${line}\n`);
  };
  const allTopics = TYPES.flatMap((t) => [dbzTopic(t), relayTopic(t)]);
  let admin: Admin | undefined;

  async function waitFor(what: string, done: () => boolean, timeoutMs: number, health?: () => Promise<string | undefined>) {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (health) {
        const why = await health();
        if (why?.startsWith('connector FAILED')) throw new Error(`${what}: ${why}`);
      }
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s; got ${received.length} messages`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    const ready = await peer.prepare(progress);
    expect(ready.ok ? '' : ready.reason, 'prepare() failed').toBe('');
    await withClient(peer.db.url('postgres'), async (c) => {
      await c.query(`drop database if exists ${DATABASE} with (force)`);
      await c.query(`create database ${DATABASE}`);
    });
    // OUR table: the migrations the relay's users run.
    await withClient(peer.db.url(DATABASE), async (c) => {
      await migrateOutbox(pgExecutor(c));
      await c.query(`create publication ${PUBLICATION} for table public.outbox`);
      await c.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [SLOT]);
    });
    const k = lab.kafka({ clientId: 'dbz-interop' });
    admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: allTopics.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })), waitForLeaders: true });
    consumer = k.consumer({ groupId: `dbz-interop-${run}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: allTopics, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        received.push({ topic, key: message.key ? message.key.toString('utf8') : null, value: message.value, headers: headerText(message.headers) });
      },
    });
  }, 600_000);

  afterAll(async () => {
    await consumer?.disconnect().catch(() => {});
    await peer.deleteConnector(CONNECTOR).catch(() => {});
    if (peer.db.running()) {
      await dropSlot(peer.db.url(DATABASE), SLOT, 20_000).catch(() => {});
      await withClient(peer.db.url('postgres'), (c) => c.query(`drop database if exists ${DATABASE} with (force)`)).catch(() => {});
    }
    await admin?.deleteTopics({ topics: allTopics }).catch(() => {});
    await admin?.disconnect().catch(() => {});
    await peer.close();
    expect(peer.closeReport?.slots ?? []).toEqual([]);
  }, 120_000);

  it('publishes the same events, with exactly the known differences', async () => {
    const config = connectorConfig(peer);
    expect(config['table.include.list']).toBe('public.outbox');
    await peer.putConnector(CONNECTOR, config);

    const pool = new pg.Pool({ connectionString: peer.db.url(DATABASE), max: 2 });
    pool.on('error', () => {});
    const tx = async (work: (c: pg.PoolClient) => Promise<void>, end: 'commit' | 'rollback' = 'commit') => {
      const c = await pool.connect();
      try {
        await c.query('begin');
        await work(c);
        await c.query(end);
      } finally {
        c.release();
      }
    };
    try {
      // Several transactions, several keys; one rolled back; one inserts and deletes; the sentinels last.
      await tx((c) => enqueue(pgExecutor(c), committed.slice(0, 4).map((x) => x.message)).then(() => {}));
      await tx((c) => enqueue(pgExecutor(c), rolledBack.map((x) => x.message)).then(() => {}), 'rollback');
      await tx((c) => enqueue(pgExecutor(c), committed.slice(4).map((x) => x.message)).then(() => {}));
      await tx(async (c) => {
        await enqueue(pgExecutor(c), insertedAndDeleted.message);
        await c.query('delete from outbox where id = $1', [insertedAndDeleted.message.id]);
      });
      await tx((c) => enqueue(pgExecutor(c), sentinels.map((x) => x.message)).then(() => {}));

      const seen = (prefix: string) => sentinels.every((s) => received.some((r) => r.topic.startsWith(prefix) && r.headers.id === s.message.id));
      await waitFor('Debezium publishing the sentinels', () => seen(DBZ_PREFIX), 120_000, () => peer.connectorHealth(CONNECTOR));
      // The connector is done with these rows: delete it before the relay deletes them (the deletes are not events).
      await peer.deleteConnector(CONNECTOR);

      const relay = await startRelay({
        database: peer.db.url(DATABASE),
        brokers: lab.config.kafka.brokers,
        topic: `${RELAY_PREFIX}${DEFAULT_TOPIC}`,
        port: false,
        logLevel: 'silent',
        pollIntervalMs: 100,
      });
      try {
        await relay.waitUntilDrained({ timeoutMs: 60_000 });
        await waitFor('the relay publishing the sentinels', () => seen(RELAY_PREFIX), 60_000);
      } finally {
        await relay.stop();
      }
      // The relay published and deleted every committed row.
      const left = await pool.query<{ n: string }>('select count(*) as n from outbox');
      expect(left.rows[0]?.n).toBe('0');
    } finally {
      await pool.end();
    }

    const dbz = received.filter((r) => r.topic.startsWith(DBZ_PREFIX));
    const rel = received.filter((r) => r.topic.startsWith(RELAY_PREFIX));
    const label = (id: string) => byId.get(id)?.label ?? `foreign ${id}`;
    const expectedIds = [...committed, ...sentinels].map((c) => c.message.id);

    // Topic naming: both map aggregatetype to outbox.event.<aggregatetype> (the relay's default, the router's default).
    expect(DEFAULT_TOPIC).toBe('outbox.event.${aggregatetype}');
    expect(JSON.parse(readFileSync(CONNECTOR_FILE, 'utf8'))['transforms.outbox.route.topic.replacement']).toBe('outbox.event.${routedByValue}');
    for (const r of received) expect(TYPES.map((t) => [dbzTopic(t), relayTopic(t)]).flat()).toContain(r.topic);
    for (const r of received) {
      const c = byId.get(r.headers.id ?? '');
      expect(c, `unknown message ${JSON.stringify(r.headers)}`).toBeDefined();
      if (c) expect(r.topic.endsWith(`outbox.event.${c.message.aggregateType}`)).toBe(true);
    }
    // Rolled-back rows: absent on both sides.
    for (const c of rolledBack) expect(received.filter((r) => r.headers.id === c.message.id)).toEqual([]);

    const diffs = compareSides(dbz, rel, expectedIds, label);
    if (process.env.BENCH_PEERS_VERBOSE) process.stderr.write(`[interop] differences:\n${diffs.join('\n')}\n`);
    expect(diffs).toEqual(knownDifferences());

    // What each side sends for the unicode payload, byte for byte: both jsonb's text form.
    const unicode = committed.find((c) => c.label === 'o2-unicode')!;
    const relayValue = rel.find((r) => r.headers.id === unicode.message.id)!.value!.toString('utf8');
    const dbzValue = dbz.find((r) => r.headers.id === unicode.message.id)!.value!.toString('utf8');
    expect(JSON.parse(dbzValue)).toEqual(unicode.message.payload);
    expect(relayValue).toBe(dbzValue);

    // Negative controls: the comparison reports a changed relay encoding and a missing message.
    const asciiEscaped = rel.map((r) => ({ ...r, value: r.value ? Buffer.from(r.value.toString('utf8').replace(/[\u0080-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)) : r.value }));
    const withEscapes = compareSides(dbz, asciiEscaped, expectedIds, label);
    expect(withEscapes).not.toEqual(knownDifferences());
    expect(withEscapes).toContain('o2-string: value bytes differ');
    const reEncoded = rel.map((r) => ({ ...r, value: r.value ? Buffer.from(JSON.stringify({ payload: JSON.parse(r.value.toString('utf8')) })) : r.value }));
    expect(compareSides(dbz, reEncoded, expectedIds, label)).toContain('o3-number: value differs as JSON');
    const oneMissing = compareSides(dbz, rel.slice(1), expectedIds, label);
    expect(oneMissing).toContain(`${label(rel[0]!.headers.id!)}: only published by debezium`);
  }, 300_000);
});
