/**
 * `useLab()` — one call at the top of an integration test file gives it:
 *  - its own PostgreSQL database (direct URL and the URL through the `postgres` proxy),
 *  - its own Kafka topic names (created on demand, deleted afterwards),
 *  - a toxic helper whose toxics are removed after each test,
 *  - a leak check that fails the file if it left a pool or Kafka client open,
 *  - a cross-process lock, so test files of several packages (e.g. `pnpm turbo test`) never share a toxic.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { resolveConfig, withDatabase, type LabConfig } from '@dual-write/config';
import { LeakTracker } from './leaks.ts';
import { acquireLabLock, ToxicHelper } from '@dual-write/faults';


export interface LabOptions {
  /** Create a database for this file (default true). */
  database?: boolean;
  /** SQL run once in the new database, e.g. migrations. */
  initSql?: string | ((client: pg.Client) => Promise<void>);
}

export interface Lab {
  readonly config: LabConfig;
  /** A short name unique to this file and run, used in database and topic names. */
  readonly id: string;
  /** This file's database name, its direct URL and the URL through the `postgres` proxy. */
  readonly db: { name: string; url: string; appUrl: string };
  readonly toxics: ToxicHelper;
  readonly leaks: LeakTracker;
  /** A pg pool to this file's database (direct unless `via: 'proxy'`), closed automatically at the end. */
  pool(opts?: { via?: 'direct' | 'proxy'; max?: number }): pg.Pool;
  /** A kafkajs client: direct to the broker, or through the `kafka` proxy. Producers/consumers/admins it makes are leak-tracked. */
  kafka(opts?: { via?: 'direct' | 'proxy'; clientId?: string } & Partial<KafkaConfig>): Kafka;
  /** Creates (once) and returns a topic name unique to this file; `configs` are topic settings, e.g. { 'message.timestamp.type': 'LogAppendTime' }. */
  topic(base: string, partitions?: number, configs?: Record<string, string>): Promise<string>;
}

function slugFromTestFile(): string {
  const file = expect.getState().testPath ?? 'test';
  const base = path.basename(file).replace(/\.test\.[cm]?[jt]s$/, '');
  return base.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 24);
}

export function useLab(opts: LabOptions = {}): Lab {
  const config = resolveConfig();
  const leaks = new LeakTracker();
  const toxics = new ToxicHelper(config.toxiproxy.url);
  const state = { id: '', dbName: '', releaseLock: undefined as (() => Promise<void>) | undefined, topics: new Set<string>() };
  const pools: pg.Pool[] = [];

  const lab: Lab = {
    config,
    get id() {
      return state.id;
    },
    get db() {
      return { name: state.dbName, url: withDatabase(config.database.url, state.dbName), appUrl: withDatabase(config.database.appUrl, state.dbName) };
    },
    toxics,
    leaks,
    pool(o = {}) {
      const url = o.via === 'proxy' ? lab.db.appUrl : lab.db.url;
      const pool = new pg.Pool({ connectionString: url, max: o.max ?? 5 });
      pool.on('error', () => {}); // a toxic may kill idle clients; tests assert on query errors instead
      pools.push(pool);
      return pool;
    },
    kafka(o = {}) {
      const { via, clientId, ...rest } = o;
      const kafka = new Kafka({
        clientId: clientId ?? `test-${state.id}`,
        brokers: via === 'proxy' ? config.kafka.appBrokers : config.kafka.brokers,
        logLevel: logLevel.NOTHING,
        ...rest,
      });
      let n = 0;
      const wrap = <T extends object>(kind: string, obj: T) => leaks.trackCloseable(`kafka ${kind} #${++n} (${clientId ?? 'test'})`, obj, 'disconnect' as keyof T & string);
      return new Proxy(kafka, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (prop === 'producer' || prop === 'consumer' || prop === 'admin') {
            return (...args: unknown[]) => wrap(String(prop), (value as (...a: unknown[]) => object).apply(target, args));
          }
          return value;
        },
      });
    },
    async topic(base, partitions = 3, configs = {}) {
      const name = `t.${state.id}.${base}`;
      if (!state.topics.has(name)) {
        const admin = new Kafka({ clientId: 'testkit', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
        await admin.connect();
        try {
          const configEntries = Object.entries(configs).map(([key, value]) => ({ name: key, value }));
          await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1, ...(configEntries.length ? { configEntries } : {}) }], waitForLeaders: true });
        } finally {
          await admin.disconnect();
        }
        state.topics.add(name);
      }
      return name;
    },
  };

  /** One statement on the `postgres` database, on a connection of its own. */
  const adminQuery = async (sql: string) => {
    const c = new pg.Client({ connectionString: withDatabase(config.database.url, 'postgres') });
    c.on('error', () => {});
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end().catch(() => {});
    }
  };

  beforeAll(async () => {
    const slug = slugFromTestFile();
    const rand = randomBytes(3).toString('hex');
    state.id = `${slug}_${rand}`;
    // One integration file at a time across processes (the lock is taken again if PostgreSQL restarts).
    state.releaseLock = await acquireLabLock(config, () => {});
    // We own the proxies now: clear whatever a crashed run may have left on them.
    await toxics.client.reset();
    if (opts.database !== false) {
      state.dbName = `t_${state.id}`.slice(0, 63);
      await adminQuery(`create database "${state.dbName}"`);
      if (opts.initSql) {
        const c = new pg.Client({ connectionString: lab.db.url });
        await c.connect();
        try {
          if (typeof opts.initSql === 'string') await c.query(opts.initSql);
          else await opts.initSql(c);
        } finally {
          await c.end();
        }
      }
    }
  });

  afterEach(async () => {
    await toxics.cleanup();
  });

  afterAll(async () => {
    let leakError: unknown;
    try {
      leaks.assertNoneOpen();
    } catch (err) {
      leakError = err;
    }
    await toxics.cleanup().catch(() => {});
    for (const p of pools) if (!p.ended) await p.end().catch(() => {});
    if (state.topics.size) {
      const admin = new Kafka({ clientId: 'testkit', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [...state.topics] }).catch(() => {});
      await admin.disconnect();
    }
    if (state.dbName) await adminQuery(`drop database if exists "${state.dbName}" with (force)`).catch(() => {});
    await state.releaseLock?.();
    if (leakError) throw leakError;
  });

  return lab;
}

/** A stable short hash, for names derived from long strings. */
export function shortHash(s: string): string {
  return createHash('sha1').update(s).digest('hex').slice(0, 8);
}
