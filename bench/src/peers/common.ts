/**
 * What the two peers share: their own PostgreSQL (wal_level=logical, from the stack's embedded binaries, on a
 * port of its own: the shared stack's server is never touched), scratch topics on the stack's Kafka, and the two
 * measurements, written once so that both peers (and the relay's own benchmark) are measured the same way:
 *
 * - drain: a backlog is written while nothing publishes, then the publisher starts; the rate is counted from the
 *   first message on the topic to the last (start-up is reported apart), by the topic's high watermarks; then every
 *   row id is read back from the topic (no loss, duplicates counted).
 * - latency: the latency section's rig (bench/src/lib/latency-processes.ts), with the peer as its publisher: a
 *   writer child commits one peer outbox row per transaction at a steady rate (open loop, 8 connections), a
 *   consumer child that commits no offsets reads all partitions concurrently; the topic has
 *   message.timestamp.type=LogAppendTime, so commit → Kafka is the broker's append time − COMMIT returned and
 *   commit → consumer the receipt, all on CLOCK_MONOTONIC; the first warm-up seconds of commits are left out;
 *   lost = committed but not seen within the grace period; duplicates = ids seen twice.
 */
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { canConnect, isAlive, isListening, postgresBinaries, serverUser, run, runningFromPidFile, startDetached, stopFromPidFile, tailFile, whoListensOn } from '@dual-write/stack';
import { DwError, isDwError, resolveConfig, type LabConfig } from '@dual-write/config';
import { payloadOf, percentile, withClient } from '../lib/common.ts';
import type { CpuTarget } from '../lib/cpu-window.ts';
import type { InserterSpec } from '../lib/latency-ipc.ts';
import { ProcessLatencyRig, type LatencyPublisher, type PublisherLatencyRun } from '../lib/latency-processes.ts';
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

/** When the topic's first message was seen (and how many were there then), and when it reached `rows`. */
export interface TopicFill {
  first?: { at: number; count: number };
  last: { at: number; count: number };
}

/**
 * Polls `topic`'s high watermarks every 50 ms until they reach `rows`: when the first message was seen and when the
 * last arrived (performance.now()). The drain rate of every contender of the peers race is counted from these.
 */
export async function watchTopicFill(
  slug: string, admin: Admin, topic: string, rows: number, t0: number, progress: Progress, health?: () => Promise<string | undefined>,
): Promise<({ ok: true } & TopicFill) | { ok: false; reason: string }> {
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
      if (performance.now() - last.at > stallMs) return { ok: false, reason: `${slug}: Kafka did not answer for ${stallMs / 1000} s: ${kafkaError}` };
      await sleep(500);
      continue;
    }
    const now = performance.now();
    if (count > 0 && !first) {
      first = { at: now, count };
      progress(`${slug}: first message on Kafka ${((now - t0) / 1000).toFixed(2)} s after the publisher was started`);
    }
    if (count > last.count) last = { at: now, count };
    if (count >= rows) return { ok: true, first, last };
    if (now - last.at > stallMs) {
      const why = await health?.().catch((err: unknown) => describeError(err));
      return { ok: false, reason: `${slug}: the drain stalled at ${count}/${rows} messages for ${stallMs / 1000} s${why ? `: ${why}` : ''}` };
    }
    if (now - reported > 2000) {
      reported = now;
      const why = await health?.().catch(() => undefined);
      progress(`${slug}: ${count}/${rows} on Kafka${why ? ` (${why})` : ''}`);
    }
    await sleep(50);
  }
}

/**
 * The drain rate of every contender of the peers race: messages that arrived after the first one was seen ÷ the time
 * from that first sighting to the last message (start-up left out); when the whole backlog arrived between two
 * polls, over the wall time from `t0` (start-up included).
 */
