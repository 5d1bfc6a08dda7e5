/**
 * Every relay option resolved in ONE place: explicit option > environment variable > default, and validated
 * before anything connects. A typo is DW_RELAY_UNKNOWN_OPTION; a bad value is DW_RELAY_INVALID_OPTION naming
 * the option, its environment variable when it has one, and the fix.
 */
import os from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import type { KafkaConfig } from 'kafkajs';
import type { Logger } from 'pino';
import { OUTBOX_SCHEMA, OUTBOX_TABLE, OutboxError, outboxTables, type ResolvedOutboxTables } from '@dual-write/outbox';
import { RelayError } from './errors.ts';
import { confluentPublisher } from './publishers/confluent/confluent-publisher.ts';
import { kafkajsPublisher } from './publishers/kafkajs/kafka-publisher.ts';
import { platformaticPublisher } from './publishers/platformatic/platformatic-publisher.ts';
import type { RelayPublisherFactory, RelayStoreFactory } from './seams.ts';
import { postgresStore } from './stores/postgres/outbox-store.ts';

export const RELAY_LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type RelayLogLevel = (typeof RELAY_LOG_LEVELS)[number];

/** Debezium's outbox event router default (`route.topic.replacement`): one topic per aggregate type. */
export const DEFAULT_TOPIC = 'outbox.event.${aggregatetype}';
const PLACEHOLDER = '${aggregatetype}';

export interface Backoff {
  /** First delay (ms). */
  initialMs: number;
  /** Largest delay (ms); delays double up to it, with jitter. */
  maxMs: number;
}

