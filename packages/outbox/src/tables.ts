/**
 * Where the outbox lives: the options `{ schema, table }` that migrateOutbox(), enqueue(), processOnce(), the
 * dead-letter functions and the relay all take, and every name derived from them. Pass the SAME options to
 * every one of them (the relay: OUTBOX_SCHEMA / OUTBOX_TABLE).
 *
 *   option / object          default                 derived from { schema: s, table: t }
 *   schema                   public                  s (created by migrateOutbox if missing)
 *   table                    outbox                  t
 *   dead letters             outbox_dead_letters     t_dead_letters
 *   inbox                    inbox                   t_inbox (plain `inbox` for the default table name only)
 *   migrations tracking      outbox_migrations       t_migrations
 *   NOTIFY channel           outbox                  t in schema public, else "s.t" (so two outboxes in one
 *                                                    database never wake each other's relays)
 *   trigger, its function    outbox_notify           t_notify
 *   key-lock trigger         outbox_key_lock         t_key_lock (its advisory-lock class: KEY_LOCK_CLASS, or one derived from "s.t")
 *   indexes                  outbox_relay_order_idx, outbox_failing_key_idx, outbox_dead_letters_key_idx → t_…
 *
 * Every table, the trigger function and the indexes live in `schema`; SQL always names them schema-qualified
 * and quoted ("s"."t"), so the connection's search_path plays no part. The inbox follows the table name so
 * that two outboxes can share a schema (migration 000001 creates the inbox next to its outbox).
 */
import { createHash } from 'node:crypto';
import { OutboxError } from './errors.ts';
import { DEAD_LETTER_TABLE, INBOX_TABLE, KEY_LOCK_BUCKETS, KEY_LOCK_CLASS, MIGRATIONS_TABLE, OUTBOX_CHANNEL, OUTBOX_SCHEMA, OUTBOX_TABLE } from './names.ts';
import type { Placeholder } from './numbered-migrations.ts';

/** Where the outbox lives. Pass the same options to migrateOutbox(), enqueue(), processOnce(), the dead-letter functions and the relay. */
export interface OutboxTables {
  /** Schema of the outbox's tables. Default `public`. */
  schema?: string;
  /** Name of the outbox table; the dead letters, inbox and migrations tables are named after it. Default `outbox`. */
  table?: string;
}

/** The names of one outbox, checked; the qualified ones are quoted and ready to splice into SQL. */
export interface ResolvedOutboxTables {
  readonly schema: string;
  readonly table: string;
  /** True for public.outbox: every name is the one released migrations and older relays use. */
  readonly isDefault: boolean;
  /** `"schema"."table"`. */
  readonly outbox: string;
  /** `"schema"."<table>_dead_letters"`. */
  readonly deadLetters: string;
  /** `"schema"."inbox"` (default table) or `"schema"."<table>_inbox"`. */
  readonly inbox: string;
  /** `"schema"."<table>_migrations"`. */
  readonly migrations: string;
  /** The NOTIFY channel of the insert trigger, as pg_notify() takes it (unquoted). */
  readonly channel: string;
  /** The channel as a quoted identifier, for `LISTEN`. */
  readonly channelIdent: string;
  /** pg_locks.classid of this outbox's key locks (migration 000002); the bucket is keyLockBucketSql. */
  readonly keyLockClass: number;
  /** Unquoted names, as in the catalogs (pg_class.relname, pg_namespace.nspname). */
  readonly names: {
    readonly outbox: string;
    readonly deadLetters: string;
    readonly inbox: string;
    readonly migrations: string;
    readonly notifyFunction: string;
    readonly notifyTrigger: string;
    readonly keyLockFunction: string;
    readonly keyLockTrigger: string;
    readonly relayOrderIndex: string;
    readonly failingKeyIndex: string;
    readonly deadLettersKeyIndex: string;
  };
}

