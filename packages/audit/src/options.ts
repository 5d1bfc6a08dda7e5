/**
 * The auditor's options, checked at the edge: anything wrong stops the audit before it connects,
 * with a DwError naming the option (and its CLI flag) and how to fix it.
 */
import { DwError } from '@dual-write/config';
import { FIELD_SOURCE_SYNTAX, parseFieldSource, type FieldSource } from './fields.ts';

export interface AuditOptions {
  /** postgres:// URL of the database that holds the table. */
  databaseUrl: string;
  /** The table, optionally schema-qualified (`orders`, `sales.orders`). */
  table: string;
  /** Column holding the entity id that messages refer to (default `id`). */
  idColumn?: string;
  /** Timestamp column used for the black-hole grace period (default `created_at`). */
  createdAtColumn?: string;
  /** The Kafka topic. */
  topic: string;
  /** Broker list: `host:port` strings, or one comma-separated string. */
  brokers: readonly string[] | string;
  /** Where a message's entity id is (default: the key). */
  entityId?: FieldSource | string;
  /** Where a message's event id is, for duplicate detection (default `header:id`). */
  eventId?: FieldSource | string;
  /** Where a message's per-key sequence is; order is only checked when this is set. */
  sequence?: FieldSource | string;
  /** What groups messages for the order check (default: the key). */
  groupBy?: FieldSource | string;
  /** Rows younger than this (ms, measured from the moment the topic's offsets are taken) are not black holes yet (default 5000). */
  graceMs?: number;
  /** Connect timeout for PostgreSQL and Kafka, so an unreachable service fails in seconds (default 3000). */
  connectTimeoutMs?: number;
  /** Give up when no partition makes progress for this long while reading the topic (default 30000). */
  idleTimeoutMs?: number;
  /**
   * The premature check (a message appended before its row committed) compares the broker's clock with the
   * database's: a message counts only when it was appended more than this many ms before the commit (default 0,
   * right when both run on one machine; set it to the skew between the two clocks otherwise).
   */
  clockSkewMs?: number;
}

export interface ResolvedAuditOptions {
  databaseUrl: string;
  table: string;
  idColumn: string;
  createdAtColumn: string;
  topic: string;
  brokers: string[];
  entityId: FieldSource;
  eventId: FieldSource;
  sequence: FieldSource | undefined;
  groupBy: FieldSource;
  graceMs: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  clockSkewMs: number;
}

export const DEFAULTS = {
  idColumn: 'id',
  createdAtColumn: 'created_at',
  entityId: 'key',
  eventId: 'header:id',
  groupBy: 'key',
  graceMs: 5000,
  connectTimeoutMs: 3000,
  idleTimeoutMs: 30_000,
  clockSkewMs: 0,
} as const;

/** Each option's command-line flag, so an error can name both. */
export const OPTION_FLAGS: Record<keyof AuditOptions, string> = {
  databaseUrl: '--database-url',
  table: '--table',
  idColumn: '--id-column',
  createdAtColumn: '--created-at-column',
  topic: '--topic',
  brokers: '--brokers',
  entityId: '--entity-id',
  eventId: '--event-id',
  sequence: '--sequence',
  groupBy: '--group-by',
  graceMs: '--grace-ms',
  connectTimeoutMs: '--connect-timeout-ms',
  idleTimeoutMs: '--idle-timeout-ms',
  clockSkewMs: '--clock-skew-ms',
};

function invalid(option: keyof AuditOptions, value: unknown, expected: string, example: string): DwError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return new DwError(
    'DW_CONFIG_INVALID',
    `Audit option ${option} (${OPTION_FLAGS[option]}) = ${shown} is not valid: expected ${expected}.`,
    `Pass ${OPTION_FLAGS[option]} ${example} (option ${option}).`,
    { option, value },
  );
}

function requireText(o: Record<string, unknown>, option: keyof AuditOptions, example: string, fallback?: string): string {
  const v = o[option] ?? fallback;
  if (typeof v !== 'string' || v.trim() === '') throw invalid(option, v, 'a non-empty string', example);
  return v.trim();
}

