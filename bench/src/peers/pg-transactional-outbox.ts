/**
 * Peer: the npm package pg-transactional-outbox (0.5.7) — what a Node team would pick off the shelf.
 *
 * Its outbox listener comes in two kinds (README "Logical replication vs. polling"):
 * - replication (default here, the package's headline): a logical replication client (pgoutput) on a publication of
 *   the outbox table; each inserted row is handed to the message handler, by default one at a time (mutex
 *   concurrency controller); per message the package opens a transaction on the outbox row (lock, handler, mark
 *   processed) and acknowledges the LSN afterwards. Needs wal_level=logical → the peer's own PostgreSQL (port 15441).
 * - polling: a plpgsql function (`next_outbox_messages`) polled every 500 ms for a batch of 5 (package defaults).
 *
 * Our message handler publishes each message with kafkajs 2.2.4 exactly as the relay's producer is set up
 * (idempotent, acks -1, 1 request in flight): key = aggregateId, headers id/type, value = the JSON payload. The
 * settings follow the package's README outbox example (max-attempts and poisonous-message protection off).
 * The table, publication, slot and polling function are the package's own SQL (DatabaseSetup).
 */
import { createRequire } from 'node:module';
import type pg from 'pg';
import type { Producer } from 'kafkajs';
import {
  DatabaseSetup, initializePollingMessageListener, initializeReplicationMessageListener,
  type GeneralMessageHandler, type PollingListenerConfig, type ReplicationListenerConfig, type StoredTransactionalMessage, type TransactionalLogger,
} from 'pg-transactional-outbox';
import type { DrainWorkload, LatencyWorkload, Outcome, Peer, Progress } from '../types.ts';
import {
  describeError, dropSlot, kafka, kafkaReachable, OwnPostgres, pipelinePublisher, runDrain, runPeerLatency, withClient, within,
  type DrainCheck, type PeerRow, type Pipeline, type RigLatency,
} from './common.ts';
import { pgtoInserterSpec, pgtoStore } from './inserts.ts';

const require = createRequire(import.meta.url);
export const PG_TRANSACTIONAL_OUTBOX_VERSION: string = (require('pg-transactional-outbox/package.json') as { version: string }).version;

export interface PgTransactionalOutboxPeerOptions {
  /** Port of the peer's own PostgreSQL (default 15441). */
  pgPort?: number;
  /** The package's listener kind (default replication). */
  listener?: 'replication' | 'polling';
}

export type PgTransactionalOutboxPeer = Peer & {
  /** The latency run on the latency section's rig (lib/latency-processes.ts): commit → Kafka (append time) and → consumer. */
  latency(w: LatencyWorkload, progress: Progress): Promise<Outcome<RigLatency>>;
  lastDrainCheck?: DrainCheck;
  pids(): number[];
  closeReport?: { slots: string[]; publications: string[] };
};

/**
 * The package's logger interface (pino's BaseLogger): warnings and errors go to progress, at most one per 2 s;
 * `counts` tallies them by text (e.g. "cannot be processed: MESSAGE_NOT_FOUND").
 */