export interface RelayOptions {
  /** postgres:// URL of the database holding the outbox. Default: DATABASE_URL (required). */
  database?: string;
  /**
   * postgres:// URL of the SAME database for the relay's one coordination session (session advisory locks: slot
   * ownership; LISTEN), when `database` goes through a pooler in transaction mode (PgBouncer, RDS Proxy, Supavisor…):
   * a direct or session-mode URL. The pool still reads and deletes through `database`. Default: RELAY_COORDINATION_URL,
   * else `database` itself.
   */
  coordinationUrl?: string;
  /** Schema of the outbox's tables, as given to migrateOutbox(). Default OUTBOX_SCHEMA, else `public`. */
  schema?: string;
  /** The outbox table (its dead letters: `<table>_dead_letters`), as given to migrateOutbox(). Default OUTBOX_TABLE, else `outbox`. */
  table?: string;
  /** Kafka brokers (`host:port` list or comma-separated string). Default: KAFKA_BROKERS (required). */
  brokers?: readonly string[] | string;
  /**
   * Topic of a row whose aggregate type `topicFor` does not map: a name, or a template where `${aggregatetype}`
   * stands for the row's aggregatetype. Default: RELAY_TOPIC, else `outbox.event.${aggregatetype}` (Debezium's outbox router).
   */
  topic?: string;
  /** aggregatetype → topic: a function, or a map (unmapped types follow `topic`). */
  topicFor?: ((aggregateType: string) => string) | Readonly<Record<string, string>>;
  /** HTTP port for /metrics and /health; 0 = a free port; false = no HTTP server. Default RELAY_PORT (9464). */
  port?: number | false;
  /** Address the HTTP server binds to. Default 127.0.0.1 (use 0.0.0.0 to let Prometheus scrape from elsewhere). */
  host?: string;
  /** Most rows read and published per batch. Default RELAY_BATCH_SIZE (500). */
  batchSize?: number;
  /** Poll when no NOTIFY arrived (ms). Default RELAY_POLL_INTERVAL_MS (1000). */
  pollIntervalMs?: number;
  /** Wake up on the outbox NOTIFY sent at commit (LISTEN); false = poll every pollIntervalMs only. Default RELAY_LISTEN (true). */
  listen?: boolean;
  /** Times Kafka may refuse a message before it becomes a dead letter. Default RELAY_MAX_ATTEMPTS (5). */
  maxAttempts?: number;
  /** Key-hash slots shared among instances; identical on every instance. Default RELAY_SLOTS (32). */
  slots?: number;
  /** The relay's own pool size. Default RELAY_DB_POOL_MAX (2). */
  poolMax?: number;
  /** Log level when the relay makes its own logger. Default RELAY_LOG_LEVEL (info). */
  logLevel?: RelayLogLevel;
  /** Your pino logger (the relay logs as a child of it). */
  logger?: Logger;
  /** Names this instance in logs, metrics and pg_stat_activity. Default `<hostname>-<pid>-<random>`. */
  instanceId?: string;
  /** Backoff while Kafka is unavailable (retried forever). Default 200 ms … 5 s. */
  retryBackoff?: Partial<Backoff>;
  /** Backoff between attempts of a message Kafka refused. Default 1 s … 60 s. */
  attemptBackoff?: Partial<Backoff>;
  /** How often instances re-count each other and re-share the slots (ms). Default 2000. */
  rebalanceIntervalMs?: number;
  /**
   * How long an instance may make no progress (a stopped process, a blocked event loop, a frozen VM, a network
   * that keeps its TCP session open) before the others fence it off and take its slots (ms). Default
   * RELAY_LEASE_MS, else 15000. It must be the same on every instance.
   */
  leaseMs?: number;
  /** On stop(), how long the in-flight batch may take before it is abandoned (it stays in the outbox). Default 15000. */
  shutdownTimeoutMs?: number;
  /** Database connect timeout (ms): an unreachable database fails start() within it. Default 5000. */
  connectTimeoutMs?: number;
  /** Most uncompressed bytes per produce request to one partition. Default 900000 (below Kafka's 1 MB default). */
  maxBatchBytes?: number;
  /** Kafka compression. Default none. */
  compression?: 'none' | 'gzip';
  /** Kafka client id. Default `outbox-relay`. */
  clientId?: string;
  /** Extra kafkajs client settings (ssl, sasl, connectionTimeout…); brokers, clientId and logging are the relay's. */
  kafka?: Omit<Partial<KafkaConfig>, 'brokers' | 'clientId' | 'logCreator' | 'logLevel'>;
  /** The database side (seams.ts RelayStore). Default: the PostgreSQL store (stores/postgres). */
  store?: RelayStoreFactory;
  /**
   * The Kafka side (seams.ts RelayPublisher). Default: RELAY_PUBLISHER (`kafkajs`, `platformatic` or `confluent`: the
   * optional clients must be installed), else the kafkajs publisher (publishers/kafkajs).
   */
  publisher?: RelayPublisherFactory;
  /** /health turns `degraded` once the outbox's oldest unpublished row (whole table) is older than this (s). Default RELAY_HEALTH_MAX_AGE_SECONDS (60). */
  healthMaxAgeSeconds?: number;
  /**
   * `poll` (the default): read committed rows with SELECT (slots, NOTIFY). `cdc`: stream the outbox's inserts from a
   * logical replication slot (pgoutput) instead — see the README, "CDC mode". Default RELAY_MODE, else `poll`.
   */
  mode?: RelayMode;
  /** CDC mode: the logical replication slot (created if missing; cluster-wide name). Default RELAY_CDC_SLOT, else `outbox_relay_<table>` (`outbox_relay_<schema>_<table>` outside public). */
  cdcSlot?: string;
  /** CDC mode: the publication (created if missing: FOR TABLE <outbox> WITH (publish = 'insert')). Default RELAY_CDC_PUBLICATION, else the slot's name. */
  cdcPublication?: string;
  /** CDC mode: /health turns `degraded` once the slot holds back more WAL than this (MB, pg_current_wal_lsn() - confirmed_flush_lsn). Default RELAY_CDC_MAX_SLOT_LAG_MB (1024). */
  cdcMaxSlotLagMb?: number;
}

export const RELAY_MODES = ['poll', 'cdc'] as const;
export type RelayMode = (typeof RELAY_MODES)[number];

export interface ResolvedRelayOptions {
  database: string;
  /** The coordination session's URL when one was given; undefined: the session uses `database`. */
  coordinationUrl: string | undefined;
  schema: string;
  table: string;
  /** Every name derived from schema and table, quoted for SQL (@dual-write/outbox's outboxTables()). */
  tables: ResolvedOutboxTables;
  brokers: string[];
  /** The topic template (a plain name when every type goes to one topic). */
  topic: string;
  topicFor: (aggregateType: string) => string;
  port: number | false;
  host: string;
  batchSize: number;
  pollIntervalMs: number;
  listen: boolean;
  maxAttempts: number;
  slots: number;
  poolMax: number;
  logLevel: RelayLogLevel;
  logger: Logger | undefined;
  instanceId: string;
  retryBackoff: Backoff;
  attemptBackoff: Backoff;
  rebalanceIntervalMs: number;
  leaseMs: number;
  shutdownTimeoutMs: number;
  connectTimeoutMs: number;
  maxBatchBytes: number;
  compression: 'none' | 'gzip';
  clientId: string;
  kafka: Omit<Partial<KafkaConfig>, 'brokers' | 'clientId' | 'logCreator' | 'logLevel'>;
  store: RelayStoreFactory;
  publisher: RelayPublisherFactory;
  healthMaxAgeSeconds: number;
  mode: RelayMode;
  /** The replication slot of CDC mode (resolved in poll mode too, unused there). */
  cdcSlot: string;
  cdcPublication: string;
  cdcMaxSlotLagMb: number;
}

