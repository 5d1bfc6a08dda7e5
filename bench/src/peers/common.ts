/**
 * What the two peers share: their own PostgreSQL (wal_level=logical, from the stack's embedded binaries, on a
 * port of its own: the shared stack's server is never touched), scratch topics on the stack's Kafka, and the two
 * measurements, written once so that both peers (and the relay's own benchmark) are measured the same way:
 *
 * - drain: a backlog is written while nothing publishes, then the publisher starts; the rate is counted from the
 *   first message on the topic to the last (start-up is reported apart), by the topic's high watermarks; then every
 *   row id is read back from the topic (no loss, duplicates counted).
 * - latency: the method of the relay's latency benchmark (bench/src/lib/latency.ts, formerly services/relay/bench/latency.ts): open loop (transaction i due at t0 + i/rate, 8 writer
 *   connections), one outbox row per transaction, latency = (time the consumer's fetch response holding the message
 *   arrived) − (time COMMIT returned), both performance.now() in this one process; the first warm-up seconds of
 *   commits are left out; lost = committed but not seen within the grace period; duplicates = ids seen twice.
 */
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { canConnect, isAlive, isListening, postgresBinaries, serverUser, run, runningFromPidFile, startDetached, stopFromPidFile, tailFile, whoListensOn } from '@dual-write/stack';
import { DwError, isDwError, resolveConfig, type LabConfig } from '@dual-write/config';
import { payloadOf, percentile, withClient } from '../lib/common.ts';
import { commitAtSteadyRate, summarizeLatencies } from '../lib/latency.ts';
import type { DrainResult, DrainWorkload, LatencyResult, LatencyWorkload, Outcome, Progress } from '../types.ts';

export { payloadOf, percentile };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Awaits `work` for at most `ms`; on time-out says so through `progress` and goes on (tear-down must not hang). */
export async function within(ms: number, label: string, progress: Progress, work: () => Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), ms); });
  try {
    const r = await Promise.race([work().then(() => 'ok' as const, (err: unknown) => { progress(`${label}: ${describeError(err)}`); return 'error' as const; }), timeout]);
    if (r === 'timeout') progress(`${label}: still not done after ${ms / 1000} s, going on without it`);
  } finally {
    clearTimeout(timer);
  }
}

let cachedConfig: LabConfig | undefined;
export function labConfig(): LabConfig {
  cachedConfig ??= resolveConfig();
  return cachedConfig;
}

export function stackPaths() {
  const config = labConfig();
  return {
    logs: path.join(config.stackDir, 'logs'),
    run: path.join(config.stackDir, 'run'),
    peers: path.join(config.stackDir, 'peers'),
    cache: config.cacheDir,
    logFile: (name: string) => path.join(config.stackDir, 'logs', `${name}.log`),
  };
}

