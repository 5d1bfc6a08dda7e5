/**
 * The one place where the lab's settings are resolved: explicit option > environment > default.
 * Every other package asks `resolveConfig()` instead of reading `process.env` itself, so the
 * README's configuration table, docker-compose.yml and the code cannot disagree (a test checks).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DwError } from './errors.ts';

export interface SettingSpec {
  readonly default: string;
  readonly meaning: string;
}

/** Every environment variable the lab reads, with its default and what it means. */
export const SETTINGS = {
  DATABASE_URL: {
    default: 'postgres://postgres:postgres@127.0.0.1:15432/dual_write',
    meaning: 'The real PostgreSQL (no proxy). When you set it, the stack does not start PostgreSQL and uses yours.',
  },
  KAFKA_BROKERS: {
    default: '127.0.0.1:19092',
    meaning: "The real Kafka broker list (no proxy), comma separated. When you set it, the stack does not start Kafka and uses yours.",
  },
  TOXIPROXY_URL: {
    default: 'http://127.0.0.1:8474',
    meaning: 'Toxiproxy HTTP API. The stack starts a Toxiproxy server here unless one already answers.',
  },
  VIA_PROXY: {
    default: 'true',
    meaning: 'true: services reach PostgreSQL and Kafka through the Toxiproxy proxies (so faults can be injected); false: directly.',
  },
  POSTGRES_PROXY_PORT: {
    default: '15433',
    meaning: 'Port of the `postgres` Toxiproxy proxy (services connect here when VIA_PROXY=true).',
  },
  KAFKA_PROXY_PORT: {
    default: '29092',
    meaning: 'Port of the `kafka` Toxiproxy proxy; the managed broker advertises this address to clients that come through it.',
  },
  KAFKA_PROXIED_LISTENER_PORT: {
    default: '19094',
    meaning: "Port of the managed broker's listener that sits behind the `kafka` proxy (the proxy's upstream).",
  },
  KAFKA_CONTROLLER_PORT: {
    default: '19093',
    meaning: 'Port of the managed broker’s KRaft controller listener.',
  },
  KAFKA_NODES: {
    default: '1',
    meaning: 'How many Kafka nodes the stack runs: 1 (the single broker) or 3 (a KRaft cluster: three combined broker+controller nodes, one cluster id, a 3-voter quorum, each behind its own Toxiproxy proxy kafka-1, kafka-2, kafka-3; topics with replication factor 3 and min.insync.replicas 2). `npm run stack -- up --kafka-nodes 3` sets it for one command.',
  },
  KAFKA_CLUSTER_BROKERS: {
    default: '127.0.0.1:19102,127.0.0.1:19103,127.0.0.1:19104',
    meaning: 'KAFKA_NODES=3: the direct listeners of nodes 1, 2 and 3 (no proxy; the auditor and test set-up use them). They are the broker list when KAFKA_BROKERS is not set.',
  },
  KAFKA_CLUSTER_CONTROLLER_PORTS: {
    default: '19105,19106,19107',
    meaning: 'KAFKA_NODES=3: the KRaft controller listener ports of nodes 1, 2 and 3 (the 3-voter quorum).',
  },
  KAFKA_CLUSTER_PROXIED_LISTENER_PORTS: {
    default: '19108,19109,19110',
    meaning: 'KAFKA_NODES=3: the ports of the listeners behind the kafka-1, kafka-2 and kafka-3 proxies (each proxy’s upstream).',
  },
  KAFKA_CLUSTER_PROXY_PORTS: {
    default: '29102,29103,29104',
    meaning: 'KAFKA_NODES=3: the ports of the kafka-1, kafka-2 and kafka-3 Toxiproxy proxies; each node advertises its own proxy’s address to clients that come through it.',
  },
  KAFKA_VERSION: {
    default: '4.1.1',
    meaning: 'Version of org.apache.kafka:kafka_2.13 fetched from Maven Central for the managed broker.',
  },
  TOXIPROXY_VERSION: {
    default: 'v2.12.0',
    meaning: 'Version of github.com/Shopify/toxiproxy/v2 built with `go install` for the managed Toxiproxy server.',
  },
  ORDERS_TOPIC: { default: 'orders', meaning: 'Kafka topic that carries OrderCreated events.' },
  ORDERS_TOPIC_PARTITIONS: { default: '6', meaning: 'Partition count used when the stack creates the orders topic.' },
  PORT: { default: '3000', meaning: 'HTTP port of the order service.' },
  HOST: { default: '127.0.0.1', meaning: 'Address the order service binds to.' },
  ORDER_WRITE_STRATEGY: {
    default: 'naive',
    meaning: 'How POST /api/v1/orders writes when the request does not say: naive (Kafka send inside the DB transaction), naive-after-commit (commit, then send), outbox (order + outbox row in one transaction; the relay publishes).',
  },
  DB_POOL_MAX: { default: '5', meaning: 'Size of the order service’s database connection pool (small on purpose: pool exhaustion shows in seconds).' },
  NOT_FOUND_RETRY_MS: {
    default: '0',
    meaning: 'Shipping and billing: how long to keep retrying an order callback that answered 404 before recording a ghost (0 = at once). Rescues a message that outran its commit; a true zombie still ends as a ghost, only later.',
  },
  DB_POOL_ACQUIRE_TIMEOUT_MS: {
    default: '2000',
    meaning: 'How long a request waits for a free pool connection before Sequelize throws ConnectionAcquireTimeoutError.',
  },
  FAULT_INJECTION: {
    default: 'false',
    meaning: 'true enables GET /api/v1/bad-scenario (it injects real faults through Toxiproxy). `npm start` turns it on; keep it off in production.',
  },
  STACK_DIR: {
    default: '<repo>/.stack',
    meaning: 'Where the stack keeps its jars, binaries, data, logs and pid files (git-ignored).',
  },
  STACK_CACHE_DIR: {
    default: '<STACK_DIR>/cache',
    meaning: 'Where downloaded Kafka jars and the built Toxiproxy binary are kept (reused across `up`s and stacks).',
  },
  POSTGRES_MANAGED: {
    default: 'auto',
    meaning: 'auto: the stack runs PostgreSQL unless DATABASE_URL is set; true: always run it (on DATABASE_URL’s port); false: never.',
  },
  KAFKA_MANAGED: {
    default: 'auto',
    meaning: 'auto: the stack runs Kafka unless KAFKA_BROKERS is set; true: always run it (on KAFKA_BROKERS’ port); false: never.',
  },
  PGBOUNCER: {
    default: 'false',
    meaning: 'true: `stack up` also runs PgBouncer (Debian package `pgbouncer`, installed when missing) in transaction mode in front of PostgreSQL, as managed databases are reached; false: only when a test starts it (ensurePgbouncer()).',
  },
  PGBOUNCER_PORT: {
    default: '16432',
    meaning: 'Port of the optional PgBouncer (transaction mode; any database name is passed through to PostgreSQL; its admin console is the database `pgbouncer`).',
  },
  STACK_READY_TIMEOUT_MS: {
    default: '90000',
    meaning: 'How long `stack up` waits for each service to become ready before failing with its log tail.',
  },
  RELAY_PORT: { default: '9464', meaning: 'HTTP port of the outbox relay’s /metrics and /health (0 picks a free port).' },
  RELAY_BATCH_SIZE: { default: '500', meaning: 'Most outbox rows the relay reads and publishes per batch.' },
  RELAY_POLL_INTERVAL_MS: {
    default: '1000',
    meaning: 'How often the relay looks for rows when no NOTIFY woke it (the correctness floor if a notification is missed).',
  },
  RELAY_MAX_ATTEMPTS: {
    default: '5',
    meaning: 'How many times Kafka may refuse a message (e.g. too large) before the relay moves it to outbox_dead_letters.',
  },
  RELAY_SLOTS: {
    default: '32',
    meaning: 'Key-hash slots shared out among relay instances (one owner per slot); every instance on a database must use the same number.',
  },
  RELAY_DB_POOL_MAX: { default: '2', meaning: 'Size of the relay’s own database pool (it also keeps one dedicated session for its locks and LISTEN).' },
  RELAY_LOG_LEVEL: { default: 'info', meaning: 'Log level of the relay’s JSON logs: trace, debug, info, warn, error, fatal or silent.' },
  RELAY_LISTEN: {
    default: 'true',
    meaning: 'true: the relay wakes on the outbox NOTIFY sent at commit (LISTEN); false: it only polls every RELAY_POLL_INTERVAL_MS.',
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;
export type ConfigOverrides = Partial<Record<SettingName, string | number | boolean>>;

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Settings of the lab's orders topics. LogAppendTime: every message carries when the broker appended it, which
 * the auditor compares with the row's commit time to find messages that outran their commit (premature).
 */
export const ORDERS_TOPIC_CONFIG: readonly { name: string; value: string }[] = [{ name: 'message.timestamp.type', value: 'LogAppendTime' }];

export interface LabConfig {
  repoRoot: string;
  stackDir: string;
  cacheDir: string;
  viaProxy: boolean;
  readyTimeoutMs: number;
  database: {
    /** The real database, used by the stack, the auditor and test set-up. */
    url: string;
    /** What services use: through the `postgres` proxy when viaProxy. */
    appUrl: string;
    /** Started and stopped by the stack (false when DATABASE_URL was given). */
    managed: boolean;
    upstream: HostPort;
    proxyPort: number;
    name: string;
  };
  kafka: {
    /** KAFKA_NODES: 1 (the single broker) or 3 (a KRaft cluster). */
    nodeCount: 1 | 3;
    /** The managed nodes: one for KAFKA_NODES=1 (the ports above), three for KAFKA_NODES=3 (the KAFKA_CLUSTER_* ports). */
    nodes: KafkaNode[];
    /** The real broker list, used by the auditor and test set-up. */
    brokers: string[];
    /** What services use: through the `kafka` proxy when viaProxy. */
    appBrokers: string[];
    managed: boolean;
    proxyPort: number;
    proxiedListenerPort: number;
    controllerPort: number;
    version: string;
  };
  toxiproxy: { url: string; host: string; port: number; version: string };
  /** The optional PgBouncer (transaction mode) in front of the real PostgreSQL. */
  pgbouncer: {
    /** `stack up` starts it (PGBOUNCER=true); otherwise only ensurePgbouncer() does. */
    enabled: boolean;
    host: string;
    port: number;
    /** DATABASE_URL's credentials and database, through PgBouncer (withDatabase() for another database). */
    url: string;
  };
  topics: { orders: { name: string; partitions: number } };
  orderService: {
    host: string;
    port: number;
    url: string;
    writeStrategy: WriteStrategy;
    poolMax: number;
    poolAcquireTimeoutMs: number;
    faultInjection: boolean;
  };
  downstream: {
    /** NOT_FOUND_RETRY_MS: a 404 callback is retried this long before a ghost is recorded (0 = at once). */
    notFoundRetryMs: number;
  };
  relay: {
    /** HTTP port for /metrics and /health; 0 = a free port. */
    port: number;
    batchSize: number;
    pollIntervalMs: number;
    maxAttempts: number;
    slots: number;
    poolMax: number;
    logLevel: RelayLogLevel;
    /** Wake on the outbox NOTIFY (LISTEN); false = polling only. */
    listen: boolean;
  };
}

/** One managed Kafka node (combined broker + KRaft controller). */
export interface KafkaNode {
  id: number;
  /** The DIRECT listener (no proxy), also the inter-broker listener. */
  directPort: number;
  controllerPort: number;
  /** The PROXIED listener, the upstream of the node's proxy. */
  proxiedListenerPort: number;
  /** Its Toxiproxy proxy: `kafka` for the single node, `kafka-<id>` in the cluster. */
  proxyName: string;
  proxyPort: number;
}

export const KAFKA_NODE_COUNTS = [1, 3] as const;

export const RELAY_LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type RelayLogLevel = (typeof RELAY_LOG_LEVELS)[number];

export const WRITE_STRATEGIES = ['naive', 'naive-after-commit', 'outbox'] as const;
export type WriteStrategy = (typeof WRITE_STRATEGIES)[number];

/** Walks up from this file to the folder holding pnpm-workspace.yaml. */
export function findRepoRoot(start: string = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    if (existsSync(path.join(dir, 'pnpm-workspace.yaml'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

function invalid(name: string, value: string, expected: string): DwError {
  return new DwError('DW_CONFIG_INVALID', `${name}=${JSON.stringify(value)} is not valid: expected ${expected}.`, `Fix ${name} in your environment, or unset it to use the default (${SETTINGS[name as SettingName]?.default ?? 'none'}).`);
}

function parsePort(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw invalid(name, value, 'a port number from 1 to 65535');
  return n;
}

function parsePositiveInt(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw invalid(name, value, 'a whole number greater than 0');
  return n;
}

function parseNonNegativeInt(name: string, value: string): number {
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim())) throw invalid(name, value, 'a whole number ≥ 0');
  return n;
}

function parsePortOrZero(name: string, value: string): number {
  return value.trim() === '0' ? 0 : parsePort(name, value);
}

function parseLogLevel(value: string): RelayLogLevel {
  const v = value.trim().toLowerCase();
  if ((RELAY_LOG_LEVELS as readonly string[]).includes(v)) return v as RelayLogLevel;
  throw invalid('RELAY_LOG_LEVEL', value, `one of ${RELAY_LOG_LEVELS.join(', ')}`);
}

function parseStrategy(value: string): WriteStrategy {
  if ((WRITE_STRATEGIES as readonly string[]).includes(value)) return value as WriteStrategy;
  throw invalid('ORDER_WRITE_STRATEGY', value, `one of ${WRITE_STRATEGIES.join(', ')}`);
}

function parseManaged(name: string, value: string, givenUpstream: boolean): boolean {
  if (value.trim().toLowerCase() === 'auto') return !givenUpstream;
  return parseBool(name, value);
}

function parseBool(name: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw invalid(name, value, 'true or false');
}

export function parseHostPort(name: string, value: string): HostPort {
  const m = /^\[?([^\]\s]+?)\]?:(\d+)$/.exec(value.trim());
  if (!m) throw invalid(name, value, 'host:port');
  return { host: m[1]!, port: parsePort(name, m[2]!) };
}

function parseNodeCount(value: string): 1 | 3 {
  const v = value.trim();
  if (v === '1' || v === '3') return Number(v) as 1 | 3;
  throw new DwError(
    'DW_CONFIG_INVALID',
    `KAFKA_NODES=${JSON.stringify(value)} is not valid: the stack runs 1 Kafka node or a cluster of 3 (a 3-voter KRaft quorum; 2 cannot lose a node, more is not needed for the lab).`,
    'Set KAFKA_NODES=1 (the default) or KAFKA_NODES=3 (`npm run stack -- up --kafka-nodes 3`), or unset it.',
  );
}

/** Three ports from a comma-separated setting (host:port entries for KAFKA_CLUSTER_BROKERS). */
function threePorts(name: SettingName, value: string, hostPort: boolean): number[] {
  const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length !== 3) throw invalid(name, value, `three ${hostPort ? 'host:port entries' : 'ports'}, comma separated (one per node)`);
  return parts.map((p) => (hostPort ? parseHostPort(name, p).port : parsePort(name, p)));
}

function clusterNodes(get: (name: SettingName) => string): KafkaNode[] {
  const direct = threePorts('KAFKA_CLUSTER_BROKERS', get('KAFKA_CLUSTER_BROKERS'), true);
  const controller = threePorts('KAFKA_CLUSTER_CONTROLLER_PORTS', get('KAFKA_CLUSTER_CONTROLLER_PORTS'), false);
  const proxied = threePorts('KAFKA_CLUSTER_PROXIED_LISTENER_PORTS', get('KAFKA_CLUSTER_PROXIED_LISTENER_PORTS'), false);
  const proxy = threePorts('KAFKA_CLUSTER_PROXY_PORTS', get('KAFKA_CLUSTER_PROXY_PORTS'), false);
  const all = [...direct, ...controller, ...proxied, ...proxy];
  const dup = all.find((p, i) => all.indexOf(p) !== i);
  if (dup !== undefined) {
    throw new DwError('DW_CONFIG_INVALID', `Port ${dup} is given twice among the KAFKA_CLUSTER_* settings; every node needs its own ports.`, 'Give each of KAFKA_CLUSTER_BROKERS, KAFKA_CLUSTER_CONTROLLER_PORTS, KAFKA_CLUSTER_PROXIED_LISTENER_PORTS and KAFKA_CLUSTER_PROXY_PORTS distinct ports (or unset them for the defaults).');
  }
  return [0, 1, 2].map((i) => ({ id: i + 1, directPort: direct[i]!, controllerPort: controller[i]!, proxiedListenerPort: proxied[i]!, proxyName: `kafka-${i + 1}`, proxyPort: proxy[i]! }));
}

function parseDatabaseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('DATABASE_URL', value, 'a URL like postgres://user:password@host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw invalid('DATABASE_URL', value, 'a postgres:// URL');
  }
  if (!url.pathname || url.pathname === '/') throw invalid('DATABASE_URL', value, 'a URL that names a database (…/dual_write)');
  return url;
}

/**
 * Resolves every setting. `overrides` win over `env`, which wins over the defaults.
 * Throws DwError DW_CONFIG_UNKNOWN_OPTION / DW_CONFIG_INVALID naming the setting and the fix.
 */
export function resolveConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): LabConfig {
  for (const key of Object.keys(overrides)) {
    if (!(key in SETTINGS)) {
      throw new DwError('DW_CONFIG_UNKNOWN_OPTION', `Unknown option "${key}".`, `Known options: ${Object.keys(SETTINGS).join(', ')}.`);
    }
  }
  const repoRoot = findRepoRoot();
  const given = (name: SettingName): string | undefined => {
    const o = overrides[name];
    if (o !== undefined) return String(o);
    const e = env[name];
    return e !== undefined && e !== '' ? e : undefined;
  };
  const get = (name: SettingName): string => {
    const v = given(name);
    if (v !== undefined) return v;
    const d: string = SETTINGS[name].default;
    return d.replace('<repo>', repoRoot);
  };

  const viaProxy = parseBool('VIA_PROXY', get('VIA_PROXY'));
  const dbUrl = parseDatabaseUrl(get('DATABASE_URL'));
  const postgresProxyPort = parsePort('POSTGRES_PROXY_PORT', get('POSTGRES_PROXY_PORT'));
  const dbUpstream: HostPort = { host: dbUrl.hostname, port: dbUrl.port ? Number(dbUrl.port) : 5432 };
  const appDbUrl = new URL(dbUrl.toString());
  if (viaProxy) {
    appDbUrl.hostname = '127.0.0.1';
    appDbUrl.port = String(postgresProxyPort);
  }

  const brokersRaw = get('KAFKA_BROKERS');
  const brokers = brokersRaw.split(',').map((b) => b.trim()).filter(Boolean);
  if (brokers.length === 0) throw invalid('KAFKA_BROKERS', brokersRaw, 'one or more host:port, comma separated');
  for (const b of brokers) parseHostPort('KAFKA_BROKERS', b);
  const kafkaProxyPort = parsePort('KAFKA_PROXY_PORT', get('KAFKA_PROXY_PORT'));
  const nodeCount = parseNodeCount(get('KAFKA_NODES'));

  const toxiRaw = get('TOXIPROXY_URL');
  let toxi: URL;
  try {
    toxi = new URL(toxiRaw);
  } catch {
    throw invalid('TOXIPROXY_URL', toxiRaw, 'a URL like http://127.0.0.1:8474');
  }
  if (toxi.protocol !== 'http:') throw invalid('TOXIPROXY_URL', toxiRaw, 'an http:// URL');

  const partitions = parsePositiveInt('ORDERS_TOPIC_PARTITIONS', get('ORDERS_TOPIC_PARTITIONS'));
  const ordersTopic = get('ORDERS_TOPIC');
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(ordersTopic)) throw invalid('ORDERS_TOPIC', ordersTopic, 'a Kafka topic name (letters, digits, . _ -)');

  const servicePort = parsePort('PORT', get('PORT'));
  const serviceHost = get('HOST');
  const ports = {
    KAFKA_PROXIED_LISTENER_PORT: parsePort('KAFKA_PROXIED_LISTENER_PORT', get('KAFKA_PROXIED_LISTENER_PORT')),
    KAFKA_CONTROLLER_PORT: parsePort('KAFKA_CONTROLLER_PORT', get('KAFKA_CONTROLLER_PORT')),
  };

  const nodes: KafkaNode[] =
    nodeCount === 1
      ? [{ id: 1, directPort: parseHostPort('KAFKA_BROKERS', brokers[0]!).port, controllerPort: ports.KAFKA_CONTROLLER_PORT, proxiedListenerPort: ports.KAFKA_PROXIED_LISTENER_PORT, proxyName: 'kafka', proxyPort: kafkaProxyPort }]
      : clusterNodes(get);
  // KAFKA_NODES=3 and KAFKA_BROKERS unset: the cluster's direct listeners are the broker list.
  const realBrokers = nodeCount === 3 && given('KAFKA_BROKERS') === undefined ? nodes.map((n) => `127.0.0.1:${n.directPort}`) : brokers;

  const pgbouncerPort = parsePort('PGBOUNCER_PORT', get('PGBOUNCER_PORT'));
  const pooledUrl = new URL(dbUrl.toString());
  pooledUrl.hostname = '127.0.0.1';
  pooledUrl.port = String(pgbouncerPort);

  const stackDir = path.resolve(get('STACK_DIR'));
  return {
    repoRoot,
    stackDir,
    cacheDir: path.resolve(get('STACK_CACHE_DIR').replace('<STACK_DIR>', stackDir)),
    viaProxy,
    readyTimeoutMs: parsePositiveInt('STACK_READY_TIMEOUT_MS', get('STACK_READY_TIMEOUT_MS')),
    database: {
      url: dbUrl.toString(),
      appUrl: appDbUrl.toString(),
      managed: parseManaged('POSTGRES_MANAGED', get('POSTGRES_MANAGED'), given('DATABASE_URL') !== undefined),
      upstream: dbUpstream,
      proxyPort: postgresProxyPort,
      name: decodeURIComponent(dbUrl.pathname.slice(1)),
    },
    kafka: {
      nodeCount,
      nodes,
      brokers: realBrokers,
      appBrokers: viaProxy ? nodes.map((n) => `127.0.0.1:${n.proxyPort}`) : realBrokers,
      managed: parseManaged('KAFKA_MANAGED', get('KAFKA_MANAGED'), given('KAFKA_BROKERS') !== undefined),
      proxyPort: kafkaProxyPort,
      proxiedListenerPort: ports.KAFKA_PROXIED_LISTENER_PORT,
      controllerPort: ports.KAFKA_CONTROLLER_PORT,
      version: get('KAFKA_VERSION'),
    },
    toxiproxy: {
      url: toxi.toString().replace(/\/$/, ''),
      host: toxi.hostname,
      port: toxi.port ? Number(toxi.port) : 80,
      version: get('TOXIPROXY_VERSION'),
    },
    pgbouncer: { enabled: parseBool('PGBOUNCER', get('PGBOUNCER')), host: '127.0.0.1', port: pgbouncerPort, url: pooledUrl.toString() },
    topics: { orders: { name: ordersTopic, partitions } },
    orderService: {
      host: serviceHost,
      port: servicePort,
      url: `http://${serviceHost}:${servicePort}`,
      writeStrategy: parseStrategy(get('ORDER_WRITE_STRATEGY')),
      poolMax: parsePositiveInt('DB_POOL_MAX', get('DB_POOL_MAX')),
      poolAcquireTimeoutMs: parsePositiveInt('DB_POOL_ACQUIRE_TIMEOUT_MS', get('DB_POOL_ACQUIRE_TIMEOUT_MS')),
      faultInjection: parseBool('FAULT_INJECTION', get('FAULT_INJECTION')),
    },
    downstream: {
      notFoundRetryMs: parseNonNegativeInt('NOT_FOUND_RETRY_MS', get('NOT_FOUND_RETRY_MS')),
    },
    relay: {
      port: parsePortOrZero('RELAY_PORT', get('RELAY_PORT')),
      batchSize: parsePositiveInt('RELAY_BATCH_SIZE', get('RELAY_BATCH_SIZE')),
      pollIntervalMs: parsePositiveInt('RELAY_POLL_INTERVAL_MS', get('RELAY_POLL_INTERVAL_MS')),
      maxAttempts: parsePositiveInt('RELAY_MAX_ATTEMPTS', get('RELAY_MAX_ATTEMPTS')),
      slots: parsePositiveInt('RELAY_SLOTS', get('RELAY_SLOTS')),
      poolMax: parsePositiveInt('RELAY_DB_POOL_MAX', get('RELAY_DB_POOL_MAX')),
      logLevel: parseLogLevel(get('RELAY_LOG_LEVEL')),
      listen: parseBool('RELAY_LISTEN', get('RELAY_LISTEN')),
    },
  };
}

/** Replaces the database name of a postgres URL (used to give each test file its own database). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
