/**
 * The relay as a process: `npm run relay` (or `node --import tsx services/relay/src/main.ts`).
 * Configured by the environment (README "Configuration"); SIGTERM/SIGINT stop it gracefully.
 */
import { isDwError } from '@dual-write/config';
import { startRelay } from './relay.ts';

const HELP = `Usage: npm run relay [-- --help]

Publishes the rows of the outbox table (packages/outbox) to Kafka, in per-key order, and deletes them once
Kafka acknowledged them. Several instances may run at once: they share the keys out among themselves.

Settings (environment variables; README "Configuration" lists all of them):
  DATABASE_URL            the database with the outbox (reached through the postgres proxy unless VIA_PROXY=false)
  KAFKA_BROKERS           the brokers (reached through the kafka proxy unless VIA_PROXY=false)
  ORDERS_TOPIC            the topic every aggregate type is published to
  RELAY_PORT              /metrics and /health (default 9464; 0 = any free port)
  RELAY_BATCH_SIZE        rows per batch (default 500)
  RELAY_POLL_INTERVAL_MS  poll when no NOTIFY arrived (default 1000)
  RELAY_LISTEN            wake on the outbox NOTIFY (default true; false = poll only)
  RELAY_MAX_ATTEMPTS      refusals by Kafka before a message becomes a dead letter (default 5)
  RELAY_SLOTS             key-hash slots shared among instances; the same on every instance (default 32)
  RELAY_DB_POOL_MAX       the relay's own pool (default 2) — plus one session for locks and LISTEN
  RELAY_LOG_LEVEL         trace | debug | info | warn | error | fatal | silent (default info)

Signals: SIGTERM or SIGINT stop claiming, finish the batch in flight, release the slots and exit 0;
a second signal exits at once with 1. kill -9 is safe too: unacknowledged rows are republished on restart.

Exit codes: 0 stopped on a signal · 1 crashed · 2 could not start (configuration, database, port).
Dead letters: npm run dead-letters -- --help`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(HELP);
  process.exit(0);
}
const unknownArgs = process.argv.slice(2);
if (unknownArgs.length) {
  console.error(`Unknown argument(s): ${unknownArgs.join(' ')}. The relay is configured by environment variables (see --help).`);
  process.exit(2);
}

let relay: Awaited<ReturnType<typeof startRelay>>;
try {
  relay = await startRelay();
} catch (err) {
  console.error(isDwError(err) ? err.format() : (err as Error).stack ?? String(err));
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