/** One line for a reason: a DwError's code, message and hint; any other error's message. */
export function describeError(err: unknown): string {
  if (isDwError(err)) return `[${err.code}] ${err.message} (${err.hint})`;
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (cause: ${err.cause.message})` : '';
    return `${err.message || err.name}${cause}`;
  }
  return String(err);
}

// ───────────────────────────── own PostgreSQL ─────────────────────────────



/**
 * A PostgreSQL server of a peer's own: the stack's embedded binaries and the stack's server settings (so the
 * database side is the same as the relay's), plus wal_level=logical; data in STACK_DIR/peers/<name>/pgdata (kept
 * between runs: initdb only once), log in STACK_DIR/logs/peer-<name>-postgres.log.
 */
export class OwnPostgres {
  readonly dataDir: string;
  readonly pidFile: string;
  readonly logFile: string;
  readonly user: string;
  readonly password: string;
  readonly database = 'bench_peer';
  pid: number | undefined;

  constructor(readonly name: string, readonly port: number) {
    const p = stackPaths();
    this.dataDir = path.join(p.peers, name, 'pgdata');
    this.pidFile = path.join(p.run, `peer-${name}-postgres.pid`);
    this.logFile = p.logFile(`peer-${name}-postgres`);
    const url = new URL(labConfig().database.url);
    this.user = decodeURIComponent(url.username || 'postgres');
    this.password = decodeURIComponent(url.password || 'postgres');
  }

  url(database = this.database): string {
    return `postgres://${encodeURIComponent(this.user)}:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${database}`;
  }

  /** pg connection settings (for libraries that take a config object). */
  clientConfig(database = this.database) {
    return { host: '127.0.0.1', port: this.port, user: this.user, password: this.password, database };
  }

  async start(progress: Progress): Promise<void> {
    const leftover = runningFromPidFile(this.pidFile);
    if (leftover) {
      progress(`${this.name}: stopping a PostgreSQL left over by an earlier run (pid ${leftover.pid})`);
      await stopFromPidFile(this.pidFile, 'SIGINT');
    }
    if (await isListening('127.0.0.1', this.port)) {
      const who = whoListensOn(this.port);
      throw new DwError('DW_PORT_TAKEN', `Port ${this.port}, needed for the ${this.name} peer's own PostgreSQL, is taken${who ? ` by ${who}` : ' by another program'}.`, `Stop that program, or give the peer another port (its pgPort option).`);
    }
    const bins = postgresBinaries();
    const owner = serverUser();
    const root = labConfig().stackDir;
    const peerDir = path.dirname(this.dataDir);
    mkdirSync(peerDir, { recursive: true });
    mkdirSync(path.dirname(this.logFile), { recursive: true });
    if (owner) for (const dir of [root, path.dirname(peerDir), peerDir]) chmodSync(dir, 0o755); // the `postgres` user must reach its data folder
    if (!existsSync(path.join(this.dataDir, 'PG_VERSION'))) {
      progress(`${this.name}: initdb of its own PostgreSQL in ${this.dataDir} (first run only)…`);
      rmSync(this.dataDir, { recursive: true, force: true });
      mkdirSync(this.dataDir, { recursive: true });
      const pwFile = path.join(peerDir, 'pwfile');
      writeFileSync(pwFile, `${this.password}\n`, { mode: 0o600 });
      if (owner) run('chown', ['-R', `${owner.uid}:${owner.gid}`, peerDir]);
      const args = ['-D', this.dataDir, '-U', this.user, `--pwfile=${pwFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C'];
      const r = owner
        ? run('setpriv', ['--reuid', String(owner.uid), '--regid', String(owner.gid), '--clear-groups', bins.initdb, ...args])
        : run(bins.initdb, args);
      rmSync(pwFile, { force: true });
      if (r.status !== 0) {
        throw new DwError('DW_PROCESS_FAILED', `initdb for the ${this.name} peer failed (exit ${r.status}):\n${(r.stderr || r.stdout).slice(-2000)}`, `Remove ${this.dataDir} and try again; check free disk space.`);
      }
    }
    writeFileSync(this.logFile, '', { flag: 'a' });
    if (owner) {
      run('chown', ['-R', `${owner.uid}:${owner.gid}`, peerDir]);
      run('chown', [`${owner.uid}:${owner.gid}`, this.logFile]);
    }
    const rec = startDetached({
      command: bins.postgres,
      args: [
        '-D', this.dataDir,
        '-p', String(this.port),
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'unix_socket_directories=',
        // The shared stack's settings (packages/stack/src/postgres.ts), so the database side matches the relay's:
        '-c', 'max_connections=300',
        '-c', 'wal_level=logical',
        '-c', 'shared_buffers=256MB',
        '-c', 'max_replication_slots=10',
        '-c', 'max_wal_senders=10',
      ],
      logFile: this.logFile,
      pidFile: this.pidFile,
      marker: this.dataDir,
      uid: owner?.uid,
      gid: owner?.gid,
    });
    this.pid = rec.pid;
    const deadline = Date.now() + 60_000;
    while (!(await canConnect(this.url('postgres')))) {
      if (!isAlive(rec.pid)) {
        throw new DwError('DW_PROCESS_FAILED', `The ${this.name} peer's PostgreSQL exited during start-up. Last lines of ${this.logFile}:\n${tailFile(this.logFile, 15)}`, `Read ${this.logFile}; remove ${this.dataDir} if it is damaged.`);
      }
      if (Date.now() > deadline) {
        throw new DwError('DW_NOT_READY', `The ${this.name} peer's PostgreSQL did not accept connections within 60 s. Last lines of ${this.logFile}:\n${tailFile(this.logFile, 15)}`, `Read ${this.logFile}.`);
      }
      await sleep(250);
    }
    const admin = new pg.Client({ connectionString: this.url('postgres') });
    admin.on('error', () => {});
    await admin.connect();
    try {
      const wal = (await admin.query<{ wal_level: string }>('show wal_level')).rows[0]?.wal_level;
      if (wal !== 'logical') throw new DwError('DW_PROCESS_FAILED', `The ${this.name} peer's PostgreSQL runs with wal_level=${wal}, not logical.`, `Remove ${this.dataDir} and try again.`);
      // Slots left by a run that was killed hold WAL forever: drop them before anything else.
      await admin.query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where not active');
      const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [this.database]);
      if (!rowCount) await admin.query(`create database ${this.database}`);
    } finally {
      await admin.end().catch(() => {});
    }
    progress(`${this.name}: own PostgreSQL (wal_level=logical) up at 127.0.0.1:${this.port} (pid ${rec.pid})`);
  }

  /** Replication slots that still exist (and the publications of the bench database); for close() checks. */
  async leftovers(): Promise<{ slots: string[]; publications: string[] }> {
    const c = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 3000 });
    c.on('error', () => {});
    try {
      await c.connect();
      const slots = (await c.query<{ slot_name: string }>('select slot_name from pg_replication_slots')).rows.map((r) => r.slot_name);
      const publications = (await c.query<{ pubname: string }>('select pubname from pg_publication')).rows.map((r) => r.pubname);
      return { slots, publications };
    } finally {
      await c.end().catch(() => {});
    }
  }

  running(): boolean {
    return runningFromPidFile(this.pidFile) !== undefined;
  }

  async stop(): Promise<void> {
    await stopFromPidFile(this.pidFile, 'SIGINT', 20_000);
  }
}

