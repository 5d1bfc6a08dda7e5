/** Shared by the relay's tests: the lab's schema, a keyed writer, the relay on the lab, the audit of a topic. */
import { randomUUID } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import pg from 'pg';
import type { Lab } from '@dual-write/testkit';
import { runAudit, type AuditReport } from '@dual-write/audit';
import { enqueue, migrateOutbox, pgExecutor } from '@dual-write/outbox';
import { startRelay, type Relay, type RelayOptions } from '../src/index.ts';
import { activePair } from './conformance/pairs.ts';

/** The outbox, plus a table the audit compares the topic with: one `items` row per message written. */
export async function migrateForTests(client: pg.Client): Promise<void> {
  await migrateOutbox(client);
  await client.query(`create table items (
    id uuid primary key,
    key text not null,
    n integer not null,
    created_at timestamptz not null default now()
  )`);
}

export interface Written {
  id: string;
  key: string;
  n: number;
}

/**
 * One writer transaction: for each (key, n) an `items` row and its outbox message, committed together.
 * `finish` decides commit or rollback.
 */
export async function writeItems(client: pg.ClientBase, items: { key: string; n: number; bytes?: number }[], finish: 'commit' | 'rollback' = 'commit'): Promise<Written[]> {
  await client.query('begin');
  try {
    const written = items.map((i) => ({ id: randomUUID(), key: i.key, n: i.n }));
    for (const w of written) await client.query('insert into items (id, key, n) values ($1, $2, $3)', [w.id, w.key, w.n]);
    await enqueue(
      pgExecutor(client),
      items.map((item, i) => ({
        aggregateType: 'item',
        aggregateId: item.key,
        type: 'ItemWritten',
        payload: { id: written[i]!.id, key: item.key, n: item.n, ...(item.bytes ? { blob: randomText(item.bytes) } : {}) },
      })),
    );
    await client.query(finish);
    return finish === 'commit' ? written : [];
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  }
}

/** Incompressible text, so a large payload stays large on the wire. */
export function randomText(bytes: number): string {
  let s = '';
  while (s.length < bytes) s += randomUUID().replace(/-/g, '');
  return s.slice(0, bytes);
}

/**
 * A writer that commits a keyed stream: transaction after transaction, each with `perTx` messages of keys
 * chosen round-robin; per key, n increases in commit order (one writer, so commits are serial).
 */
export class KeyedWriter {
  readonly written: Written[] = [];
  private readonly next = new Map<string, number>();
  private stopped = false;
  private done: Promise<void> | undefined;
  private waiters: { count: number; resolve: () => void }[] = [];

  private notify(all = false): void {
    this.waiters = this.waiters.filter((w) => {
      if (!all && this.written.length < w.count) return true;
      w.resolve();
      return false;
    });
  }

  constructor(private readonly pool: pg.Pool, private readonly keys: string[], private readonly perTx = 3) {}

  /** Writes until stop() or `max` messages; `paceMs` between transactions keeps the stream going for a while. */
  start(opts: { max: number; paceMs?: number }): this {
    writers.add(this);
    this.done = (async () => {
      const client = await this.pool.connect();
      try {
        let k = 0;
        while (!this.stopped && this.written.length < opts.max) {
          const items = Array.from({ length: this.perTx }, () => {
            const key = this.keys[k++ % this.keys.length]!;
            const n = this.next.get(key) ?? 0;
            this.next.set(key, n + 1);
            return { key, n };
          });
          this.written.push(...(await writeItems(client, items)));
          this.notify();
          if (opts.paceMs) await new Promise((r) => setTimeout(r, opts.paceMs));
        }
      } finally {
        client.release();
        this.notify(true);
      }
    })();
    return this;
  }