/** A plain SQL identifier: lowercase, so it means the same quoted or not, and at most PostgreSQL's 63 bytes. */
export const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
/** The longest derived name is `<table>_dead_letters_key_idx` (21 more characters); it must fit in 63. */
export const MAX_TABLE_NAME_LENGTH = 63 - '_dead_letters_key_idx'.length;
/** PostgreSQL's limit for identifiers, channel names included (NAMEDATALEN - 1). */
const MAX_NAME = 63;

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function invalid(where: string, option: 'schema' | 'table', value: unknown, expected: string, fallback: string): OutboxError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new OutboxError(
    'DW_OUTBOX_INVALID_OPTION',
    `${where} option ${option} = ${shown} is not valid: expected ${expected}.`,
    `Pass ${option} as lowercase letters, digits and underscores, starting with a letter or an underscore (e.g. ${option === 'schema' ? '"billing_events"' : '"events_outbox"'}), or leave it out for "${fallback}". Use the same ${option} for migrateOutbox(), enqueue(), processOnce(), the dead letters and the relay.`,
    { option, value, expected },
  );
}

function checkSchema(where: string, value: unknown): string {
  const expected = 'a plain lowercase SQL identifier (^[a-z_][a-z0-9_]{0,62}$) not starting with pg_ (reserved for system schemas)';
  if (typeof value !== 'string' || !IDENTIFIER.test(value) || value.startsWith('pg_')) throw invalid(where, 'schema', value, expected, OUTBOX_SCHEMA);
  return value;
}

function checkTable(where: string, value: unknown): string {
  const expected = `a plain lowercase SQL identifier (^[a-z_][a-z0-9_]*$) of at most ${MAX_TABLE_NAME_LENGTH} characters (the names derived from it, like <table>_dead_letters_key_idx, must fit PostgreSQL's 63)`;
  if (typeof value !== 'string' || !IDENTIFIER.test(value) || value.length > MAX_TABLE_NAME_LENGTH) throw invalid(where, 'table', value, expected, OUTBOX_TABLE);
  return value;
}

/** `t` in public, else `s.t`; shortened with a hash when longer than a channel name may be. */
export function notifyChannel(schema: string, table: string): string {
  const channel = schema === OUTBOX_SCHEMA ? table : `${schema}.${table}`;
  if (channel.length <= MAX_NAME) return channel;
  const hash = createHash('sha256').update(`${schema}.${table}`).digest('hex').slice(0, 8);
  return `${channel.slice(0, MAX_NAME - 9)}_${hash}`;
}

const cache = new Map<string, ResolvedOutboxTables>();

/**
 * Checks `{ schema, table }` (DW_OUTBOX_INVALID_OPTION naming the option and the fix) and derives every name.
 * `where` names the caller in the error (e.g. `enqueue()`). Results are cached: call it per statement freely.
 */
