/** The CLI's flags → audit options; the lab's settings (resolveConfig) fill in what is not given. */
import { parseArgs } from 'node:util';
import { DwError, resolveConfig } from '@dual-write/config';
import { DEFAULTS, OPTION_FLAGS, type AuditOptions } from './options.ts';

export const HELP = `Usage: npm run audit -- [options]
       (or, in packages/audit: pnpm run audit [options])

Compares a PostgreSQL table with a Kafka topic, read from the earliest offset up to the high watermark
taken at start, and reports:
  ghosts            messages whose entity id has no row
  black holes       rows older than the grace period that no message mentions
  duplicates        event ids delivered more than once
  order violations  per group, a sequence that goes down within a partition (only with --sequence)
  premature         messages the broker appended before their row committed: a consumer reading at once
                    found no row (checked when the topic has message.timestamp.type=LogAppendTime and the
                    database track_commit_timestamp=on; otherwise the report says it was not checked)

Options (defaults in brackets; the lab's settings come from DATABASE_URL, KAFKA_BROKERS, ORDERS_TOPIC):
  --database-url <url>          PostgreSQL URL [DATABASE_URL, the direct URL]
  --table <name>                table, schema-qualified if needed: orders, sales.orders [orders]
  --id-column <name>            column with the entity id [${DEFAULTS.idColumn}]
  --created-at-column <name>    timestamp column for the grace period [${DEFAULTS.createdAtColumn}]
  --topic <name>                Kafka topic [ORDERS_TOPIC]
  --brokers <host:port,…>       Kafka brokers [KAFKA_BROKERS, the direct brokers]
  --entity-id <source>          where a message's entity id is [${DEFAULTS.entityId}]
  --event-id <source>           where a message's event id is, for duplicates [${DEFAULTS.eventId}]
  --sequence <source>           where a message's per-key sequence is; enables the order check [off]
  --group-by <source>           what groups messages for the order check [${DEFAULTS.groupBy}]
  --grace-ms <ms>               rows younger than this are not black holes yet [${DEFAULTS.graceMs}]
  --connect-timeout-ms <ms>     give up connecting after this long [${DEFAULTS.connectTimeoutMs}]
  --idle-timeout-ms <ms>        give up when reading stalls this long [${DEFAULTS.idleTimeoutMs}]
  --clock-skew-ms <ms>          premature only when appended more than this before the commit [${DEFAULTS.clockSkewMs}]
  --limit <n>                   entries listed per finding in the table output [20]
  --json                        print the full report as JSON on stdout
  --quiet                       no progress lines on stderr
  -h, --help                    this text

A <source> is one of:
  key                the message key
  header:<name>      a header, e.g. header:id
  json:<path>        a path into the JSON value, e.g. json:orderId, json:data.order.id, json:items[0].sku

Exit codes: 0 consistent · 1 the table and the topic diverge · 2 usage, configuration or connection error.

Example:
  npm run audit -- --table orders --topic orders --entity-id json:orderId --event-id header:id --grace-ms 5000`;

export interface CliArgs {
  help: boolean;
  json: boolean;
  quiet: boolean;
  limit: number;
  options: AuditOptions;
}

const FLAG_TO_OPTION = Object.fromEntries(Object.entries(OPTION_FLAGS).map(([option, flag]) => [flag.slice(2), option])) as Record<string, keyof AuditOptions>;
const NUMERIC: ReadonlySet<keyof AuditOptions> = new Set(['graceMs', 'connectTimeoutMs', 'idleTimeoutMs', 'clockSkewMs']);

function usage(message: string): DwError {
  return new DwError('DW_CONFIG_INVALID', message, 'Run with --help for the flags and their formats.');
}

function wholeNumber(flag: string, value: string): number {
  if (!/^\d+$/.test(value.trim())) throw usage(`${flag} ${JSON.stringify(value)} is not valid: expected a whole number (milliseconds), e.g. ${flag} 5000.`);
  return Number(value);
}

/** Parses argv (without node and the script). Throws DwError DW_CONFIG_INVALID on a usage error. */
export function parseCliArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CliArgs {
  if (argv[0] === '--') argv = argv.slice(1); // `pnpm run audit -- --table …` passes the separator through
  const stringFlags = Object.fromEntries(Object.keys(FLAG_TO_OPTION).map((f) => [f, { type: 'string' as const }]));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: { ...stringFlags, limit: { type: 'string' }, json: { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw usage(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const flags = { help: v.help === true, json: v.json === true, quiet: v.quiet === true, limit: v.limit === undefined ? 20 : wholeNumber('--limit', String(v.limit)) };

  const options: Record<string, unknown> = {};
  for (const [flag, option] of Object.entries(FLAG_TO_OPTION)) {
    const value = v[flag];
    if (typeof value !== 'string') continue;
    options[option] = NUMERIC.has(option) ? wholeNumber(`--${flag}`, value) : value;
  }
  if (flags.help) return { ...flags, options: options as unknown as AuditOptions };

  // Only consult the lab's settings for what the flags leave open (so a bad env var cannot block a fully specified run).
  if (options.databaseUrl === undefined || options.brokers === undefined || options.topic === undefined) {
    const config = resolveConfig({}, env);
    options.databaseUrl ??= config.database.url;
    options.brokers ??= config.kafka.brokers;
    options.topic ??= config.topics.orders.name;
  }
  options.table ??= 'orders';
  return { ...flags, options: options as unknown as AuditOptions };
}