/** Option → the environment variable it defaults from (for error messages). */
const ENV_OF: Partial<Record<keyof RelayOptions, string>> = {
  database: 'DATABASE_URL',
  coordinationUrl: 'RELAY_COORDINATION_URL',
  schema: 'OUTBOX_SCHEMA',
  table: 'OUTBOX_TABLE',
  brokers: 'KAFKA_BROKERS',
  topic: 'RELAY_TOPIC',
  host: 'RELAY_HOST',
  port: 'RELAY_PORT',
  batchSize: 'RELAY_BATCH_SIZE',
  pollIntervalMs: 'RELAY_POLL_INTERVAL_MS',
  listen: 'RELAY_LISTEN',
  maxAttempts: 'RELAY_MAX_ATTEMPTS',
  slots: 'RELAY_SLOTS',
  poolMax: 'RELAY_DB_POOL_MAX',
  logLevel: 'RELAY_LOG_LEVEL',
  healthMaxAgeSeconds: 'RELAY_HEALTH_MAX_AGE_SECONDS',
  leaseMs: 'RELAY_LEASE_MS',
  mode: 'RELAY_MODE',
  cdcSlot: 'RELAY_CDC_SLOT',
  cdcPublication: 'RELAY_CDC_PUBLICATION',
  cdcMaxSlotLagMb: 'RELAY_CDC_MAX_SLOT_LAG_MB',
  publisher: 'RELAY_PUBLISHER',
};

/** RELAY_PUBLISHER → the publisher (the optional clients load on connect, so naming one here loads nothing). */
export const RELAY_PUBLISHERS: Readonly<Record<string, RelayPublisherFactory>> = { kafkajs: kafkajsPublisher, platformatic: platformaticPublisher, confluent: confluentPublisher };

const KNOWN: ReadonlyArray<keyof RelayOptions> = [
  'database', 'coordinationUrl', 'schema', 'table', 'brokers', 'topic', 'topicFor', 'port', 'host', 'batchSize', 'pollIntervalMs', 'listen', 'maxAttempts', 'slots', 'poolMax',
  'logLevel', 'logger', 'instanceId', 'retryBackoff', 'attemptBackoff', 'rebalanceIntervalMs', 'leaseMs', 'shutdownTimeoutMs',
  'connectTimeoutMs', 'maxBatchBytes', 'compression', 'clientId', 'kafka', 'store', 'publisher',
  'healthMaxAgeSeconds', 'mode', 'cdcSlot', 'cdcPublication', 'cdcMaxSlotLagMb',
];

const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

function invalid(option: string, value: unknown, expected: string): RelayError {
  const env = ENV_OF[option as keyof RelayOptions];
  const shown = typeof value === 'string' ? JSON.stringify(value) : Array.isArray(value) ? JSON.stringify(value) : String(value);
  return new RelayError(
    'DW_RELAY_INVALID_OPTION',
    `Relay option ${option} = ${shown} is not valid: expected ${expected}.`,
    env ? `Fix the option ${option} or the environment variable ${env} (or leave both unset for the default).` : `Fix the option ${option}, or leave it out for the default.`,
    { option, value },
  );
}

function wholeNumber(option: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(option, value, `a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`);
  }
  return value;
}

function brokerList(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : undefined;
  const brokers = list?.map((b) => (typeof b === 'string' ? b.trim() : '')).filter(Boolean);
  if (!brokers || brokers.length === 0 || brokers.length !== list!.length) throw invalid('brokers', value, 'one or more host:port, comma separated');
  for (const b of brokers) {
    const m = /^\[?([^\]\s]+?)\]?:(\d+)$/.exec(b);
    const port = m ? Number(m[2]) : 0;
    if (!m || !/^\d+$/.test(m[2]!) || port < 1 || port > 65535) throw invalid('brokers', b, 'host:port with a port from 1 to 65535');
  }
  return brokers;
}

