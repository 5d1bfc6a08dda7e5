/**
 * createDashboard()'s options, validated once: an unknown option or a bad value is DW_DASHBOARD_INVALID_OPTION
 * naming the option and the fix, thrown by createDashboard() before anything connects.
 */
import type { IncomingMessage } from 'node:http';
import pg from 'pg';
import { OutboxError, outboxTables, type ResolvedOutboxTables } from '@dual-write/outbox';
import { DEFAULT_TOPIC } from '@dual-write/relay';
import { DashboardError } from './errors.ts';

/** A button of an extension panel: `run` gets the request and returns JSON shown in the panel. */
export interface PanelAction {
  id: string;
  label: string;
  /** Default true: refused in read-only mode and by authorizeWrite, recorded in the audit table. */
  write?: boolean;
  run(req: IncomingMessage): unknown;
}

/** An extra panel given by the embedding application (the lab passes its fault scenarios this way). */
export interface DashboardPanel {
  id: string;
  title: string;
  /** Plain text shown under the title. */
  description?: string;
  actions: readonly PanelAction[];
}

export interface DashboardOptions {
  /** A pg.Pool of the outbox's database, or its postgres:// URL (the dashboard then owns a pool of `poolMax`). */
  database: pg.Pool | string;
  /** The outbox's schema and table, as given to migrateOutbox() and the relay (default public.outbox). */
  schema?: string;
  table?: string;
  /** Topic per aggregate type, as the relay maps it: a name or a template with ${aggregatetype} (default the relay's). */
  topic?: string;
  topicFor?: Readonly<Record<string, string>> | ((aggregateType: string) => string);
  /** Who may see the dashboard: false → 401. Default: everyone (mount it behind your own auth, or pass this). */
  authorize?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /** Who may replay, discard and run panel actions: false → 403. Default: whoever `authorize` lets in. */
  authorizeWrite?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /** Who did it, for the audit record (default 'anonymous'). */
  identify?: (req: IncomingMessage) => string | undefined | Promise<string | undefined>;
  /** Refuse every write with 403 DW_DASHBOARD_READ_ONLY; the UI shows no write buttons. */
  readOnly?: boolean;
  /** The relays' HTTP base URLs (their /metrics and /health), e.g. http://127.0.0.1:9464, or a function read at each refresh. */
  relays?: string | readonly string[] | (() => readonly string[]);
  /** Defaults of the auditor form. `databaseUrl` defaults to `database` when it is a URL (or the pool's connectionString). */
  audit?: { topic?: string; brokers?: string | readonly string[]; table?: string; databaseUrl?: string; entityId?: string; eventId?: string; sequence?: string };
  /** Extra panels (and their buttons) of the embedding application. */
  panels?: readonly DashboardPanel[];
  /** How often the summary is sampled and pushed over SSE (default 1500 ms). */
  refreshMs?: number;
  /** How long the trend is kept (default 600 000 ms = 10 min). */
  trendWindowMs?: number;
  /** Above this many rows (planner estimate) counts are estimates, shown as ≈ (default 100 000). */
  exactCountLimit?: number;
  /** Apply the dashboard's migration (its audit table) at the first request (default true). */
  migrate?: boolean;
  /** The pool's size when `database` is a URL (default 3). */
  poolMax?: number;
  /** Page title (default "Outbox"). */
  title?: string;
}

export interface ResolvedDashboardOptions {
  pool: pg.Pool;
  ownsPool: boolean;
  databaseUrl: string | undefined;
  tables: ResolvedOutboxTables;
  topicOf: (aggregateType: string) => string;
  authorize: (req: IncomingMessage) => boolean | Promise<boolean>;
  authorizeWrite: (req: IncomingMessage) => boolean | Promise<boolean>;
  identify: (req: IncomingMessage) => string | undefined | Promise<string | undefined>;
  readOnly: boolean;
  relays: () => readonly string[];
  audit: { topic?: string; brokers?: string[]; table?: string; databaseUrl?: string; entityId?: string; eventId?: string; sequence?: string };
  panels: readonly DashboardPanel[];
  refreshMs: number;
  trendWindowMs: number;
  exactCountLimit: number;
  migrate: boolean;
  title: string;
}

const KNOWN = new Set<string>([
  'database', 'schema', 'table', 'topic', 'topicFor', 'authorize', 'authorizeWrite', 'identify', 'readOnly', 'relays', 'audit', 'panels',
  'refreshMs', 'trendWindowMs', 'exactCountLimit', 'migrate', 'poolMax', 'title',
]);

