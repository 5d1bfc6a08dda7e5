/**
 * Peer: Debezium's outbox event router — Kafka Connect (standalone worker, Apache Kafka's connect-runtime) running
 * the Debezium PostgreSQL connector (pgoutput) with the `io.debezium.transforms.outbox.EventRouter` SMT, all jars
 * from Maven Central (fetched once into STACK_CACHE_DIR/debezium/ with `mvn dependency:copy-dependencies`).
 *
 * Its PostgreSQL is its own (wal_level=logical, port 15440 by default; the shared stack's server is not touched).
 * The outbox table has Debezium's layout (id uuid, aggregatetype, aggregateid, type, payload jsonb); the SMT routes
 * every event to one topic the peer creates, key = aggregateid, header `id` = the event id, value = the payload
 * text (StringConverter). Everything else is left at Debezium's and Connect's defaults (poll.interval.ms 500,
 * max.batch.size 2048, the worker's producer: acks=all, 1 request in flight, linger.ms 5), unless `connector`
 * overrides it, or a run's own overrides (drainWith/latencyWith: the peers race runs the defaults and a tuned
 * set, ./debezium-settings.ts, on one worker).
 *
 * Each drain()/latency() gets a fresh table, publication, slot, topic and connector; the slot and publication are
 * created before the rows are written, so the connector (snapshot.mode=no_data) streams the backlog from the WAL,
 * as it does after any downtime. The Connect worker (JVM) is started in prepare() and killed in close().
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { isAlive, isListening, requireJava17, requireMaven, runToLog, runningFromPidFile, startDetached, stopFromPidFile, tailFile, whoListensOn } from '@dual-write/stack';
import { DwError } from '@dual-write/config';
import type { DrainResult, DrainWorkload, LatencyWorkload, Outcome, Peer, Progress } from '../types.ts';
import {
  describeError, dropSlot, kafkaReachable, labConfig, OwnPostgres, pipelinePublisher, runDrain, runPeerLatency, sleep, stackPaths, withClient, within,
  type DrainCheck, type PeerRow, type Pipeline, type RigLatency,
} from './common.ts';
import { debeziumInserterSpec, insertDebeziumRows } from './inserts.ts';

export const DEBEZIUM_VERSION = '3.6.1.Final';

export interface DebeziumPeerOptions {
  /** Port of the peer's own PostgreSQL (default 15440). */
  pgPort?: number;
  /** Port of the Connect worker's REST API (default 18083). */
  restPort?: number;
  /** Debezium version (default 3.6.1.Final). */
  debeziumVersion?: string;
  /** connect-runtime version (default: the stack's Kafka version, 4.1.1). */
  connectVersion?: string;
  /** Extra/overriding connector settings, e.g. { 'poll.interval.ms': '50' }. */
  connector?: Record<string, string>;
  /** JVM heap of the worker (default 1g). */
  heap?: string;
}

export type DebeziumPeer = Peer & {
  /** The last drain's read-back of its topic (for tests). */
  lastDrainCheck?: DrainCheck;
  /** Process ids started by prepare() (for tests: gone after close()). */
  pids(): number[];
  /** Slots/publications found just before close() stopped the PostgreSQL (after dropping them). */
  closeReport?: { slots: string[]; publications: string[] };
  /** The peer's own PostgreSQL (wal_level=logical), e.g. to run another table through a connector of one's own. */
  readonly db: OwnPostgres;
  /**
   * Registers (or reconfigures) a connector with exactly `config` on the worker started by prepare(); resolves once
   * its task is RUNNING (rejects with the task's trace if it FAILED, or after `timeoutMs`).
   */
  putConnector(name: string, config: Record<string, string>, timeoutMs?: number): Promise<void>;
  /** Why the connector is not running (FAILED trace, no task yet), or undefined when its tasks run. */
  connectorHealth(name: string): Promise<string | undefined>;
  /** Deletes a connector (a missing one is fine). */
  deleteConnector(name: string): Promise<void>;
  /** drain() with these connector settings on top of `connector` (the worker stays the same). */
  drainWith(overrides: Readonly<Record<string, string>>, w: DrainWorkload, progress: Progress): Promise<Outcome<DrainResult>>;
  /**
   * latency() with these connector settings on top of `connector`, on the latency section's rig
   * (lib/latency-processes.ts): commit → Kafka (append time) and → consumer.
   */
  latencyWith(overrides: Readonly<Record<string, string>>, w: LatencyWorkload, progress: Progress): Promise<Outcome<RigLatency>>;
  latency(w: LatencyWorkload, progress: Progress): Promise<Outcome<RigLatency>>;
};