function databaseUrl(value: unknown, option: 'database' | 'coordinationUrl' = 'database'): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid(option, value, 'a postgres:// URL');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(option, value.replace(/:[^:@/]*@/, ':***@'), 'a URL like postgres://user:password@host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw invalid(option, url.protocol, 'a postgres:// or postgresql:// URL');
  if (!url.pathname || url.pathname === '/') throw invalid(option, value.replace(/:[^:@/]*@/, ':***@'), 'a URL that names a database (…/dbname)');
  return value;
}

function topicName(option: string, value: unknown): string {
  if (typeof value !== 'string' || !TOPIC_NAME.test(value)) throw invalid(option, value, 'a Kafka topic name (letters, digits, . _ -; at most 249)');
  return value;
}

/** A topic name, or a template with `${aggregatetype}`: checked by filling it in. */
function topicTemplate(value: unknown): (aggregateType: string) => string {
  if (typeof value !== 'string' || !TOPIC_NAME.test(value.split(PLACEHOLDER).join('x'))) {
    throw invalid('topic', value, `a Kafka topic name (letters, digits, . _ -; at most 249), or a template like ${JSON.stringify(DEFAULT_TOPIC)}`);
  }
  if (!value.includes(PLACEHOLDER)) return () => value;
  const parts = value.split(PLACEHOLDER);
  return (aggregateType) => parts.join(aggregateType);
}

function topicMapper(value: unknown, fallback: (aggregateType: string) => string): (aggregateType: string) => string {
  if (value === undefined) return fallback;
  if (typeof value === 'function') return value as (aggregateType: string) => string;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const map = new Map<string, string>();
    for (const [type, topic] of Object.entries(value)) map.set(type, topicName(`topicFor.${type}`, topic));
    return (aggregateType) => map.get(aggregateType) ?? fallback(aggregateType);
  }
  throw invalid('topicFor', value, 'a function (aggregateType) => topic, or an object { aggregateType: topic }');
}

/** schema and table, checked by the outbox's own rules; a bad one is DW_RELAY_INVALID_OPTION naming the option and its variable. */
function outboxNames(schema: unknown, table: unknown): ResolvedOutboxTables {
  for (const [option, value] of [['schema', schema], ['table', table]] as const) {
    if (typeof value !== 'string') throw invalid(option, value, 'a plain lowercase SQL identifier');
  }
  try {
    return outboxTables({ schema: schema as string, table: table as string }, 'Relay');
  } catch (err) {
    if (!(err instanceof OutboxError) || err.code !== 'DW_OUTBOX_INVALID_OPTION') throw err;
    const d = (err.details ?? {}) as { option?: 'schema' | 'table'; value?: unknown; expected?: string };
    throw invalid(d.option ?? 'schema', d.value, d.expected ?? 'a plain lowercase SQL identifier');
  }
}

function backoff(option: string, value: unknown, fallback: Backoff): Backoff {
  if (value === undefined) return fallback;
  if (typeof value !== 'object' || value === null) throw invalid(option, value, '{ initialMs, maxMs }');
  const v = value as Partial<Backoff>;
  const initialMs = wholeNumber(`${option}.initialMs`, v.initialMs ?? fallback.initialMs, 1);
  const maxMs = wholeNumber(`${option}.maxMs`, v.maxMs ?? Math.max(fallback.maxMs, initialMs), initialMs);
  return { initialMs, maxMs };
}

/** A value from the environment: a whole number, a boolean, or the text itself. */
type EnvValue = string | number | boolean | undefined;

function fromEnv(env: NodeJS.ProcessEnv, name: string, kind: 'text' | 'int' | 'bool'): EnvValue {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const v = raw.trim();
  const bad = (expected: string) =>
    new RelayError('DW_RELAY_INVALID_OPTION', `${name}=${JSON.stringify(raw)} is not valid: expected ${expected}.`, `Fix ${name} in the environment, or unset it for the default.`, { env: name, value: raw });
  if (kind === 'int') {
    if (!/^\d+$/.test(v)) throw bad('a whole number');
    return Number(v);
  }
  if (kind === 'bool') {
    if (/^(true|1|yes|on)$/i.test(v)) return true;
    if (/^(false|0|no|off)$/i.test(v)) return false;
    throw bad('true or false');
  }
  return v;
}