  /** Resolves once at least `count` messages are committed (or the writer ended). */
  reached(count: number): Promise<void> {
    if (this.written.length >= count || !this.done) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  async stop(): Promise<Written[]> {
    this.stopped = true;
    await this.done;
    return this.written;
  }

  finished(): Promise<void> {
    return this.done!;
  }
}

const running = new Set<Relay>();
const children = new Set<RelayProcess>();
const writers = new Set<KeyedWriter>();

/**
 * For afterEach: stops the writers (a failed test must not go on committing into the next test's tables), the
 * relays, and kills the relay processes a (failed) test left behind.
 */
export async function cleanupRelays(): Promise<void> {
  await Promise.all([...writers].map((w) => w.stop().catch(() => {})));
  writers.clear();
  for (const child of children) if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
  children.clear();
  await Promise.all([...running].map((r) => r.stop().catch(() => {})));
  running.clear();
}

/**
 * A relay on this file's database and topic, through the proxies (so faults hit it), quiet unless RELAY_TEST_LOG
 * is set; with the store and publisher of the active pair (conformance/pairs.ts) unless `opts` names others.
 */
export async function relayOn(lab: Lab, topic: string, opts: RelayOptions = {}): Promise<Relay> {
  const pair = activePair();
  const relay = await startRelay({
    store: pair.store,
    publisher: pair.publisher,
    database: lab.db.appUrl,
    brokers: lab.config.kafka.appBrokers,
    topic,
    port: 0,
    logLevel: (process.env.RELAY_TEST_LOG as RelayOptions['logLevel']) ?? 'silent',
    pollIntervalMs: 250,
    rebalanceIntervalMs: 500,
    ...opts,
  });
  running.add(relay);
  return relay;
}

/**
 * The independent audit of `items` against the topic: entity = json:id, event = header:id, per-key order by the
 * writer's own counter `n` (json:n: per key, n grows in commit order) — not by anything the relay computes.
 * Pass 'header:outbox-sequence' to check the relay's own sequence header instead.
 */
export function auditItems(lab: Lab, topic: string, sequence = 'json:n'): Promise<AuditReport> {
  return runAudit(
    { databaseUrl: lab.db.url, table: 'items', topic, brokers: lab.config.kafka.brokers, entityId: 'json:id', eventId: 'header:id', sequence, groupBy: 'key', graceMs: 0 },
    { kafka: lab.kafka() },
  );
}

/** Empties `items` and the outbox tables: the audit compares the whole table with one test's topic. */
export async function resetTables(lab: Lab): Promise<void> {
  const pool = lab.pool({ max: 1 });
  try {
    await pool.query('truncate items, outbox, outbox_dead_letters, inbox');
  } finally {
    await pool.end();
  }
}

/** Rows still in the outbox. */
export async function outboxCount(lab: Lab): Promise<number> {
  const pool = lab.pool({ max: 1 });
  try {
    return (await pool.query('select count(*)::int as n from outbox')).rows[0].n;
  } finally {
    await pool.end();
  }
}

/** Waits for one event of an emitter-like source, with a timeout that names what was awaited. */
export function nextEvent<T>(on: (fn: (v: T) => void) => () => void, what: string, timeoutMs = 30_000, accept: (v: T) => boolean = () => true): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const off = on((v) => {
      if (!accept(v)) return;
      clearTimeout(timer);
      off();
      resolve(v);
    });
  });
}

export const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');

/**
 * The environment of a relay process on this file's database and `topic`, through the proxies (so faults hit it):
 * the product's own settings, nothing of the lab's.
 */
export function relayEnv(lab: Lab, topic: string, extra: Record<string, string> = {}): Record<string, string> {
  return { DATABASE_URL: lab.db.appUrl, KAFKA_BROKERS: lab.config.kafka.appBrokers.join(','), RELAY_TOPIC: topic, ...extra };
}

/**
 * The relay's bin as a child process (node --import tsx packages/relay/test/fixtures/relay-bin.ts: runRelayCli() with the
 * active pair, as src/bin-relay.ts with the defaults), its JSON log lines parsed.
 */
export class RelayProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly listeners = new Set<(line: Record<string, unknown>) => void>();
  stderr = '';

  /** `entry`: the script to run instead of the relay's main (a broken variant for a negative control). */
  constructor(env: Record<string, string>, args: string[] = [], entry = 'packages/relay/test/fixtures/relay-bin.ts') {
    this.child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    readline.createInterface({ input: this.child.stdout! }).on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        line = { msg: text };
      }
      this.lines.push(line);
      for (const l of this.listeners) l(line);
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    children.add(this);
  }

  /** The first log line (already seen, or from now on) that matches; rejects if the process exits first. */
  waitForLine(match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const seen = this.lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(onLine);
        this.child.off('exit', onExit);
      };
      const onLine = (line: Record<string, unknown>) => {
        if (!match(line)) return;
        done();
        resolve(line);
      };
      const onExit = () => {
        done();
        reject(new Error(`the relay process exited before ${what}: ${this.stderr.slice(-1000)}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; relay stderr: ${this.stderr.slice(-1000)}`));
      }, timeoutMs);
      this.listeners.add(onLine);
      this.child.once('exit', onExit);
    });
  }
}