function fieldSource(o: Record<string, unknown>, option: keyof AuditOptions, example: string, fallback?: string): FieldSource | undefined {
  const v = o[option] ?? fallback;
  if (v === undefined) return undefined;
  if (typeof v === 'string') {
    const parsed = parseFieldSource(v);
    if (typeof parsed === 'string') throw invalid(option, v, `${FIELD_SOURCE_SYNTAX} — ${parsed}`, example);
    return parsed;
  }
  if (typeof v === 'object' && v !== null && 'from' in v) {
    const s = v as FieldSource;
    if (s.from === 'key') return s;
    if (s.from === 'header' && typeof s.name === 'string' && s.name) return s;
    if (s.from === 'json' && Array.isArray(s.path) && s.path.length > 0 && s.path.every((p) => typeof p === 'string' && p)) return s;
  }
  throw invalid(option, JSON.stringify(v), FIELD_SOURCE_SYNTAX, example);
}

function wholeNumber(o: Record<string, unknown>, option: keyof AuditOptions, min: number, fallback: number, example: string): number {
  const v = o[option] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalid(option, v, `a whole number of milliseconds ≥ ${min}`, example);
  return v;
}

function brokerList(o: Record<string, unknown>): string[] {
  const v = o.brokers;
  const list = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : undefined;
  const brokers = list?.map((b) => (typeof b === 'string' ? b.trim() : '')).filter(Boolean);
  if (!brokers || brokers.length === 0) throw invalid('brokers', v, 'one or more host:port, comma separated', '127.0.0.1:9092,127.0.0.1:9093');
  for (const b of brokers) {
    const m = /^\[?([^\]\s]+?)\]?:(\d+)$/.exec(b);
    const port = m ? Number(m[2]) : 0;
    if (!m || port < 1 || port > 65535) throw invalid('brokers', b, 'host:port with a port from 1 to 65535', '127.0.0.1:9092');
  }
  return brokers;
}

function databaseUrl(o: Record<string, unknown>): string {
  const v = requireText(o, 'databaseUrl', 'postgres://user:password@host:5432/database');
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw invalid('databaseUrl', redactUrl(v), 'a URL like postgres://user:password@host:5432/database', 'postgres://user:password@host:5432/database');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw invalid('databaseUrl', redactUrl(v), 'a postgres:// or postgresql:// URL', 'postgres://user:password@host:5432/database');
  }
  if (!url.pathname || url.pathname === '/') throw invalid('databaseUrl', redactUrl(v), 'a URL that names a database (…/dbname)', 'postgres://user:password@host:5432/database');
  return v;
}

/** Validates the options and fills in the defaults. Throws DwError (DW_CONFIG_INVALID / DW_CONFIG_UNKNOWN_OPTION). */
export function resolveAuditOptions(input: AuditOptions): ResolvedAuditOptions {
  if (typeof input !== 'object' || input === null) {
    throw new DwError('DW_CONFIG_INVALID', 'Audit options must be an object.', 'Call runAudit({ databaseUrl, table, topic, brokers, … }).');
  }
  const o = input as unknown as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !(k in OPTION_FLAGS) && o[k] !== undefined);
  if (unknown.length) {
    throw new DwError('DW_CONFIG_UNKNOWN_OPTION', `Unknown audit option${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}.`, `Known options: ${Object.keys(OPTION_FLAGS).join(', ')}.`);
  }
  const topic = requireText(o, 'topic', 'orders');
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw invalid('topic', topic, 'a Kafka topic name (letters, digits, . _ -; at most 249)', 'orders');
  return {
    databaseUrl: databaseUrl(o),
    table: requireText(o, 'table', 'orders (or schema.table)'),
    idColumn: requireText(o, 'idColumn', 'id', DEFAULTS.idColumn),
    createdAtColumn: requireText(o, 'createdAtColumn', 'created_at', DEFAULTS.createdAtColumn),
    topic,
    brokers: brokerList(o),
    entityId: fieldSource(o, 'entityId', 'json:orderId', DEFAULTS.entityId)!,
    eventId: fieldSource(o, 'eventId', 'header:id', DEFAULTS.eventId)!,
    sequence: fieldSource(o, 'sequence', 'json:seq'),
    groupBy: fieldSource(o, 'groupBy', 'key', DEFAULTS.groupBy)!,
    graceMs: wholeNumber(o, 'graceMs', 0, DEFAULTS.graceMs, '5000'),
    connectTimeoutMs: wholeNumber(o, 'connectTimeoutMs', 1, DEFAULTS.connectTimeoutMs, '3000'),
    idleTimeoutMs: wholeNumber(o, 'idleTimeoutMs', 1, DEFAULTS.idleTimeoutMs, '30000'),
    clockSkewMs: wholeNumber(o, 'clockSkewMs', 0, DEFAULTS.clockSkewMs, '50'),
  };
}

/** A postgres URL with its password replaced by ***, for messages and reports. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}
