/** `outbox-dead-letters list | replay <id> | discard <id>`: what Kafka refused, and what to do about it. */
import pg from 'pg';
import { CodedError, discardDeadLetter, listDeadLetters, outboxTables, pgExecutor, replayDeadLetter, type DeadLetter } from '@dual-write/outbox';

export const DEAD_LETTERS_CLI_HELP = `Usage: outbox-dead-letters <command> [options]

Messages Kafka refused RELAY_MAX_ATTEMPTS times (e.g. larger than the topic's max.message.bytes) are moved
to outbox_dead_letters (<table>_dead_letters of another outbox table). While a key has a dead letter, its later messages wait in the outbox (strict per-key
order; the metric outbox_parked_keys counts such keys).

Commands:
  list [--limit N] [--json]   dead letters, oldest first, with the error and how many messages of the key wait
  replay <id>                 move it back into the outbox at its ORIGINAL place (position and transaction id),
                              so it is published before the messages of its key that waited behind it.
                              Fix the cause first (raise max.message.bytes, create the topic…), or it comes back.
  discard <id>                delete it for good; the key's waiting messages then flow (consumers never see it)

Options:
  --database-url <url>        default: DATABASE_URL
  --schema <name>             schema of the outbox's tables; default: OUTBOX_SCHEMA, else public
  --table <name>              the outbox table (dead letters: <table>_dead_letters); default: OUTBOX_TABLE, else outbox
  --help                      this text

Exit codes: 0 done · 1 no such dead letter · 2 usage, configuration or database error.`;

function parseArgs(argv: string[], help: string) {
  function usage(message: string): never {
    console.error(`${message}\n\n${help}`);
    process.exit(2);
  }
  const out = { command: undefined as string | undefined, id: undefined as string | undefined, limit: 100, json: false, databaseUrl: undefined as string | undefined, schema: undefined as string | undefined, table: undefined as string | undefined };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      console.log(help);
      process.exit(0);
    } else if (a === '--json') out.json = true;
    else if (a === '--limit') {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) usage('--limit needs a whole number ≥ 1.');
      out.limit = n;
    } else if (a === '--database-url') {
      out.databaseUrl = argv[++i];
      if (!out.databaseUrl) usage('--database-url needs a value.');
    } else if (a === '--schema' || a === '--table') {
      const value = argv[++i];
      if (!value || value.startsWith('--')) usage(`${a} needs a value.`);
      out[a === '--schema' ? 'schema' : 'table'] = value;
    } else if (a.startsWith('--')) usage(`Unknown option ${a}.`);
    else rest.push(a);
  }
  [out.command, out.id] = rest;
  if (!out.command) usage('Name a command.');
  if (!['list', 'replay', 'discard'].includes(out.command)) usage(`Unknown command "${out.command}".`);
  if (out.command !== 'list' && !out.id) usage(`${out.command} needs the dead letter's id (see: list).`);
  if (rest.length > (out.command === 'list' ? 1 : 2)) usage(`Unexpected argument "${rest.at(-1)}".`);
  return out;
}

function line(d: DeadLetter & { parked?: number }): string {
  const payloadBytes = Buffer.byteLength(JSON.stringify(d.payload));
  return [
    `${d.id}  ${d.aggregatetype}/${d.aggregateid}  ${d.type}  ${payloadBytes} B payload  attempts ${d.attempts}  failed ${new Date(d.failed_at).toISOString()}`,
    d.parked !== undefined ? `    waiting behind it: ${d.parked} message(s) of the same key` : '',
    `    error: ${d.error}`,
  ].filter(Boolean).join('\n');
}

export interface DeadLettersCliOptions {
  /** Used when neither --database-url nor DATABASE_URL is given. */
  databaseUrl?: string;
  help?: string;
  argv?: string[];
}

/** Runs one dead-letter command and exits (0 done, 1 no such dead letter, 2 usage or database error). */
export async function runDeadLettersCli(cli: DeadLettersCliOptions = {}): Promise<void> {
  const args = parseArgs(cli.argv ?? process.argv.slice(2), cli.help ?? DEAD_LETTERS_CLI_HELP);
  let client: pg.Client | undefined;
  try {
    const env = (name: string) => (process.env[name]?.trim() ? process.env[name]!.trim() : undefined);
    // Checked before connecting: a bad name is DW_OUTBOX_INVALID_OPTION (exit 2).
    const tables = outboxTables({ schema: args.schema ?? env('OUTBOX_SCHEMA'), table: args.table ?? env('OUTBOX_TABLE') }, 'outbox-dead-letters');
    const names = { schema: tables.schema, table: tables.table };
    const url = args.databaseUrl ?? cli.databaseUrl ?? process.env.DATABASE_URL;
    if (!url) {
      console.error('[DW_RELAY_INVALID_OPTION] No database to read the dead letters from.\n  → Set DATABASE_URL or pass --database-url postgres://user:password@host:5432/db.');
      process.exit(2);
    }
    client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    await client.connect();
    const db = pgExecutor(client);
    if (args.command === 'list') {
      const list = await listDeadLetters(db, { limit: args.limit, ...names });
      if (args.json) console.log(JSON.stringify(list, null, 2));
      else if (list.length === 0) console.log(`No dead letters${tables.isDefault ? '' : ` in ${tables.schema}.${tables.names.deadLetters}`}.`);
      else console.log(`${list.length} dead letter(s):\n${list.map(line).join('\n')}`);
    } else if (args.command === 'replay') {
      const d = await replayDeadLetter(db, args.id!, names);
      console.log(args.json ? JSON.stringify(d) : `Replayed ${d.id} (${d.aggregatetype}/${d.aggregateid}, position ${d.position}): back in the outbox at its original place; the relay publishes it next for its key.`);
    } else {
      const d = await discardDeadLetter(db, args.id!, names);
      console.log(args.json ? JSON.stringify(d) : `Discarded ${d.id} (${d.aggregatetype}/${d.aggregateid}): deleted; the key's waiting messages flow again.`);
    }
    await client.end();
    process.exit(0);
  } catch (err) {
    await client?.end().catch(() => {});
    console.error(err instanceof CodedError ? err.format() : (err as Error).message);
    process.exit(err instanceof CodedError && err.code === 'DW_OUTBOX_DEAD_LETTER_NOT_FOUND' ? 1 : 2);
  }
}