export function rateFromFirstMessage(rows: number, fill: TopicFill, t0: number): { seconds: number; msgsPerSec: number; fromFirst: boolean } {
  const { first, last } = fill;
  if (first && first.count < rows && last.at > first.at) {
    const msgsPerSec = (rows - first.count) / ((last.at - first.at) / 1000);
    return { msgsPerSec, seconds: rows / msgsPerSec, fromFirst: true };
  }
  const seconds = (last.at - t0) / 1000;
  return { seconds, msgsPerSec: rows / seconds, fromFirst: false };
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
    const watched = await watchTopicFill(slug, admin, topic, w.rows, t0, progress, pipeline.health);
    if (!watched.ok) return { ran: false, reason: watched.reason };
    const { first, last } = watched;
    const end = last.at;
    const notes: string[] = [];
    const { seconds, msgsPerSec, fromFirst } = rateFromFirstMessage(w.rows, watched, t0);
    if (fromFirst && first) {
      notes.push(`start-up (publisher started → first message on Kafka): ${((first.at - t0) / 1000).toFixed(2)} s, of which starting the publisher call ${((started - t0) / 1000).toFixed(2)} s`);
      notes.push(`rate = ${w.rows - first.count} messages that arrived after the first observation ÷ ${((end - first.at) / 1000).toFixed(2)} s; wall time from start: ${((end - t0) / 1000).toFixed(2)} s (${Math.round(w.rows / ((end - t0) / 1000))} msg/s including start-up)`);
    } else {
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

/**
 * A peer's pipeline as a publisher of the latency rig (lib/latency-processes.ts: writer and consumer in child
 * processes, the rig's topic created with message.timestamp.type=LogAppendTime — the pipeline's publisher writes to
 * it, e.g. Debezium's EventRouter through route.topic.replacement). start(): the pipeline's capture set-up and
 * publisher, then probe rows until one is on the topic (so a connector's start-up is not measured as latency);
 * the writer child commits through `inserter`, the peer's own outbox row.
 */
export function pipelinePublisher(slug: string, pipeline: Pipeline, inserter: InserterSpec, cpu: () => CpuTarget[]): LatencyPublisher & { notes(): Promise<string[]> } {
  return {
    name: slug,
    databaseUrl: pipeline.databaseUrl,
    inserter,
    notes: async () => (await pipeline.notes?.().catch(() => [])) ?? [],
    async start(topic, progress) {
      try {
        await pipeline.begin(topic, progress);
        await pipeline.startPublishing(progress);
        await probeUntilOnTopic(slug, pipeline, topic, progress);
      } catch (err) {
        await within(60_000, `${slug}: tear-down after a failed start`, progress, () => pipeline.end(progress));
        throw err;
      }
      return { cpu: cpu(), stop: () => within(60_000, `${slug}: tear-down after the latency run`, progress, () => pipeline.end(progress)) };
    },
  };
}

/** Commits one probe row a second (up to 120 s) until a message is on `topic`: the publisher is live end to end. */
async function probeUntilOnTopic(slug: string, pipeline: Pipeline, topic: string, progress: Progress): Promise<void> {
  const admin = kafka(`bench-peer-${slug}-probe`).admin();
  await admin.connect();
  try {
    const deadline = performance.now() + 120_000;
    for (let n = 0; ; n++) {
      if (performance.now() > deadline) {
        const health = await pipeline.health?.().catch((err: unknown) => describeError(err));
        throw new Error(`${slug}: no probe row reached Kafka within 120 s of starting the publisher${health ? `: ${health}` : ''}`);
      }
      await withClient(pipeline.databaseUrl, async (c) => {
        await c.query('begin');
        await pipeline.insert(c, [makeRow(-1 - n, 1000, 100)]);
        await c.query('commit');
      });
      const until = performance.now() + 1000;
      while (performance.now() < until) {
        if ((await topicMessageCount(admin, topic)) > 0) {
          progress(`${slug}: publisher live (${n + 1} probe row(s) on the topic)`);
          return;
        }
        await sleep(20);
      }
    }
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** A latency run on the latency section's rig: commit → Kafka (append time) as LatencyResult, plus the whole run. */
export interface RigLatency extends LatencyResult {
  run: PublisherLatencyRun;
}

let rigSeq = 0;

/**
 * One latency run of any publisher on a fresh rig (its own LogAppendTime topic and consumer child): LatencyResult
 * = commit → Kafka (the broker's append time), `run` has commit → consumer too; lost = committed rows never seen
 * within the rig's grace period, duplicates = ids seen twice.
 */
export async function measureOnRig(w: LatencyWorkload, progress: Progress, publisher: (rig: ProcessLatencyRig) => LatencyPublisher & { notes?(): Promise<string[]> }): Promise<Outcome<RigLatency>> {
  if (w.warmupSeconds >= w.seconds) return { ran: false, reason: `warmupSeconds ${w.warmupSeconds} must be shorter than seconds ${w.seconds}` };
  const rig = await ProcessLatencyRig.open(w.partitions, progress, `peerslat${++rigSeq}`);
  try {
    const p = publisher(rig);
    const { run, ids } = await rig.runWith(w, p, progress);
    await sleep(300); // a late duplicate would show up now
    const duplicates = rig.duplicates(ids);
    const k = run.toKafka;
    const result: RigLatency = { sent: run.sent, received: run.received, p50Ms: k.p50Ms, p95Ms: k.p95Ms, p99Ms: k.p99Ms, maxMs: k.maxMs, lost: run.lost, duplicates, run };
    const notes = [
      ...((await p.notes?.()) ?? []),
      `achieved ${Math.round(run.achievedPerSec)} tx/s of ${w.ratePerSec}${run.behind ? ' (the writer fell behind)' : ''}; ${run.failedTransactions} writer transactions failed; transaction p50 ${run.txP50Ms.toFixed(1)} ms / p99 ${run.txP99Ms.toFixed(1)} ms`,
      `${run.toKafka.negative} commit → Kafka and ${run.toConsumer.negative} commit → consumer latencies below 0 (kept in the figures)`,
      `cores: ${run.cpu.map((c) => `${c.process} ${Number.isFinite(c.cores) ? c.cores.toFixed(2) : '–'}`).join(', ')}`,
    ];
    progress(`${run.publisher}: commit→Kafka p50 ${k.p50Ms.toFixed(1)} / p99 ${k.p99Ms.toFixed(1)} ms; commit→consumer p50 ${run.toConsumer.p50Ms.toFixed(1)} / p99 ${run.toConsumer.p99Ms.toFixed(1)} ms; lost ${run.lost}, duplicates ${duplicates}`);
    return { ran: true, result, notes };
  } finally {
    await rig.close();
  }
}

/** A peer's latency run: its pipeline on the rig (see pipelinePublisher). */
export async function runPeerLatency(slug: string, publisher: LatencyPublisher & { notes(): Promise<string[]> }, w: LatencyWorkload, progress: Progress): Promise<Outcome<RigLatency>> {
  try {
    return await measureOnRig(w, progress, () => publisher);
  } catch (err) {
    return { ran: false, reason: `${slug}: latency run failed: ${describeError(err)}` };
  }
}