/** Runs `sql` on the own database; a fresh connection each time (set-up and tear-down only). */
export { withClient };

/** Drops a replication slot once nothing uses it any more (waits up to `timeoutMs` for its walsender to go). */
export async function dropSlot(url: string, slot: string, timeoutMs = 30_000): Promise<void> {
  await withClient(url, async (c) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await c.query<{ active: boolean; active_pid: number | null }>('select active, active_pid from pg_replication_slots where slot_name = $1', [slot]);
      if (!rows[0]) return;
      if (!rows[0].active) {
        await c.query('select pg_drop_replication_slot($1)', [slot]);
        return;
      }
      if (Date.now() > deadline) {
        // Its consumer is gone or hung: end its walsender, then drop.
        if (rows[0].active_pid) await c.query('select pg_terminate_backend($1)', [rows[0].active_pid]);
        await sleep(500);
        await c.query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1 and not active', [slot]);
        return;
      }
      await sleep(200);
    }
  });
}

// ───────────────────────────── Kafka ─────────────────────────────

export function kafka(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: labConfig().kafka.brokers, logLevel: logLevel.NOTHING });
}

/** Messages on a topic: the sum of its partitions' high watermarks (a fresh topic starts at 0). */
export async function topicMessageCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high), 0);
}

let topicSeq = 0;
/** A fresh topic for one run: bench.peer.<slug>.<pid>.<n>. */
export async function createRunTopic(admin: Admin, slug: string, partitions: number): Promise<string> {
  const name = `bench.peer.${slug}.${process.pid}.${++topicSeq}`;
  await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true });
  return name;
}