function progressLogger(progress: () => Progress | undefined, counts: Map<string, number>): TransactionalLogger {
  let last = 0;
  let suppressed = 0;
  const out = (level: string) => (...args: unknown[]) => {
    const text = args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : '')).filter(Boolean).join(' ');
    const key = `${level}: ${text.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>').replace(/LSN \S+/g, 'LSN <lsn>')}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const p = progress();
    if (!p) return;
    if (Date.now() - last < 2000) {
      suppressed++;
      return;
    }
    last = Date.now();
    p(`pg-transactional-outbox ${level}: ${text}${suppressed ? ` (+${suppressed} more)` : ''}`);
    suppressed = 0;
  };
  const none = () => {};
  return { fatal: out('fatal'), error: out('error'), warn: out('warn'), info: none, debug: none, trace: none, silent: none, level: 'warn' } as unknown as TransactionalLogger;
}

let runSeq = 0;

export function pgTransactionalOutboxPeer(opts: PgTransactionalOutboxPeerOptions = {}): PgTransactionalOutboxPeer {
  const listener = opts.listener ?? 'replication';
  const db = new OwnPostgres('pg-transactional-outbox', opts.pgPort ?? 15441);
  let prepared = false;

  function pipeline(): Pipeline {
    const n = ++runSeq;
    const slot = `bench_pgto_${process.pid}_${n}`;
    const publication = `bench_pgto_pub_${process.pid}_${n}`;
    const setup = {
      outboxOrInbox: 'outbox' as const, database: db.database, schema: 'public', table: 'outbox', listenerRole: db.user,
      publication, replicationSlot: slot, nextMessagesName: 'next_outbox_messages',
    };
    const baseSettings = { dbSchema: 'public', dbTable: 'outbox', enableMaxAttemptsProtection: false, enablePoisonousMessageProtection: false };
    const replicationConfig: ReplicationListenerConfig = {
      outboxOrInbox: 'outbox',
      dbListenerConfig: db.clientConfig(),
      settings: { ...baseSettings, dbPublication: publication, dbReplicationSlot: slot },
    };
    const pollingConfig: PollingListenerConfig = {
      outboxOrInbox: 'outbox',
      dbListenerConfig: db.clientConfig(),
      settings: { ...baseSettings, nextMessagesFunctionName: 'next_outbox_messages' },
    };
    let currentProgress: Progress | undefined;
    const logCounts = new Map<string, number>();
    const logger = progressLogger(() => currentProgress, logCounts);
    const store = pgtoStore(baseSettings, logger);
    let topic = '';
    let producer: Producer | undefined;
    let shutdown: (() => Promise<void>) | undefined;
    let lastError: string | undefined;
    let slotCreated = false;
    return {
      databaseUrl: db.url(),
      async begin(t, progress) {
        topic = t;
        currentProgress = progress;
        await withClient(db.url(), async (c) => {
          await c.query(DatabaseSetup.dropAndCreateTable(setup));
          await c.query(DatabaseSetup.grantPermissions(setup));
          if (listener === 'replication') {
            await c.query(DatabaseSetup.setupReplicationCore(setup));
            // The package's setupReplicationSlot() SQL, statement by statement ("must be run in a separate transaction").
            await c.query('select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1', [slot]);
            await c.query(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
            slotCreated = true;
          } else {
            await c.query(DatabaseSetup.createPollingFunction(setup));
            await c.query(DatabaseSetup.setupPollingIndexes(setup));
          }
        });
      },
      async insert(client: pg.ClientBase, rows: PeerRow[]) {
        await store(client, rows);
      },
      async startPublishing(progress) {
        currentProgress = progress;
        producer = kafka('bench-peer-pg-transactional-outbox').producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
        await producer.connect();
        const p = producer;
        const handler: GeneralMessageHandler = {
          handle: async (message: StoredTransactionalMessage) => {
            try {
              await p.send({
                topic,
                acks: -1,
                messages: [{ key: message.aggregateId, value: JSON.stringify(message.payload), headers: { id: message.id, type: message.messageType } }],
              });
            } catch (err) {
              lastError = describeError(err);
              throw err;
            }
          },
        };
        [shutdown] = listener === 'replication'
          ? initializeReplicationMessageListener(replicationConfig, handler, logger)
          : initializePollingMessageListener(pollingConfig, handler, logger);
      },
      async health() {
        return lastError ? `last publish error: ${lastError}` : undefined;
      },
      async notes() {
        const out = [...logCounts].map(([text, count]) => `the package logged ${count}× "${text}"`);
        // Rows the listener never marked processed: a committed message it skipped is never published.
        const left = await withClient(db.url(), (c) => c.query<{ n: string }>('select count(*)::text as n from outbox where processed_at is null'));
        out.push(`${left.rows[0]?.n ?? '?'} outbox rows not marked processed by the package when the run ended`);
        return out;
      },
      async end(progress) {
        const s = shutdown;
        shutdown = undefined;
        if (s) await within(20_000, 'pg-transactional-outbox: listener shutdown', progress, s);
        const p = producer;
        producer = undefined;
        if (p) await within(10_000, 'pg-transactional-outbox: producer disconnect', progress, () => p.disconnect());
        if (db.running()) {
          if (slotCreated) await within(40_000, `pg-transactional-outbox: dropping slot ${slot}`, progress, () => dropSlot(db.url(), slot));
          await within(10_000, `pg-transactional-outbox: dropping publication ${publication}`, progress, () => withClient(db.url(), (c) => c.query(`drop publication if exists ${publication}`)));
        }
        currentProgress = undefined;
      },
    };
  }

  const peer: PgTransactionalOutboxPeer = {
    name: `pg-transactional-outbox (${listener} listener)`,
    version: `pg-transactional-outbox ${PG_TRANSACTIONAL_OUTBOX_VERSION} (npm), ${listener} listener, kafkajs 2.2.4 publisher`,
    pids() {
      return db.pid === undefined ? [] : [db.pid];
    },
    async prepare(progress) {
      const tried: string[] = [];
      try {
        const kafkaDown = await kafkaReachable();
        if (kafkaDown) return { ok: false, reason: `pg-transactional-outbox peer: ${kafkaDown}` };
        tried.push(`start its own PostgreSQL (wal_level=logical) on 127.0.0.1:${db.port}`);
        await db.start(progress);
        prepared = true;
        return { ok: true };
      } catch (err) {
        await peer.close();
        return { ok: false, reason: `pg-transactional-outbox peer could not be prepared. Tried: ${tried.join('; ')}. Failed: ${describeError(err)}` };
      }
    },
    async drain(w: DrainWorkload, progress) {
      if (!prepared) return { ran: false, reason: 'pg-transactional-outbox peer: prepare() did not succeed' };
      return runDrain('pg-transactional-outbox', pipeline(), w, progress, (c) => { peer.lastDrainCheck = c; });
    },
    async latency(w: LatencyWorkload, progress) {
      if (!prepared) return { ran: false, reason: 'pg-transactional-outbox peer: prepare() did not succeed' };
      // Its listener and kafkajs producer run in this (the bench's) process, as in the drain.
      const cpu = () => [{ name: 'pg-transactional-outbox (bench process)', pid: process.pid }, { name: 'its PostgreSQL', pid: db.pid, tree: true }];
      return runPeerLatency('pg-transactional-outbox', pipelinePublisher('pg-transactional-outbox', pipeline(), pgtoInserterSpec({ dbSchema: 'public', dbTable: 'outbox' }), cpu), w, progress);
    },
    async close() {
      prepared = false;
      if (db.running()) {
        try {
          await withClient(db.url(), async (c) => {
            const { rows } = await c.query<{ slot_name: string }>(`select slot_name from pg_replication_slots where slot_name like 'bench_pgto_%'`);
            for (const r of rows) await dropSlot(db.url(), r.slot_name, 10_000);
            const pubs = await c.query<{ pubname: string }>(`select pubname from pg_publication where pubname like 'bench_pgto_pub_%'`);
            for (const p of pubs.rows) await c.query(`drop publication if exists ${p.pubname}`);
          });
          peer.closeReport = await db.leftovers();
        } catch {
          /* not answering: stopped below anyway */
        }
      }
      await db.stop();
    },
  };
  return peer;
}