function required(option: 'database' | 'brokers', value: unknown, example: string): unknown {
  if (value !== undefined) return value;
  throw new RelayError('DW_RELAY_INVALID_OPTION', `Relay option ${option} is not set.`, `Set ${ENV_OF[option]} (e.g. ${ENV_OF[option]}=${example}) or pass the option ${option}.`, { option });
}

/** A replication slot or publication name: a plain lowercase identifier PostgreSQL accepts for a slot. */
const CDC_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The default slot (and publication) name of an outbox: `outbox_relay_<table>`, `outbox_relay_<schema>_<table>` outside public; hashed when longer than 63. */
export function defaultCdcSlot(tables: Pick<ResolvedOutboxTables, 'schema' | 'table'>): string {
  const name = `outbox_relay_${tables.schema === 'public' ? tables.table : `${tables.schema}_${tables.table}`}`;
  return name.length <= 63 ? name : `outbox_relay_${createHash('sha256').update(`${tables.schema}.${tables.table}`).digest('hex').slice(0, 16)}`;
}

function cdcName(option: 'cdcSlot' | 'cdcPublication', value: unknown): string {
  if (typeof value !== 'string' || !CDC_NAME.test(value)) throw invalid(option, value, 'a lowercase name of letters, digits and _ (at most 63, not starting with a digit)');
  return value;
}