function invalid(option: string, value: unknown, expected: string): DashboardError {
  const shown = typeof value === 'function' ? 'a function' : JSON.stringify(value) ?? String(value);
  return new DashboardError('DW_DASHBOARD_INVALID_OPTION', `Dashboard option "${option}" is ${shown}.`, `Pass ${expected}.`, { details: { option } });
}

function fn<T>(opts: Record<string, unknown>, name: string, fallback: T): T {
  const v = opts[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'function') throw invalid(name, v, 'a function of the request');
  return v as T;
}

function positive(opts: Record<string, unknown>, name: string, fallback: number, min: number): number {
  const v = opts[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw invalid(name, v, `an integer ≥ ${min}`);
  return v;
}

function url(name: string, v: unknown, protocols: string[]): string {
  if (typeof v !== 'string') throw invalid(name, v, `a ${protocols.join(' or ')} URL`);
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw invalid(name, v, `a ${protocols.join(' or ')} URL`);
  }
  if (!protocols.includes(u.protocol)) throw invalid(name, v, `a ${protocols.join(' or ')} URL`);
  return v.replace(/\/+$/, '');
}

const ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function panels(v: unknown): DashboardPanel[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw invalid('panels', v, 'an array of { id, title, description?, actions: [{ id, label, run(req) }] }');
  const ids = new Set<string>();
  return v.map((p: unknown, i) => {
    const panel = p as DashboardPanel;
    if (typeof panel !== 'object' || panel === null || typeof panel.id !== 'string' || !ID.test(panel.id) || ids.has(panel.id)) {
      throw invalid(`panels[${i}].id`, (panel as { id?: unknown } | null)?.id, 'a unique id of lowercase letters, digits, - and _');
    }
    ids.add(panel.id);
    if (typeof panel.title !== 'string' || panel.title === '') throw invalid(`panels[${i}].title`, panel.title, 'a non-empty string');
    if (panel.description !== undefined && typeof panel.description !== 'string') throw invalid(`panels[${i}].description`, panel.description, 'a string');
    if (!Array.isArray(panel.actions)) throw invalid(`panels[${i}].actions`, panel.actions, 'an array of { id, label, run(req) }');
    const actionIds = new Set<string>();
    panel.actions.forEach((a, j) => {
      if (typeof a?.id !== 'string' || !ID.test(a.id) || actionIds.has(a.id)) throw invalid(`panels[${i}].actions[${j}].id`, a?.id, 'a unique id of lowercase letters, digits, - and _');
      actionIds.add(a.id);
      if (typeof a.label !== 'string' || a.label === '') throw invalid(`panels[${i}].actions[${j}].label`, a.label, 'a non-empty string');
      if (typeof a.run !== 'function') throw invalid(`panels[${i}].actions[${j}].run`, a.run, 'a function (req) => JSON');
      if (a.write !== undefined && typeof a.write !== 'boolean') throw invalid(`panels[${i}].actions[${j}].write`, a.write, 'true or false');
    });
    return panel;
  });
}

function brokerList(v: unknown): string[] | undefined {
  if (v === undefined) return undefined;
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : Array.isArray(v) ? v : undefined;
  if (!list || list.length === 0 || !list.every((b) => typeof b === 'string' && /^[^\s:]+:\d+$/.test(b))) throw invalid('audit.brokers', v, 'host:port strings, or one comma-separated string');
  return list as string[];
}

