/**
 * The relay as a process (the `outbox-relay` bin runs this): configured by the environment, stopped gracefully
 * by SIGTERM/SIGINT. A wrapper may pass options of its own and its own --help text; the environment fills the rest.
 */
import { CodedError } from '@dual-write/outbox';
import { startRelay } from './relay.ts';
import type { RelayOptions } from './options.ts';

export const RELAY_CLI_HELP = `Usage: outbox-relay [--help] [--mode poll|cdc]

Publishes the rows of the outbox table (@dual-write/outbox) to Kafka, in per-key order, and deletes them once
Kafka acknowledged them. Several instances may run at once: they share the keys out among themselves.

Settings (environment variables):
  DATABASE_URL            postgres:// URL of the database with the outbox (required)
  RELAY_COORDINATION_URL  a direct or session-mode URL of the same database for the relay's session (slot locks,
                          LISTEN) when DATABASE_URL goes through a transaction-mode pooler (PgBouncer, RDS Proxy,
                          Supavisor…); without it such a DATABASE_URL is refused at start (DW_RELAY_POOLED_SESSION)
  OUTBOX_SCHEMA           schema of the outbox's tables, as migrated (default public)
  OUTBOX_TABLE            the outbox table, as migrated; dead letters in <table>_dead_letters (default outbox)
  KAFKA_BROKERS           host:port[,host:port…] (required)
  RELAY_TOPIC             topic name or template (default outbox.event.\${aggregatetype}, as Debezium's outbox router)
  RELAY_PORT              /metrics and /health (default 9464; 0 = any free port)
  RELAY_HOST              address /metrics and /health bind to (default 127.0.0.1; 0.0.0.0 for a remote scraper)
  RELAY_BATCH_SIZE        rows per batch (default 500)
  RELAY_POLL_INTERVAL_MS  poll when no NOTIFY arrived (default 1000)
  RELAY_LISTEN            wake on the outbox NOTIFY (default true; false = poll only)
  RELAY_PUBLISHER         the Kafka client: kafkajs (default), platformatic or confluent (optional: install first)
  RELAY_MAX_ATTEMPTS      refusals by Kafka before a message becomes a dead letter (default 5)
  RELAY_SLOTS             key-hash slots shared among instances; the same on every instance (default 32)
  RELAY_LEASE_MS          an instance silent this long is fenced off and its slots taken over (default 15000)
  RELAY_DB_POOL_MAX       the relay's own pool (default 2) — plus one session for locks and LISTEN
  RELAY_LOG_LEVEL         trace | debug | info | warn | error | fatal | silent (default info)
  RELAY_HEALTH_MAX_AGE_SECONDS  /health says degraded once the oldest unpublished row is older (default 60)
  RELAY_MODE              poll (default: read committed rows with SELECT) or cdc (stream the outbox's inserts from
                          a logical replication slot, pgoutput; needs wal_level=logical and a REPLICATION role)
  RELAY_CDC_SLOT          cdc: the replication slot, created if missing (default outbox_relay_<table>); it retains
                          WAL while no relay confirms it — set max_slot_wal_keep_size, drop it when you stop for good
  RELAY_CDC_PUBLICATION   cdc: the publication, created if missing, FOR TABLE <outbox> publish insert (default: the slot's name)
  RELAY_CDC_MAX_SLOT_LAG_MB  cdc: /health says degraded once the slot is this far behind (default 1024)

Signals: SIGTERM or SIGINT stop claiming, finish the batch in flight, release the slots and exit 0;
a second signal exits at once with 1. kill -9 is safe too: unacknowledged rows are republished on restart.

Exit codes: 0 stopped on a signal · 1 crashed · 2 could not start (configuration, database, port).
Dead letters: outbox-dead-letters --help`;


export interface RelayCliOptions {
  /** Options that win over the environment. */
  options?: RelayOptions;
  /** The --help text. */
  help?: string;
  /** Arguments after the script (default process.argv.slice(2)). */
  argv?: string[];
}

/** Runs the relay until a signal; exits the process (0 on a signal, 1 on a crash, 2 when it cannot start). */
export async function runRelayCli(cli: RelayCliOptions = {}): Promise<void> {
  let argv = cli.argv ?? process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(cli.help ?? RELAY_CLI_HELP);
    process.exit(0);
  }
  // --mode poll|cdc (or --mode=cdc): the same as RELAY_MODE.
  const modeAt = argv.findIndex((a) => a === '--mode' || a.startsWith('--mode='));
  let options = cli.options;
  if (modeAt >= 0) {
    const value = argv[modeAt]!.includes('=') ? argv[modeAt]!.slice('--mode='.length) : argv[modeAt + 1];
    argv = argv.filter((_, i) => i !== modeAt && (argv[modeAt]!.includes('=') || i !== modeAt + 1));
    options = { ...options, mode: (value ?? '') as RelayOptions['mode'] };
  }
  if (argv.length) {
    console.error(`Unknown argument(s): ${argv.join(' ')}. The relay is configured by environment variables, and --mode (see --help).`);
    process.exit(2);
  }

  let relay: Awaited<ReturnType<typeof startRelay>>;
  try {
    relay = await startRelay(options);
  } catch (err) {
    console.error(err instanceof CodedError ? err.format() : (err as Error).stack ?? String(err));
    process.exit(2);
  }

  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    if (++signals > 1) process.exit(1);
    process.stderr.write(`[relay] ${signal}: stopping (finishing the batch in flight)…\n`);
    relay.stop().then(
      () => process.exit(0),
      (err: Error) => {
        console.error(err.stack ?? err.message);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