export function outboxTables(opts: OutboxTables | undefined = {}, where = 'Outbox'): ResolvedOutboxTables {
  if (typeof opts !== 'object' || opts === null) {
    throw new OutboxError('DW_OUTBOX_INVALID_OPTION', `${where} options must be an object like { schema, table }.`, 'Pass { schema: "billing_events", table: "events_outbox" }, or nothing for public.outbox.');
  }
  const schemaIn = opts.schema ?? OUTBOX_SCHEMA;
  const tableIn = opts.table ?? OUTBOX_TABLE;
  const key = typeof schemaIn === 'string' && typeof tableIn === 'string' ? `${schemaIn}\u0000${tableIn}` : undefined;
  const hit = key === undefined ? undefined : cache.get(key);
  if (hit) return hit;
  const schema = checkSchema(where, schemaIn);
  const table = checkTable(where, tableIn);
  const isDefaultTable = table === OUTBOX_TABLE;
  const names = {
    outbox: table,
    deadLetters: isDefaultTable ? DEAD_LETTER_TABLE : `${table}_dead_letters`,
    inbox: isDefaultTable ? INBOX_TABLE : `${table}_inbox`,
    migrations: isDefaultTable ? MIGRATIONS_TABLE : `${table}_migrations`,
    notifyFunction: `${table}_notify`,
    notifyTrigger: `${table}_notify`,
    keyLockFunction: `${table}_key_lock`,
    keyLockTrigger: `${table}_key_lock`,
    relayOrderIndex: `${table}_relay_order_idx`,
    failingKeyIndex: `${table}_failing_key_idx`,
    deadLettersKeyIndex: `${table}_dead_letters_key_idx`,
  };
  const q = (name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;
  const channel = schema === OUTBOX_SCHEMA && isDefaultTable ? OUTBOX_CHANNEL : notifyChannel(schema, table);
  const resolved: ResolvedOutboxTables = Object.freeze({
    schema,
    table,
    isDefault: schema === OUTBOX_SCHEMA && isDefaultTable,
    outbox: q(names.outbox),
    deadLetters: q(names.deadLetters),
    inbox: q(names.inbox),
    migrations: q(names.migrations),
    channel,
    channelIdent: quoteIdent(channel),
    keyLockClass: schema === OUTBOX_SCHEMA && isDefaultTable ? KEY_LOCK_CLASS : derivedLockClass(schema, table),
    names: Object.freeze(names),
  });
  if (cache.size > 1000) cache.clear();
  cache.set(`${schema}\u0000${table}`, resolved);
  return resolved;
}

/** A positive int4 (pg_locks.classid is an oid) from a hash of "schema.table", never one of the default classes 74110010–74110012. */
function derivedLockClass(schema: string, table: string): number {
  let c = createHash('sha256').update(`key-lock:${schema}.${table}`).digest().readUInt32BE(0) & 0x7fff_ffff;
  while (c >= 74_110_010 && c <= 74_110_012) c++;
  return c;
}

/**
 * The key-lock bucket of a row, as SQL over the row alias `r` (the trigger uses NEW): the same expression in the
 * trigger and in the relay's read. Buckets, not keys, so a transaction writing many keys takes at most
 * KEY_LOCK_BUCKETS lock-table entries; the price is that an open transaction also holds back the other keys of
 * its buckets (1 in KEY_LOCK_BUCKETS of them).
 */
export function keyLockBucketSql(r: string): string {
  return `(hashtext(${r}.aggregatetype || '/' || ${r}.aggregateid) & ${KEY_LOCK_BUCKETS - 1})`;
}

/** SQL string literal of a checked name (no quote can occur in one; doubled anyway). */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * The placeholders of the outbox's migration files (migrations/000001_outbox.sql …), replaced before a file
 * runs. `checksumAs` is the default name as the file spelled it before placeholders existed: the checksum is
 * taken on the file with those, so it does not depend on the names (the same in every schema) and the
 * checksums recorded by databases migrated before the options existed still match.
 */
export function outboxMigrationPlaceholders(t: ResolvedOutboxTables): Record<string, Placeholder> {
  const d = outboxTables({});
  const q = (name: string) => `${quoteIdent(t.schema)}.${quoteIdent(name)}`;
  return {
    OUTBOX: { value: t.outbox, checksumAs: d.names.outbox },
    OUTBOX_DEAD_LETTERS: { value: t.deadLetters, checksumAs: d.names.deadLetters },
    OUTBOX_INBOX: { value: t.inbox, checksumAs: d.names.inbox },
    OUTBOX_NOTIFY_FUNCTION: { value: q(t.names.notifyFunction), checksumAs: d.names.notifyFunction },
    OUTBOX_NOTIFY_TRIGGER: { value: quoteIdent(t.names.notifyTrigger), checksumAs: d.names.notifyTrigger },
    OUTBOX_NOTIFY_CHANNEL: { value: literal(t.channel), checksumAs: literal(d.channel) },
    OUTBOX_RELAY_ORDER_INDEX: { value: quoteIdent(t.names.relayOrderIndex), checksumAs: d.names.relayOrderIndex },
    OUTBOX_RELAY_ORDER_INDEX_QUALIFIED: { value: q(t.names.relayOrderIndex), checksumAs: d.names.relayOrderIndex },
    OUTBOX_FAILING_KEY_INDEX: { value: quoteIdent(t.names.failingKeyIndex), checksumAs: d.names.failingKeyIndex },
    OUTBOX_DEAD_LETTERS_KEY_INDEX: { value: quoteIdent(t.names.deadLettersKeyIndex), checksumAs: d.names.deadLettersKeyIndex },
    OUTBOX_KEY_LOCK_FUNCTION: { value: q(t.names.keyLockFunction), checksumAs: d.names.keyLockFunction },
    OUTBOX_KEY_LOCK_TRIGGER: { value: quoteIdent(t.names.keyLockTrigger), checksumAs: d.names.keyLockTrigger },
    OUTBOX_KEY_LOCK_CLASS: { value: String(t.keyLockClass), checksumAs: String(d.keyLockClass) },
    OUTBOX_KEY_LOCK_BUCKET: { value: keyLockBucketSql('new'), checksumAs: keyLockBucketSql('new') },
  };
}
