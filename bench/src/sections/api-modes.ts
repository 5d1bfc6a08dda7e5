/**
 * The API throughput section's modes, in the order they take turns: the writer's price of the outbox taken apart
 * step by step, from DB-only to the outbox as deployed, each step measured side by side in one run. A mode is
 * data (route, strategy, NOTIFY trigger on/off, which relay runs); a new way to run the outbox — e.g. CDC — is
 * one more entry.
 */
import { DB_ONLY_PATH } from '../lib/db-only-orders.ts';
import { SECOND_INSERT_PATH, SECOND_INSERT_STRATEGY } from '../lib/second-insert-orders.ts';
import type { RelayKind } from './api-relay.ts';

export type ApiModeId = 'db-only' | 'second-insert' | 'naive' | 'naive-detector' | 'outbox-polling' | 'outbox' | 'outbox-detector' | 'outbox-relay-process' | 'outbox-relay-stopped' | 'cdc';

export interface ApiMode {
  id: ApiModeId;
  label: string;
  /** Path of the order write on the service's app. */
  path: string;
  /** The body's `strategy`. */
  strategy: string;
  /** The outbox's NOTIFY trigger fires at commit (ALTER TABLE … ENABLE/DISABLE TRIGGER between turns). */
  notify: boolean;
  relay: RelayKind;
  /** Writes outbox rows: the relay publishes them after the turn (timed), before the next mode's turn. */
  outboxed: boolean;
  /** A way to run the outbox for real (the relay publishes); relay-stopped is a decomposition step only. */
  deployable: boolean;
  /** The step's reference mode (what it adds to), for the "÷ previous step" column. */
  after?: ApiModeId;
  /** The hostage-connection detector (@dual-write/detector) runs during this mode's turns. */
  detector?: boolean;
  /** What this mode adds and what that costs the writer (the report's text). */
  explains: string;
}

export const API_MODES: readonly ApiMode[] = [
  {
    id: 'db-only', label: 'DB-only', path: DB_ONLY_PATH, strategy: 'db-only', notify: true, relay: 'none', outboxed: false, deployable: false,
    explains: 'the reference: the service\'s own request path (validation, event, Sequelize INSERT of the order, 201) minus the messaging — BEGIN, one INSERT, COMMIT.',
  },
  {
    id: 'second-insert', label: '+ 2nd INSERT (plain table)', path: SECOND_INSERT_PATH, strategy: SECOND_INSERT_STRATEGY, notify: true, relay: 'none', outboxed: false, deployable: false, after: 'db-only',
    explains: 'DB-only plus a second INSERT of the outbox row\'s exact size (same columns, defaults, indexes, the same enqueue() statement) into a copy of the outbox without triggers: one more statement round trip, one more heap tuple, its index entries and WAL — the price of "two rows in one transaction", nothing outbox-specific.',
  },
  {
    id: 'naive', label: 'naive', path: '/api/v1/orders', strategy: 'naive', notify: true, relay: 'none', outboxed: false, deployable: false,
    explains: 'BEGIN, INSERT order, await the Kafka send (acks=all), COMMIT: the pool connection waits for Kafka (for comparison only: it is not safe).',
  },
  {
    id: 'naive-detector', label: 'naive + hostage detector', path: '/api/v1/orders', strategy: 'naive', notify: true, relay: 'none', outboxed: false, deployable: false, after: 'naive', detector: true,
    explains: 'the naive write with detectHostageConnections() running (each request a unit of work through the Fastify hook; pg\'s queries and checkouts and the producer\'s sends watched; the Prometheus counter and histogram fed; reports counted, not logged): every request is a hostage — its transaction awaits the send — so this is the detector\'s cost when it fires on every request (a stack trace and a report each).',
  },
  {
    id: 'outbox-relay-stopped', label: 'outbox, relay stopped', path: '/api/v1/orders', strategy: 'outbox', notify: true, relay: 'none', outboxed: true, deployable: false, after: 'second-insert',
    explains: 'the real outbox table, nothing reading it (rows pile up; they are published after the turn): on top of the plain second INSERT, the outbox\'s two triggers — the per-key advisory lock (pg_advisory_xact_lock_shared, migration 000002) and the statement-level NOTIFY, which PostgreSQL queues at COMMIT under one cluster-wide lock (PreCommit_Notify: notifying commits serialise on it) even when nobody listens.',
  },
  {
    id: 'outbox-polling', label: 'outbox, NOTIFY off, relay polling', path: '/api/v1/orders', strategy: 'outbox', notify: false, relay: 'poll', outboxed: true, deployable: true, after: 'outbox-relay-stopped',
    explains: 'the NOTIFY trigger disabled and the relay running in the service\'s process, polling only (RELAY_LISTEN=false; under this load every read finds rows, so it never waits for its 1 s interval): its SELECTs and DELETEs on the same server and its kafkajs work on the same event loop — what the relay\'s running costs the writer.',
  },
  {
    id: 'outbox', label: 'outbox as shipped (NOTIFY on, relay listening)', path: '/api/v1/orders', strategy: 'outbox', notify: true, relay: 'listen', outboxed: true, deployable: true, after: 'outbox-polling',
    explains: 'the defaults: the NOTIFY trigger on and the relay LISTENing in the service\'s process. Now a backend listens: every commit also signals it, and the relay wakes for each notification and reads what is there — more, smaller batches (more SELECTs, DELETEs and Kafka requests per message) than the polling relay, which takes whatever accumulated.',
  },
  {
    id: 'outbox-detector', label: 'outbox as shipped + hostage detector', path: '/api/v1/orders', strategy: 'outbox', notify: true, relay: 'listen', outboxed: true, deployable: true, after: 'outbox', detector: true,
    explains: 'the outbox as shipped with detectHostageConnections() running: its cost when it watches and never fires (every pg query\'s text checked for BEGIN/COMMIT, every checkout tracked, the relay\'s sends looked at) — what leaving it on in production costs.',
  },
  {
    id: 'outbox-relay-process', label: 'outbox as shipped, relay in its own process', path: '/api/v1/orders', strategy: 'outbox', notify: true, relay: 'process', outboxed: true, deployable: true, after: 'outbox',
    explains: 'the same, with the relay as a separate process (services/relay, the `outbox-relay` bin) instead of inside the service: the service\'s event loop no longer runs the relay\'s work, but the relay is no longer held back by it either (both share the machine\'s 2 cores with PostgreSQL and Kafka).',
  },
  {
    id: 'cdc', label: 'outbox, CDC relay (RELAY_MODE=cdc)', path: '/api/v1/orders', strategy: 'outbox', notify: false, relay: 'cdc', outboxed: true, deployable: true, after: 'outbox',
    explains: 'the relay (in the service\'s process) streams the outbox\'s inserts from a logical replication slot (pgoutput) instead of SELECTing them: no NOTIFY trigger (disabled), no reads competing with the writers; it still deletes what Kafka acknowledged, and the walsender decodes the WAL on the same server.',
  },
];

export const modeById = (id: ApiModeId): ApiMode => API_MODES.find((m) => m.id === id)!;
