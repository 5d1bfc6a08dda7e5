/**
 * The relay as a child process (node --import tsx services/relay/src/main.ts), configured by the environment
 * on the DIRECT endpoints, and a "gate": a transaction kept open (its xid assigned) while the relays start,
 * so the backlog written after it stays invisible to them (the relay never publishes a row behind an open
 * older transaction) until the gate commits — the drain's clock starts there, with every instance ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import pg from 'pg';
import { KEY_LOCK_BUCKETS, outboxTables } from '@dual-write/outbox';
import { SLOT_LOCK_CLASS } from '@dual-write/relay';
import { brokers, config, sleep, withClient } from './common.ts';

export interface RelayChildOptions {
  databaseUrl: string;
  topic: string;
  batchSize: number;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir', dir]. */
  nodeFlags?: string[];
  /** Extra environment, applied last, e.g. { RELAY_LISTEN: 'false', RELAY_POLL_INTERVAL_MS: '1000' }. */
  env?: Record<string, string>;
}

export class RelayChild {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private started = false;
  private startWaiters: (() => void)[] = [];
  stderr = '';
  lastLines: string[] = [];

  constructor(opts: RelayChildOptions) {
    this.child = spawn(process.execPath, [...(opts.nodeFlags ?? []), '--import', 'tsx', 'services/relay/src/main.ts'], {
      cwd: config.repoRoot,
      env: {
        ...process.env,
        VIA_PROXY: 'false',
        DATABASE_URL: opts.databaseUrl,
        KAFKA_BROKERS: brokers.join(','),
        ORDERS_TOPIC: opts.topic,
        RELAY_PORT: '0',
        RELAY_BATCH_SIZE: String(opts.batchSize),
        RELAY_LOG_LEVEL: 'info',
        RELAY_LISTEN: 'true',
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    readline.createInterface({ input: this.child.stdout! }).on('line', (text) => {
      this.lastLines = [...this.lastLines.slice(-20), text];
      if (!this.started && text.includes('"relay started"')) {
        this.started = true;
        for (const w of this.startWaiters.splice(0)) w();
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves once the relay logged "relay started" (it owns its slots); rejects if it exits first or after timeoutMs. */
  waitStarted(timeoutMs = 60_000): Promise<void> {
    if (this.started) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the relay process did not start within ${timeoutMs} ms: ${this.stderr.slice(-800)} ${this.lastLines.join('\n')}`)), timeoutMs);
      this.child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the relay process exited (${code}) before it started: ${this.stderr.slice(-800)} ${this.lastLines.join('\n')}`));
      });
      this.startWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** SIGTERM (graceful: the --cpu-prof profile is written on exit), then SIGKILL after graceMs. */
  async stop(graceMs = 20_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

const children = new Set<RelayChild>();

export function startRelayChild(opts: RelayChildOptions): RelayChild {
  const c = new RelayChild(opts);
  children.add(c);
  void c.exited.then(() => children.delete(c));
  return c;
}

/** For Ctrl-C and failures: kill every relay process still running. */
export function killAllRelayChildren(): void {
  for (const c of children) c.child.kill('SIGKILL');
}

/** A transaction holding every key bucket's lock: every row committed meanwhile is held back by every relay until commit(). */
export async function openGate(url: string): Promise<{ commit(): Promise<void>; close(): Promise<void> }> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => {});
  await c.connect();
  await c.query('begin');
  // The relay holds back a committed row while an open transaction holds its key's bucket lock (what every writer's
  // INSERT takes, migration 000002): holding all of them, shared, holds back the whole backlog until the commit.
  await c.query('select count(pg_advisory_xact_lock_shared($1::int, b)) from generate_series(0, $2::int - 1) b', [outboxTables().keyLockClass, KEY_LOCK_BUCKETS]);
  let done = false;
  return {
    async commit() {
      if (done) return;
      done = true;
      // Wakes the relays at the commit, as a writer's own commit would (the backlog's NOTIFYs came while it was held).
      await c.query('select pg_notify($1, $2)', [outboxTables().channel, '']);
      await c.query('commit');
      await c.end().catch(() => {});
    },
    async close() {
      if (done) return;
      done = true;
      await c.query('rollback').catch(() => {});
      await c.end().catch(() => {});
    },
  };
}

/**
 * Waits until `instances` relays hold the 32 (or `slots`) slot locks of this database between them, each its
 * fair share or one less: the instances have settled.
 */
export async function waitSlotsSettled(url: string, instances: number, slots = config.relay.slots, timeoutMs = 30_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  const fair = Math.ceil(slots / instances);
  return withClient(url, async (c) => {
    for (;;) {
      const { rows } = await c.query<{ n: number }>(
        `select count(*)::int as n from pg_locks
         where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())
           and classid::bigint = $1 and objsubid = 2 and granted group by pid`,
        [SLOT_LOCK_CLASS],
      );
      const shares = rows.map((r) => r.n);
      const total = shares.reduce((a, b) => a + b, 0);
      if (shares.length === instances && total === slots && shares.every((n) => n >= fair - 1)) return shares;
      if (Date.now() > deadline) throw new Error(`relay slots did not settle among ${instances} instances: ${shares.join('/') || 'none'} of ${slots}`);
      await sleep(100);
    }
  });
}

export const RELAY_MAIN = path.join('services', 'relay', 'src', 'main.ts');