function pom(artifact: string, deps: [string, string, string][]): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.dual-write-lab</groupId>
  <artifactId>${artifact}</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${deps.map(([g, a, v]) => `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`).join('\n')}
  </dependencies>
</project>
`;
}

/**
 * Fetches (once) the Connect runtime onto the classpath folder and the Debezium connector into its plugin folder:
 * STACK_CACHE_DIR/debezium/<debezium>-connect-<kafka>/{runtime,plugins/debezium-connector-postgres}. The plugin
 * folder leaves out what the runtime provides (org.apache.kafka, slf4j, the compression codecs, JAX-RS API).
 */
export async function ensureDebeziumJars(debeziumVersion: string, connectVersion: string, progress: Progress): Promise<{ runtime: string; plugins: string }> {
  const base = path.join(stackPaths().cache, 'debezium');
  const dir = path.join(base, `${debeziumVersion}-connect-${connectVersion}`);
  const done = path.join(dir, '.complete');
  const result = { runtime: path.join(dir, 'runtime'), plugins: path.join(dir, 'plugins') };
  if (existsSync(done)) return result;
  requireJava17();
  requireMaven();
  mkdirSync(base, { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const logFile = stackPaths().logFile('peer-debezium-install');
  const fetch = async (what: string, artifact: string, deps: [string, string, string][], out: string, extra: string[]) => {
    progress(`debezium: fetching ${what} with Maven (first run only)…`);
    const pomFile = path.join(base, `pom-${artifact}-${debeziumVersion}-${connectVersion}.xml`);
    writeFileSync(pomFile, pom(artifact, deps));
    const code = await runToLog('mvn', ['-B', '-q', '-f', pomFile, 'dependency:copy-dependencies', `-DoutputDirectory=${out}`, '-DincludeScope=runtime', ...extra], logFile);
    if (code !== 0) {
      throw new DwError('DW_DOWNLOAD_FAILED', `Maven could not fetch ${what} (exit ${code}). Last lines of ${logFile}:\n${tailFile(logFile, 15)}`, 'Check that Maven Central is reachable (`mvn -v`, ~/.m2/settings.xml) and that the versions exist.');
    }
  };
  await fetch(`Kafka Connect ${connectVersion} (connect-runtime, connect-json)`, 'connect-runtime', [
    ['org.apache.kafka', 'connect-runtime', connectVersion],
    ['org.apache.kafka', 'connect-json', connectVersion],
    ['org.slf4j', 'slf4j-simple', '1.7.36'],
  ], path.join(tmp, 'runtime'), []);
  await fetch(`io.debezium:debezium-connector-postgres:${debeziumVersion}`, 'debezium-postgres', [
    ['io.debezium', 'debezium-connector-postgres', debeziumVersion],
  ], path.join(tmp, 'plugins', 'debezium-connector-postgres'), ['-DexcludeGroupIds=org.apache.kafka,org.slf4j,com.github.luben,at.yawk.lz4,org.lz4,org.xerial.snappy,jakarta.ws.rs']);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  writeFileSync(done, new Date().toISOString());
  progress(`debezium: ${readdirSync(result.runtime).length} runtime jars, ${readdirSync(path.join(result.plugins, 'debezium-connector-postgres')).length} plugin jars ready in ${dir}`);
  return result;
}

let runSeq = 0;

export function debeziumPeer(opts: DebeziumPeerOptions = {}): DebeziumPeer {
  const debeziumVersion = opts.debeziumVersion ?? DEBEZIUM_VERSION;
  const connectVersion = opts.connectVersion ?? labConfig().kafka.version;
  const restPort = opts.restPort ?? 18083;
  const rest = `http://127.0.0.1:${restPort}`;
  const db = new OwnPostgres('debezium', opts.pgPort ?? 15440);
  const paths = stackPaths();
  const workDir = path.join(paths.peers, 'debezium', 'connect');
  const pidFile = path.join(paths.run, 'peer-debezium-connect.pid');
  const logFile = paths.logFile('peer-debezium-connect');
  const marker = `dual-write-lab.peer=debezium-connect-${restPort}`;
  let prepared = false;

  async function restCall(method: string, url: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }> {
    const res = await fetch(`${rest}${url}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  }

  async function startWorker(progress: Progress, jars: { runtime: string; plugins: string }): Promise<void> {
    const leftover = runningFromPidFile(pidFile);
    if (leftover) {
      progress(`debezium: stopping a Connect worker left over by an earlier run (pid ${leftover.pid})`);
      await stopFromPidFile(pidFile, 'SIGTERM', 10_000);
    }
    if (await isListening('127.0.0.1', restPort)) {
      const who = whoListensOn(restPort);
      throw new DwError('DW_PORT_TAKEN', `Port ${restPort}, needed for the Kafka Connect REST API of the Debezium peer, is taken${who ? ` by ${who}` : ''}.`, 'Stop that program or pass another restPort.');
    }
    rmSync(workDir, { recursive: true, force: true });
    mkdirSync(workDir, { recursive: true });
    const props = path.join(workDir, 'worker.properties');
    writeFileSync(props, [
      `bootstrap.servers=${labConfig().kafka.brokers.join(',')}`,
      'key.converter=org.apache.kafka.connect.storage.StringConverter',
      'value.converter=org.apache.kafka.connect.storage.StringConverter',
      `offset.storage.file.filename=${path.join(workDir, 'connect.offsets')}`,
      `plugin.path=${jars.plugins}`,
      `listeners=http://127.0.0.1:${restPort}`,
      'rest.advertised.host.name=127.0.0.1',
      // Every jar on the plugin path has ServiceLoader manifests (the worker says so): no reflective scan.
      'plugin.discovery=service_load',
      '',
    ].join('\n'));
    const rec = startDetached({
      command: 'java',
      args: [
        `-Xms256m`, `-Xmx${opts.heap ?? '1g'}`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-Djava.awt.headless=true',
        '-Dorg.slf4j.simpleLogger.showDateTime=true',
        '-Dorg.slf4j.simpleLogger.defaultLogLevel=info',
        '-Dorg.slf4j.simpleLogger.log.org.apache.kafka.clients=warn',
        '-Dorg.slf4j.simpleLogger.log.org.apache.kafka.common=warn',
        '-Dorg.slf4j.simpleLogger.log.org.reflections=error',
        `-D${marker}`,
        '-cp', `${jars.runtime}/*`,
        'org.apache.kafka.connect.cli.ConnectStandalone', props,
      ],
      logFile,
      pidFile,
      marker,
    });
    progress(`debezium: Kafka Connect ${connectVersion} standalone worker starting (pid ${rec.pid}), log ${logFile}`);
    const deadline = Date.now() + 180_000;
    for (;;) {
      const plugins = await restCall('GET', '/connector-plugins').catch(() => undefined);
      if (plugins?.status === 200) {
        const list = (plugins.json as { class: string; version?: string }[]) ?? [];
        const pgPlugin = list.find((p) => p.class === 'io.debezium.connector.postgresql.PostgresConnector');
        if (!pgPlugin) {
          throw new DwError('DW_PROCESS_FAILED', `Kafka Connect started but did not load the Debezium PostgreSQL connector from ${jars.plugins}; it lists: ${list.map((p) => p.class).join(', ')}. Last lines of ${logFile}:\n${tailFile(logFile, 20)}`, `Remove ${path.dirname(jars.runtime)} so the jars are fetched again.`);
        }
        progress(`debezium: worker ready, ${pgPlugin.class} ${pgPlugin.version ?? ''} on plugin.path`);
        return;
      }
      if (!isAlive(rec.pid)) {
        throw new DwError('DW_PROCESS_FAILED', `The Kafka Connect worker exited during start-up. Last lines of ${logFile}:\n${tailFile(logFile, 25)}`, `Read ${logFile}.`);
      }
      if (Date.now() > deadline) {
        throw new DwError('DW_NOT_READY', `The Kafka Connect worker's REST API did not answer within 180 s. Last lines of ${logFile}:\n${tailFile(logFile, 25)}`, `Read ${logFile}.`);
      }
      await sleep(500);
    }
  }

  async function connectorHealth(connector: string): Promise<string | undefined> {
    const res = await restCall('GET', `/connectors/${connector}/status`);
    if (res.status !== 200) return `connector status ${res.status}: ${res.text.slice(0, 300)}`;
    const s = res.json as { connector: { state: string; trace?: string }; tasks: { state: string; trace?: string }[] };
    const failed = [s.connector, ...s.tasks].find((x) => x.state === 'FAILED');
    if (failed) return `connector FAILED: ${(failed.trace ?? '').split('\n').slice(0, 6).join(' | ')}`;
    if (!s.tasks.length) return `connector ${s.connector.state}, no task yet`;
    return s.tasks.every((t) => t.state === 'RUNNING') ? undefined : `tasks ${s.tasks.map((t) => t.state).join(',')}`;
  }

  function pipeline(overrides: Readonly<Record<string, string>> = {}): Pipeline & { connector: string } {
    const n = ++runSeq;
    const slot = `bench_dbz_${process.pid}_${n}`;
    const publication = `bench_dbz_pub_${process.pid}_${n}`;
    const connector = `bench-outbox-${process.pid}-${n}`;
    let topic = '';
    let registered = false;
    return {
      connector,
      databaseUrl: db.url(),
      async begin(t) {
        topic = t;
        await withClient(db.url(), async (c) => {
          await c.query('drop table if exists outbox');
          // Debezium's outbox layout (the EventRouter's default column names).
          await c.query(`create table outbox (
            id uuid primary key,
            aggregatetype varchar(255) not null,
            aggregateid varchar(255) not null,
            type varchar(255) not null,
            payload jsonb
          )`);
          await c.query(`create publication ${publication} for table public.outbox`);
          await c.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
        });
      },
      async insert(client: pg.ClientBase, rows: PeerRow[]) {
        await insertDebeziumRows(client, rows);
      },
      async startPublishing() {
        const config: Record<string, string> = {
          'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
          'tasks.max': '1',
          'plugin.name': 'pgoutput',
          'database.hostname': '127.0.0.1',
          'database.port': String(db.port),
          'database.user': db.user,
          'database.password': db.password,
          'database.dbname': db.database,
          'topic.prefix': `benchdbz${process.pid}x${n}`,
          'table.include.list': 'public.outbox',
          'slot.name': slot,
          'publication.name': publication,
          'publication.autocreate.mode': 'disabled',
          'snapshot.mode': 'no_data',
          'tombstones.on.delete': 'false',
          transforms: 'outbox',
          'transforms.outbox.type': 'io.debezium.transforms.outbox.EventRouter',
          'transforms.outbox.route.topic.replacement': topic,
          'transforms.outbox.table.fields.additional.placement': 'type:header:type',
          ...opts.connector,
          ...overrides,
        };
        const res = await restCall('PUT', `/connectors/${connector}/config`, config);
        if (res.status !== 201 && res.status !== 200) {
          throw new DwError('DW_PROCESS_FAILED', `Kafka Connect refused the connector (${res.status}): ${res.text.slice(0, 1500)}`, `Read ${logFile}.`);
        }
        registered = true;
      },
      async health() {
        return connectorHealth(connector);
      },
      async end(progress) {
        if (registered) {
          registered = false;
          await within(40_000, `debezium: deleting connector ${connector}`, progress, async () => {
            const res = await restCall('DELETE', `/connectors/${connector}`);
            if (res.status !== 204 && res.status !== 200 && res.status !== 404) progress(`debezium: deleting connector ${connector}: ${res.status} ${res.text.slice(0, 300)}`);
          });
        }
        if (db.running()) {
          await within(40_000, `debezium: dropping slot ${slot}`, progress, () => dropSlot(db.url(), slot));
          await within(10_000, `debezium: dropping publication ${publication}`, progress, () => withClient(db.url(), (c) => c.query(`drop publication if exists ${publication}`)));
        }
      },
    };
  }

  const peer: DebeziumPeer = {
    db,
    async putConnector(name, config, timeoutMs = 60_000) {
      if (!prepared) throw new DwError('DW_NOT_READY', 'Debezium peer: prepare() did not succeed', 'Call prepare() first.');
      const res = await restCall('PUT', `/connectors/${name}/config`, config);
      if (res.status !== 201 && res.status !== 200) {
        throw new DwError('DW_PROCESS_FAILED', `Kafka Connect refused the connector (${res.status}): ${res.text.slice(0, 1500)}`, `Read ${logFile}.`);
      }
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const why = await connectorHealth(name);
        if (why === undefined) return;
        if (why.startsWith('connector FAILED') || Date.now() > deadline) {
          throw new DwError('DW_PROCESS_FAILED', `Connector ${name} is not running: ${why}`, `Read ${logFile}.`);
        }
        await sleep(200);
      }
    },
    connectorHealth,
    async deleteConnector(name) {
      const res = await restCall('DELETE', `/connectors/${name}`);
      if (res.status !== 204 && res.status !== 200 && res.status !== 404) {
        throw new DwError('DW_PROCESS_FAILED', `Kafka Connect could not delete connector ${name} (${res.status}): ${res.text.slice(0, 300)}`, `Read ${logFile}.`);
      }
    },
    name: 'Debezium outbox event router',
    version: `debezium-connector-postgres ${debeziumVersion} on Kafka Connect ${connectVersion} (standalone)`,
    pids() {
      return [db.pid, runningFromPidFile(pidFile)?.pid].filter((p): p is number => p !== undefined);
    },
    async prepare(progress) {
      const tried: string[] = [];
      try {
        const kafkaDown = await kafkaReachable();
        if (kafkaDown) return { ok: false, reason: `Debezium peer: ${kafkaDown}` };
        tried.push(`fetch io.debezium:debezium-connector-postgres:${debeziumVersion} + org.apache.kafka:connect-runtime:${connectVersion} with Maven`);
        const jars = await ensureDebeziumJars(debeziumVersion, connectVersion, progress);
        tried.push(`start its own PostgreSQL (wal_level=logical) on 127.0.0.1:${db.port}`);
        await db.start(progress);
        tried.push(`start a Kafka Connect standalone worker (REST 127.0.0.1:${restPort}) with the connector on plugin.path`);
        await startWorker(progress, jars);
        prepared = true;
        return { ok: true };
      } catch (err) {
        await peer.close();
        return { ok: false, reason: `Debezium peer could not be prepared. Tried: ${tried.join('; ')}. Failed at the last step: ${describeError(err)}` };
      }
    },
    drain: (w: DrainWorkload, progress: Progress) => peer.drainWith({}, w, progress),
    latency: (w: LatencyWorkload, progress: Progress) => peer.latencyWith({}, w, progress),
    async drainWith(overrides, w, progress) {
      if (!prepared) return { ran: false, reason: 'Debezium peer: prepare() did not succeed' };
      return runDrain('debezium', pipeline(overrides), w, progress, (c) => { peer.lastDrainCheck = c; });
    },
    async latencyWith(overrides, w, progress) {
      if (!prepared) return { ran: false, reason: 'Debezium peer: prepare() did not succeed' };
      const cpu = () => [{ name: 'Connect worker (Debezium)', pid: runningFromPidFile(pidFile)?.pid }, { name: 'its PostgreSQL', pid: db.pid, tree: true }];
      return runPeerLatency('debezium', pipelinePublisher('debezium', pipeline(overrides), debeziumInserterSpec(), cpu), w, progress);
    },
    async close() {
      prepared = false;
      // The worker first (it holds the replication connection), then the slots and publications, then PostgreSQL.
      await stopFromPidFile(pidFile, 'SIGTERM', 15_000);
      if (db.running()) {
        try {
          await withClient(db.url(), async (c) => {
            const { rows } = await c.query<{ slot_name: string }>(`select slot_name from pg_replication_slots where slot_name like 'bench_dbz_%'`);
            for (const r of rows) await dropSlot(db.url(), r.slot_name, 10_000);
            const pubs = await c.query<{ pubname: string }>(`select pubname from pg_publication where pubname like 'bench_dbz_pub_%'`);
            for (const p of pubs.rows) await c.query(`drop publication if exists ${p.pubname}`);
          });
          peer.closeReport = await db.leftovers();
        } catch {
          /* PostgreSQL not answering: it is stopped below anyway */
        }
      }
      await db.stop();
    },
  };
  return peer;
}