/** The relay's options, checked and filled in. Throws DwError before anything connects. */
export function resolveRelayOptions(input: RelayOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedRelayOptions {
  if (typeof input !== 'object' || input === null) throw new RelayError('DW_RELAY_INVALID_OPTION', 'Relay options must be an object.', 'Call startRelay({ … }) or startRelay().');
  const o = input as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !(KNOWN as string[]).includes(k) && o[k] !== undefined);
  if (unknown.length) {
    throw new RelayError('DW_RELAY_UNKNOWN_OPTION', `Unknown relay option${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`, `Known options: ${KNOWN.join(', ')}.`);
  }
  const e = (name: keyof RelayOptions, kind: 'text' | 'int' | 'bool' = 'int') => fromEnv(env, ENV_OF[name]!, kind);
  const topic = (input.topic ?? e('topic', 'text') ?? DEFAULT_TOPIC) as string;
  const port = input.port === false ? false : wholeNumber('port', input.port ?? e('port') ?? 9464, 0, 65535);
  const logLevel = (input.logLevel ?? e('logLevel', 'text') ?? 'info') as RelayLogLevel;
  if (!(RELAY_LOG_LEVELS as readonly string[]).includes(logLevel)) throw invalid('logLevel', logLevel, `one of ${RELAY_LOG_LEVELS.join(', ')}`);
  const compression = input.compression ?? 'none';
  if (compression !== 'none' && compression !== 'gzip') throw invalid('compression', compression, '"none" or "gzip" (kafkajs ships only gzip)');
  const instanceId = input.instanceId ?? `${os.hostname().replace(/[^\w.-]/g, '-').slice(0, 24)}-${process.pid}-${randomBytes(2).toString('hex')}`;
  if (typeof instanceId !== 'string' || !/^[\w.:-]{1,40}$/.test(instanceId)) throw invalid('instanceId', instanceId, 'up to 40 letters, digits, . _ : -');
  const host = input.host ?? (e('host', 'text') as string | undefined) ?? '127.0.0.1';
  if (typeof host !== 'string' || host.trim() === '') throw invalid('host', host, 'an address to bind to, e.g. 127.0.0.1 or 0.0.0.0');
  const clientId = input.clientId ?? 'outbox-relay';
  if (typeof clientId !== 'string' || clientId.trim() === '') throw invalid('clientId', clientId, 'a non-empty string');
  const listen = input.listen ?? e('listen', 'bool') ?? true;
  if (typeof listen !== 'boolean') throw invalid('listen', listen, 'true or false');
  if (input.kafka !== undefined && (typeof input.kafka !== 'object' || input.kafka === null)) throw invalid('kafka', input.kafka, 'an object of kafkajs client settings');
  if (input.store !== undefined && typeof input.store !== 'function') throw invalid('store', '[value]', 'a function (context) => RelayStore, e.g. postgresStore');
  if (input.publisher !== undefined && typeof input.publisher !== 'function') throw invalid('publisher', '[value]', 'a function (context) => RelayPublisher, e.g. kafkajsPublisher');
  if (input.logger !== undefined && typeof (input.logger as { child?: unknown }).child !== 'function') throw invalid('logger', '[value]', 'a pino logger');
  const publisherName = input.publisher === undefined ? (e('publisher', 'text') as string | undefined) : undefined;
  if (publisherName !== undefined && !Object.hasOwn(RELAY_PUBLISHERS, publisherName)) throw invalid('publisher', publisherName, `one of ${Object.keys(RELAY_PUBLISHERS).join(', ')}`);
  const coordinationUrl = input.coordinationUrl ?? e('coordinationUrl', 'text');
  const tables = outboxNames(input.schema ?? e('schema', 'text') ?? OUTBOX_SCHEMA, input.table ?? e('table', 'text') ?? OUTBOX_TABLE);
  const mode = input.mode ?? e('mode', 'text') ?? 'poll';
  if (!(RELAY_MODES as readonly unknown[]).includes(mode)) throw invalid('mode', mode, '"poll" (read committed rows with SELECT) or "cdc" (stream inserts from a logical replication slot)');
  // CDC mode reads the replication stream, not through a RelayStore: a store given with it would silently not be used.
  if (mode === 'cdc' && input.store !== undefined) throw invalid('store', '[value]', 'no store with mode "cdc" (it streams from a replication slot, not through a RelayStore): leave store out, or use mode "poll"');
  const cdcSlot = cdcName('cdcSlot', input.cdcSlot ?? e('cdcSlot', 'text') ?? defaultCdcSlot(tables));
  const cdcPublication = cdcName('cdcPublication', input.cdcPublication ?? e('cdcPublication', 'text') ?? cdcSlot);
  return {
    database: databaseUrl(required('database', input.database ?? e('database', 'text'), 'postgres://user:password@db:5432/app')),
    coordinationUrl: coordinationUrl === undefined ? undefined : databaseUrl(coordinationUrl, 'coordinationUrl'),
    schema: tables.schema,
    table: tables.table,
    tables,
    brokers: brokerList(required('brokers', input.brokers ?? e('brokers', 'text'), 'kafka-1:9092,kafka-2:9092')),
    topic,
    topicFor: topicMapper(input.topicFor, topicTemplate(topic)),
    port,
    host,
    batchSize: wholeNumber('batchSize', input.batchSize ?? e('batchSize') ?? 500, 1, 10_000),
    pollIntervalMs: wholeNumber('pollIntervalMs', input.pollIntervalMs ?? e('pollIntervalMs') ?? 1000, 10),
    listen,
    maxAttempts: wholeNumber('maxAttempts', input.maxAttempts ?? e('maxAttempts') ?? 5, 1),
    slots: wholeNumber('slots', input.slots ?? e('slots') ?? 32, 1, 4096),
    poolMax: wholeNumber('poolMax', input.poolMax ?? e('poolMax') ?? 2, 1),
    logLevel,
    logger: input.logger,
    instanceId,
    retryBackoff: backoff('retryBackoff', input.retryBackoff, { initialMs: 200, maxMs: 5000 }),
    attemptBackoff: backoff('attemptBackoff', input.attemptBackoff, { initialMs: 1000, maxMs: 60_000 }),
    rebalanceIntervalMs: wholeNumber('rebalanceIntervalMs', input.rebalanceIntervalMs ?? 2000, 50),
    leaseMs: wholeNumber('leaseMs', input.leaseMs ?? e('leaseMs') ?? 15_000, 1000, 3_600_000),
    shutdownTimeoutMs: wholeNumber('shutdownTimeoutMs', input.shutdownTimeoutMs ?? 15_000, 0),
    connectTimeoutMs: wholeNumber('connectTimeoutMs', input.connectTimeoutMs ?? 5000, 100),
    maxBatchBytes: wholeNumber('maxBatchBytes', input.maxBatchBytes ?? 900_000, 1024),
    compression,
    clientId,
    kafka: input.kafka ?? {},
    store: input.store ?? postgresStore,
    publisher: input.publisher ?? (publisherName !== undefined ? RELAY_PUBLISHERS[publisherName]! : kafkajsPublisher),
    healthMaxAgeSeconds: wholeNumber('healthMaxAgeSeconds', input.healthMaxAgeSeconds ?? e('healthMaxAgeSeconds') ?? 60, 1),
    mode: mode as RelayMode,
    cdcSlot,
    cdcPublication,
    cdcMaxSlotLagMb: wholeNumber('cdcMaxSlotLagMb', input.cdcMaxSlotLagMb ?? e('cdcMaxSlotLagMb') ?? 1024, 1),
  };
}