/** Checks the stack's Kafka answers; a reason when it does not. */
export async function kafkaReachable(): Promise<string | undefined> {
  const admin = new Kafka({ clientId: 'bench-peer-check', brokers: labConfig().kafka.brokers, logLevel: logLevel.NOTHING, connectionTimeout: 3000, retry: { retries: 1 } }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return undefined;
  } catch (err) {
    return `the stack's Kafka at ${labConfig().kafka.brokers.join(',')} does not answer (${describeError(err)}); start it with \`npm run stack -- up\``;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

// ───────────────────────────── the measurements ─────────────────────────────

/** One outbox row as the peers' writers create it; `id` is the event id that comes back as the Kafka header `id`. */
export interface PeerRow {
  id: string;
  aggregateType: string;
  aggregateId: string;
  type: string;
  payload: Record<string, unknown>;
}

export function makeRow(n: number, keys: number, payloadBytes: number): PeerRow {
  return { id: randomUUID(), aggregateType: 'order', aggregateId: `key-${n % keys}`, type: 'OrderCreated', payload: payloadOf(n, payloadBytes) };
}

/** What a peer plugs into the shared measurements. */
export interface Pipeline {
  /** URL of the database the rows go to (the peer's own PostgreSQL). */
  databaseUrl: string;
  /** Fresh outbox table and capture set-up (publication + slot): rows committed after this are captured. */
  begin(topic: string, progress: Progress): Promise<void>;
  /** Inserts rows inside the caller's open transaction. */
  insert(client: pg.ClientBase, rows: PeerRow[]): Promise<void>;
  /** Starts publishing to the topic given to begin(). */
  startPublishing(progress: Progress): Promise<void>;
  /** Why the publisher is not making progress, if it knows (e.g. a FAILED connector task). */
  health?(): Promise<string | undefined>;
  /** Observations of the publisher after a run (added to the run's notes). */
  notes?(): Promise<string[]>;
  /** Stops publishing and removes the run's capture set-up (slot, publication). Safe after a failed begin(). */
  end(progress: Progress): Promise<void>;
}

/** The outcome of the last drain's read-back of the topic. */
export interface DrainCheck {
  expected: number;
  distinct: number;
  duplicates: number;
  missing: number;
  /** Messages whose id header is not one of the rows written. */
  foreign: number;
}

/** Reads `topic` from the beginning until every id of `expected` was seen (or `timeoutMs` passes). */
export async function readBack(topic: string, expected: ReadonlySet<string>, timeoutMs = 60_000): Promise<DrainCheck> {
  const seen = new Map<string, number>();
  let foreign = 0;
  const consumer = kafka('bench-peer-readback').consumer({ groupId: `bench-peer-readback-${process.pid}-${randomUUID()}`, maxWaitTimeInMs: 250, maxBytes: 64 * 1024 * 1024 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const id = String(m.headers?.id ?? '');
          if (!expected.has(id)) foreign++;
          seen.set(id, (seen.get(id) ?? 0) + 1);
        }
      },
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      let missing = 0;
      for (const id of expected) if (!seen.has(id)) missing++;
      if (missing === 0) break;
      await sleep(200);
    }
    await sleep(300);
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  let missing = 0;
  let duplicates = 0;
  for (const id of expected) {
    const n = seen.get(id) ?? 0;
    if (n === 0) missing++;
    else duplicates += n - 1;
  }
  return { expected: expected.size, distinct: expected.size - missing, duplicates, missing, foreign };
}

/**
 * Drain: backlog of `rows` rows (1 000 per transaction, keys round robin) written while nothing publishes, then
 * the publisher starts. The rate is (messages that arrived after the first one was seen) ÷ (time from the first
 * message seen to all `rows` seen), polled every 50 ms from the topic's high watermarks: the publisher's start-up
 * (connector registration, replication connection) is reported apart, in the notes, like the relay's benchmark
 * starts its clock once startRelay() has resolved. Then the topic is read back: every row must be there.
 */
export async function runDrain(slug: string, pipeline: Pipeline, w: DrainWorkload, progress: Progress, onCheck: (c: DrainCheck) => void): Promise<Outcome<DrainResult>> {
  const admin = kafka(`bench-peer-${slug}`).admin();
  let topic: string | undefined;
  try {
    await admin.connect();
    topic = await createRunTopic(admin, slug, w.partitions);
    await pipeline.begin(topic, progress);
    const ids = new Set<string>();
    const db = new pg.Client({ connectionString: pipeline.databaseUrl });
    db.on('error', () => {});
    await db.connect();
    const tw = performance.now();
    try {
      let reported = tw;
      for (let done = 0; done < w.rows; done += 1000) {
        const batch = Array.from({ length: Math.min(1000, w.rows - done) }, (_, i) => makeRow(done + i, w.keys, w.payloadBytes));
        await db.query('begin');
        await pipeline.insert(db, batch);
        await db.query('commit');
        for (const r of batch) ids.add(r.id);
        if (done + 1000 >= w.rows || performance.now() - reported > 2000) {
          reported = performance.now();
          progress(`${slug}: backlog ${Math.min(w.rows, done + 1000)}/${w.rows} rows written`);
        }
      }
    } finally {
      await db.end().catch(() => {});
    }
    const writeSeconds = (performance.now() - tw) / 1000;
    if ((await topicMessageCount(admin, topic)) !== 0) {
      return { ran: false, reason: `${slug}: messages reached ${topic} before the publisher was started: the measurement would be wrong` };
    }

    progress(`${slug}: starting the publisher on a backlog of ${w.rows} rows…`);
    const t0 = performance.now();
    await pipeline.startPublishing(progress);
    const started = performance.now();
    let first: { at: number; count: number } | undefined;
    let last = { at: performance.now(), count: 0 };
    let reported = performance.now();
    const stallMs = 120_000;
    let kafkaError: string | undefined;
    for (;;) {
      // The broker may be restarted by someone else's chaos test: a failed offsets request is retried (the stall
      // limit below still ends a drain that never completes).
      let count: number;
      try {
        count = await topicMessageCount(admin, topic);
        if (kafkaError) progress(`${slug}: Kafka answers again`);
        kafkaError = undefined;
      } catch (err) {
        if (!kafkaError) progress(`${slug}: reading the topic's offsets failed (${describeError(err)}); retrying`);
        kafkaError = describeError(err);
        if (performance.now() - last.at > stallMs) return { ran: false, reason: `${slug}: Kafka did not answer for ${stallMs / 1000} s: ${kafkaError}` };
        await sleep(500);
        continue;
      }
      const now = performance.now();
      if (count > 0 && !first) {
        first = { at: now, count };
        progress(`${slug}: first message on Kafka ${((now - t0) / 1000).toFixed(2)} s after the publisher was started`);
      }
      if (count > last.count) last = { at: now, count };
      if (count >= w.rows) break;
      if (now - last.at > stallMs) {
        const health = await pipeline.health?.().catch((err: unknown) => describeError(err));
        return { ran: false, reason: `${slug}: the drain stalled at ${count}/${w.rows} messages for ${stallMs / 1000} s${health ? `: ${health}` : ''}` };
      }
      if (now - reported > 2000) {
        reported = now;
        const health = await pipeline.health?.().catch(() => undefined);
        progress(`${slug}: ${count}/${w.rows} on Kafka${health ? ` (${health})` : ''}`);
      }
      await sleep(50);
    }
    const end = last.at;
    const notes: string[] = [];
    let seconds: number;
    let msgsPerSec: number;
    if (first && first.count < w.rows && end > first.at) {
      msgsPerSec = (w.rows - first.count) / ((end - first.at) / 1000);
      seconds = w.rows / msgsPerSec;
      notes.push(`start-up (publisher started → first message on Kafka): ${((first.at - t0) / 1000).toFixed(2)} s, of which starting the publisher call ${((started - t0) / 1000).toFixed(2)} s`);
      notes.push(`rate = ${w.rows - first.count} messages that arrived after the first observation ÷ ${((end - first.at) / 1000).toFixed(2)} s; wall time from start: ${((end - t0) / 1000).toFixed(2)} s (${Math.round(w.rows / ((end - t0) / 1000))} msg/s including start-up)`);
    } else {
      seconds = (end - t0) / 1000;
      msgsPerSec = w.rows / seconds;
      notes.push(`the whole backlog arrived between two 50 ms polls: rate over the wall time from the publisher's start, start-up included`);
    }
    notes.push(`backlog written in ${writeSeconds.toFixed(1)} s (${Math.round(w.rows / writeSeconds)} rows/s, 1 000 per transaction)`);
    progress(`${slug}: ${w.rows} messages in ${seconds.toFixed(2)} s = ${Math.round(msgsPerSec)} msg/s; reading the topic back…`);
    const check = await readBack(topic, ids);
    onCheck(check);
    notes.push(`read back: ${check.distinct}/${check.expected} rows on the topic, ${check.duplicates} duplicates, ${check.missing} missing`);
    notes.push(...((await pipeline.notes?.().catch(() => [])) ?? []));
    if (check.missing > 0) return { ran: false, reason: `${slug}: ${check.missing} of ${check.expected} rows never reached ${topic} (${check.duplicates} duplicates); high watermarks said ${last.count}` };
    return { ran: true, result: { messages: w.rows, seconds, msgsPerSec }, notes };
  } catch (err) {
    return { ran: false, reason: `${slug}: drain failed: ${describeError(err)}` };
  } finally {
    await within(60_000, `${slug}: tear-down after the drain`, progress, () => pipeline.end(progress));
    if (topic) await within(30_000, `${slug}: deleting ${topic}`, progress, () => admin.deleteTopics({ topics: [topic!] }));
    await within(10_000, `${slug}: admin disconnect`, progress, () => admin.disconnect());
  }
}

/** Writer connections of the latency run: the relay benchmark's default. */
export const LATENCY_WRITERS = 8;

/**
 * Latency: the relay latency benchmark's method (bench/src/lib/latency.ts), against a peer. Before the clock starts the publisher runs
 * and a probe row has made the whole trip (so a connector's start-up is not measured as latency).
 */
export async function runLatency(slug: string, pipeline: Pipeline, w: LatencyWorkload, progress: Progress): Promise<Outcome<LatencyResult>> {
  if (w.warmupSeconds >= w.seconds) return { ran: false, reason: `${slug}: warmupSeconds ${w.warmupSeconds} must be shorter than seconds ${w.seconds}` };
  const admin = kafka(`bench-peer-${slug}`).admin();
  let topic: string | undefined;
  let consumer: Consumer | undefined;
  const pool = new pg.Pool({ connectionString: pipeline.databaseUrl, max: LATENCY_WRITERS });
  pool.on('error', () => {});
  const committedAt = new Map<string, number>();
  const arrivedAt = new Map<string, number>();
  const probes = new Set<string>();
  let duplicates = 0;
  const txMs: number[] = [];
  try {
    await admin.connect();
    topic = await createRunTopic(admin, slug, w.partitions);
    await pipeline.begin(topic, progress);
    consumer = kafka(`bench-peer-${slug}-latency`).consumer({ groupId: `bench-peer-latency-${process.pid}-${randomUUID()}`, maxWaitTimeInMs: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const c = consumer;
    const joined = new Promise<void>((resolve) => c.on(c.events.GROUP_JOIN, () => resolve()));
    let crashed: string | undefined;
    c.on(c.events.CRASH, (e) => { crashed ??= describeError(e.payload.error); });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = performance.now();
        for (const m of batch.messages) {
          const id = String(m.headers?.id ?? '');
          if (arrivedAt.has(id)) duplicates++;
          else arrivedAt.set(id, now);
        }
      },
    });
    await joined;
    await pipeline.startPublishing(progress);

    // Probe rows until one arrives: the publisher is live end to end before the clock starts.
    const probeDeadline = performance.now() + 120_000;
    let probeArrived = false;
    while (!probeArrived) {
      if (performance.now() > probeDeadline) {
        const health = await pipeline.health?.().catch((err: unknown) => describeError(err));
        return { ran: false, reason: `${slug}: no probe row reached Kafka within 120 s of starting the publisher${health ? `: ${health}` : ''}` };
      }
      const row = makeRow(-1, w.keys, w.payloadBytes);
      probes.add(row.id);
      const client = await pool.connect();
      try {
        await client.query('begin');
        await pipeline.insert(client, [row]);
        await client.query('commit');
      } finally {
        client.release();
      }
      const until = performance.now() + 1000;
      while (performance.now() < until && !probeArrived) {
        probeArrived = [...probes].some((id) => arrivedAt.has(id));
        await sleep(20);
      }
    }
    progress(`${slug}: publisher live (probe row arrived); ${w.ratePerSec}/s for ${w.seconds} s (${w.warmupSeconds} s warm-up), ${LATENCY_WRITERS} writers, ${w.keys} keys, ~${w.payloadBytes} B payload, ${w.partitions} partitions`);
    await Promise.all(Array.from({ length: LATENCY_WRITERS }, () => pool.connect())).then((cs) => cs.forEach((cl) => cl.release()));

    let failed = 0;
    const { t0 } = await commitAtSteadyRate({
      pool,
      ratePerSec: w.ratePerSec,
      total: w.ratePerSec * w.seconds,
      writers: LATENCY_WRITERS,
      insert: async (cl, n) => {
        const row = makeRow(n, w.keys, w.payloadBytes);
        await pipeline.insert(cl, [row]);
        return row.id;
      },
      committedAt,
      txMs,
      onFailure: (err, nth) => {
        failed = nth;
        if (nth === 1) progress(`${slug}: a writer transaction failed: ${describeError(err)}`);
      },
      report: (elapsedS) => progress(`${slug}: ${elapsedS.toFixed(0)} s: ${committedAt.size} committed, ${[...committedAt.keys()].filter((id) => arrivedAt.has(id)).length} consumed`),
      reportEveryMs: 2000,
    });
    const writerSeconds = (performance.now() - t0) / 1000;
    progress(`${slug}: writer done: ${committedAt.size} committed in ${writerSeconds.toFixed(1)} s; waiting for the consumer (30 s grace)…`);
    const deadline = performance.now() + 30_000;
    while ([...committedAt.keys()].some((id) => !arrivedAt.has(id)) && performance.now() < deadline) await sleep(100);
    await sleep(500); // a late duplicate would show up now

    const from = t0 + w.warmupSeconds * 1000;
    const measured = [...committedAt].filter(([, at]) => at >= from);
    const unseen = [...committedAt.keys()].filter((id) => !arrivedAt.has(id));
    // Lost = committed but not seen within the grace period (the relay benchmark's definition).
    const lost = unseen.length;
    const lateNotes: string[] = [];
    if (unseen.length > 0 || crashed) {
      // Late, never published, or missed by the timing consumer (a broker restart by someone else's chaos test)?
      // A fresh consumer reads the whole topic to tell them apart.
      const check = await readBack(topic, new Set(committedAt.keys()), 10_000);
      if (crashed) {
        return { ran: false, reason: `${slug}: the measurement was disturbed: the timing consumer crashed (${crashed}; the stack's Kafka restarted during the run?); read-back of the topic: ${check.missing} rows missing, ${check.duplicates} duplicates. Run again when the stack is quiet.` };
      }
      lateNotes.push(`of the ${unseen.length} rows not seen within the 30 s grace period, ${unseen.length - check.missing} were on the topic a few seconds later (late), ${check.missing} not at all`);
    }
    const { achievedPerSec: achieved, negative, ...figures } = summarizeLatencies(measured, arrivedAt, from);
    const tx = txMs.sort((a, b) => a - b);
    const result: LatencyResult = { ...figures, lost, duplicates };
    const notes = [
      ...lateNotes,
      ...((await pipeline.notes?.().catch(() => [])) ?? []),
      `achieved ${Math.round(achieved)} tx/s of ${w.ratePerSec} (${LATENCY_WRITERS} writers, open loop); ${committedAt.size} committed in all, ${failed} writer transactions failed`,
      `transaction (BEGIN…COMMIT) p50 ${percentile(tx, 50).toFixed(1)} ms / p99 ${percentile(tx, 99).toFixed(1)} ms`,
      `${negative} negative latencies (message seen before COMMIT returned) kept in the figures`,
      `lost and duplicates count every committed row (warm-up included), like the relay's benchmark; ${probes.size} probe row(s) before the clock are not counted`,
    ];
    progress(`${slug}: p50 ${result.p50Ms.toFixed(1)} ms, p95 ${result.p95Ms.toFixed(1)} ms, p99 ${result.p99Ms.toFixed(1)} ms, max ${result.maxMs.toFixed(1)} ms; lost ${lost}, duplicates ${duplicates}`);
    return { ran: true, result, notes };
  } catch (err) {
    return { ran: false, reason: `${slug}: latency run failed: ${describeError(err)}` };
  } finally {
    await within(30_000, `${slug}: consumer disconnect`, progress, async () => consumer?.disconnect());
    await within(60_000, `${slug}: tear-down after the latency run`, progress, () => pipeline.end(progress));
    await within(10_000, `${slug}: writer pool end`, progress, () => pool.end());
    if (topic) await within(30_000, `${slug}: deleting ${topic}`, progress, () => admin.deleteTopics({ topics: [topic!] }));
    await within(10_000, `${slug}: admin disconnect`, progress, () => admin.disconnect());
  }
}