export function resolveDashboardOptions(input: DashboardOptions): ResolvedDashboardOptions {
  if (typeof input !== 'object' || input === null) throw invalid('(options)', input, 'an object like { database }');
  const opts = input as unknown as Record<string, unknown>;
  for (const k of Object.keys(opts)) {
    if (!KNOWN.has(k)) throw new DashboardError('DW_DASHBOARD_INVALID_OPTION', `Unknown dashboard option "${k}".`, `Known options: ${[...KNOWN].join(', ')}.`, { details: { option: k } });
  }
  let tables: ResolvedOutboxTables;
  try {
    tables = outboxTables({ schema: input.schema, table: input.table }, 'createDashboard()');
  } catch (err) {
    if (err instanceof OutboxError) throw new DashboardError('DW_DASHBOARD_INVALID_OPTION', err.message, err.hint, { cause: err });
    throw err;
  }

  const poolMax = positive(opts, 'poolMax', 3, 1);
  let pool: pg.Pool;
  let ownsPool = false;
  let databaseUrl: string | undefined;
  if (input.database instanceof pg.Pool || (typeof input.database === 'object' && input.database !== null && typeof (input.database as pg.Pool).connect === 'function' && typeof (input.database as pg.Pool).query === 'function')) {
    pool = input.database as pg.Pool;
    databaseUrl = (pool as unknown as { options?: { connectionString?: string } }).options?.connectionString;
  } else if (typeof input.database === 'string') {
    databaseUrl = url('database', input.database, ['postgres:', 'postgresql:']);
    pool = new pg.Pool({ connectionString: databaseUrl, max: poolMax, application_name: 'outbox-dashboard' });
    pool.on('error', () => {}); // an idle client lost: the next query reconnects (and reports its own error)
    ownsPool = true;
  } else {
    throw invalid('database', input.database, 'a pg.Pool or a postgres:// URL of the outbox database');
  }

  const template = input.topic ?? DEFAULT_TOPIC;
  if (typeof template !== 'string' || template === '') throw invalid('topic', input.topic, 'a topic name or a template like "outbox.event.${aggregatetype}"');
  const fromTemplate = (type: string) => template.replaceAll('${aggregatetype}', type);
  let topicOf = fromTemplate;
  if (typeof input.topicFor === 'function') {
    const f = input.topicFor;
    topicOf = (type) => f(type);
  } else if (typeof input.topicFor === 'object' && input.topicFor !== null) {
    const map = new Map(Object.entries(input.topicFor));
    topicOf = (type) => map.get(type) ?? fromTemplate(type);
  } else if (input.topicFor !== undefined) {
    throw invalid('topicFor', input.topicFor, 'an object { aggregateType: topic } or a function (aggregateType) => topic');
  }

  let relays: () => readonly string[] = () => [];
  if (typeof input.relays === 'function') relays = input.relays;
  else if (typeof input.relays === 'string') {
    const one = url('relays', input.relays, ['http:', 'https:']);
    relays = () => [one];
  } else if (Array.isArray(input.relays)) {
    const list = input.relays.map((r, i) => url(`relays[${i}]`, r, ['http:', 'https:']));
    relays = () => list;
  } else if (input.relays !== undefined) throw invalid('relays', input.relays, 'the relays\' base URLs, e.g. "http://127.0.0.1:9464"');

  const audit = input.audit ?? {};
  if (typeof audit !== 'object' || audit === null) throw invalid('audit', audit, 'an object { topic, brokers, table }');
  for (const k of ['topic', 'table', 'entityId', 'eventId', 'sequence'] as const) {
    if (audit[k] !== undefined && (typeof audit[k] !== 'string' || audit[k] === '')) throw invalid(`audit.${k}`, audit[k], 'a non-empty string');
  }
  const auditDb = audit.databaseUrl === undefined ? databaseUrl : url('audit.databaseUrl', audit.databaseUrl, ['postgres:', 'postgresql:']);

  if (input.readOnly !== undefined && typeof input.readOnly !== 'boolean') throw invalid('readOnly', input.readOnly, 'true or false');
  if (input.migrate !== undefined && typeof input.migrate !== 'boolean') throw invalid('migrate', input.migrate, 'true or false');
  if (input.title !== undefined && (typeof input.title !== 'string' || input.title === '')) throw invalid('title', input.title, 'a non-empty string');

  const authorize = fn<ResolvedDashboardOptions['authorize']>(opts, 'authorize', () => true);
  return {
    pool,
    ownsPool,
    databaseUrl,
    tables,
    topicOf,
    authorize,
    authorizeWrite: fn(opts, 'authorizeWrite', () => true),
    identify: fn(opts, 'identify', () => undefined),
    readOnly: input.readOnly ?? false,
    relays,
    audit: { ...audit, brokers: brokerList(audit.brokers), databaseUrl: auditDb },
    panels: panels(input.panels),
    refreshMs: positive(opts, 'refreshMs', 1500, 100),
    trendWindowMs: positive(opts, 'trendWindowMs', 600_000, 1000),
    exactCountLimit: positive(opts, 'exactCountLimit', 100_000, 0),
    migrate: input.migrate ?? true,
    title: input.title ?? 'Outbox',
  };
}
