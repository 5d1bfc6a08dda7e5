/**
 * createDashboard(): a Node `(req, res, next?)` handler serving the UI (src/ui/, plain files, no build step) and
 * its JSON API under a base path, plus `close()`. Mount it in node:http, Express (`app.use(base, handler)`) or
 * Fastify (fastify.ts). Every request passes `authorize`; writes (replay, discard, panel actions) also need
 * `readOnly` off and `authorizeWrite`, carry the dead letter id again in `confirm`, and are recorded in the
 * audit table `<table>_dashboard_actions` with who did it (`identify`).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runAudit, type AuditReport } from '@dual-write/audit';
import { discardDeadLetter, OutboxError, pgExecutor, replayDeadLetter } from '@dual-write/outbox';
import { DashboardError } from './errors.ts';
import { dashboardTables, migrateDashboard } from './migrate.ts';
import { resolveDashboardOptions, type DashboardOptions, type ResolvedDashboardOptions } from './options.ts';
import { Queries, type Snapshot } from './queries.ts';
import { readRelay, type RelayEndpoint } from './relay-metrics.ts';

export interface CreateDashboardOptions extends DashboardOptions {
  /** Where it is mounted (default "/dashboard"): requests under it are served, the rest go to `next` (or 404). */
  basePath?: string;
}

export interface Dashboard {
  /** The Node handler. Under Express `req.url` is already relative to the mount; elsewhere `basePath` is stripped. */
  handler: (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;
  basePath: string;
  /** Ends the live streams and the sampling timer, and the pool when the dashboard created it. */
  close(): Promise<void>;
  /** The summary the UI shows (what GET api/summary answers). */
  summary(): Promise<Summary>;
}

export interface TrendPoint {
  t: number;
  backlog: number;
  oldestAgeSeconds: number;
}

export interface Summary {
  at: string;
  backlog: Snapshot['backlog'];
  oldestAgeSeconds: number;
  deadLetters: Snapshot['deadLetters'];
  parkedKeys: number;
  publishRate: { perSecond: number | null; source: 'relay-metrics' | 'derived' | 'unknown'; note: string };
  relays: RelayEndpoint[];
  trend: TrendPoint[];
  error?: { code: string; message: string; hint: string };
}

const UI_DIR = new URL('./ui/', import.meta.url);
const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
};
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_BODY = 64 * 1024;

type Req = IncomingMessage & { originalUrl?: string; body?: unknown };

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...SECURITY_HEADERS });
  res.end(text);
}

function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (err instanceof DashboardError) {
    sendJson(res, err.status, { code: err.code, message: err.message, hint: err.hint });
    return;
  }
  if (err instanceof OutboxError) {
    const status = err.code === 'DW_OUTBOX_DEAD_LETTER_NOT_FOUND' ? 404 : err.code === 'DW_OUTBOX_INVALID_MESSAGE' ? 400 : 503;
    sendJson(res, status, { code: err.code, message: err.message, hint: err.hint });
    return;
  }
  sendJson(res, 500, { code: 'DW_DASHBOARD_DATABASE', message: (err as Error)?.message ?? String(err), hint: 'See the server log; retry the request.' });
}

const notFound = (what: string) => new DashboardError('DW_DASHBOARD_NOT_FOUND', `${what} was not found.`, 'Open the dashboard at its base path; the JSON API is documented in the package README.', { status: 404 });
const badRequest = (message: string, hint: string) => new DashboardError('DW_DASHBOARD_BAD_REQUEST', message, hint, { status: 400 });

async function readBody(req: Req): Promise<Record<string, unknown>> {
  if (req.body !== undefined && req.body !== null && typeof req.body === 'object' && !Buffer.isBuffer(req.body)) return req.body as Record<string, unknown>; // Express with express.json()
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) throw badRequest('Writes take a JSON body (content-type: application/json).', 'Send { "confirm": "<the dead letter id>" } as application/json.');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw badRequest('The request body is larger than 64 kB.', 'Send only the fields the API documents.');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw badRequest('The request body is not a JSON object.', 'Send { "confirm": "<the dead letter id>" } as application/json.');
  }
}

function cursor(v: string | null): [string, string] | undefined {
  if (!v) return undefined;
  try {
    const c = JSON.parse(Buffer.from(v, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(c) && c.length === 2 && c.every((x) => typeof x === 'string')) return c as [string, string];
  } catch {
    // fall through
  }
  throw badRequest('The `after` cursor is not one this API gave out.', 'Pass the `next` value of the previous page unchanged.');
}
const encodeCursor = (c: [string, string] | null) => (c ? Buffer.from(JSON.stringify(c)).toString('base64url') : null);

function limitOf(v: string | null): number {
  if (v === null) return 50;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw badRequest(`limit must be an integer from 1 to 500; got ${JSON.stringify(v)}.`, 'Use limit=50 and follow `next`.');
  return n;
}

export function createDashboard(options: CreateDashboardOptions): Dashboard {
  const { basePath: baseIn, ...rest } = options;
  const base = (baseIn ?? '/dashboard').replace(/\/+$/, '');
  if (typeof base !== 'string' || (base !== '' && !/^\/[A-Za-z0-9._~\-/]*$/.test(base))) {
    throw new DashboardError('DW_DASHBOARD_INVALID_OPTION', `Dashboard option "basePath" is ${JSON.stringify(baseIn)}.`, 'Pass a path like "/dashboard" (or "" for the root).');
  }
  const o: ResolvedDashboardOptions = resolveDashboardOptions(rest);
  const q = new Queries(o.pool, o.tables, o.exactCountLimit);
  const actionsTable = dashboardTables(o.tables).actions;
  const files = new Map(Object.entries(STATIC).map(([route, file]) => [route, { body: readFileSync(new URL(file, UI_DIR)), type: TYPES[file.split('.').pop()!]! }]));

  let closed = false;
  let migrated: Promise<unknown> | undefined;
  const ensureMigrated = () => {
    if (!o.migrate) return Promise.resolve();
    migrated ??= migrateDashboard(o.pool, { schema: o.tables.schema, table: o.tables.table }).catch((err: unknown) => {
      migrated = undefined;
      throw new DashboardError('DW_DASHBOARD_DATABASE', `Applying the dashboard's migration failed: ${(err as Error).message}`, 'The role needs CREATE on the outbox schema once; or run migrateDashboard() with a role that has it and pass migrate: false.', { status: 503, cause: err });
    });
    return migrated;
  };

  // ---- sampling: the trend, the publish rate, the SSE pushes ----
  const trend: (TrendPoint & { lastPosition: number; backlogExact: boolean })[] = [];
  const lastPublished = new Map<string, { t: number; total: number; rate: number | null }>();
  let latest: Summary | undefined;
  let timer: NodeJS.Timeout | undefined;
  let sampling: Promise<Summary> | undefined;
  const streams = new Set<ServerResponse>();

  async function sample(): Promise<Summary> {
    const now = Date.now();
    const urls = o.relays();
    const [snap, relays] = await Promise.all([q.snapshot().then((s) => ({ s }), (e: unknown) => ({ e })), Promise.all(urls.map((u) => readRelay(u)))]);
    for (const r of relays) {
      if (r.publishedTotal === undefined) continue;
      const prev = lastPublished.get(r.url);
      const rate = prev && r.publishedTotal >= prev.total && now > prev.t ? ((r.publishedTotal - prev.total) * 1000) / (now - prev.t) : (prev?.rate ?? null);
      lastPublished.set(r.url, { t: now, total: r.publishedTotal, rate });
    }
    if ('e' in snap) {
      const err = snap.e instanceof DashboardError ? snap.e : new DashboardError('DW_DASHBOARD_DATABASE', String(snap.e), 'Check the database.', { status: 503 });
      const s: Summary = { ...(latest ?? emptySummary()), at: new Date(now).toISOString(), relays, error: { code: err.code, message: err.message, hint: err.hint } };
      latest = s;
      return s;
    }
    const s = snap.s;
    trend.push({ t: now, backlog: s.backlog.rows, oldestAgeSeconds: s.oldestAgeSeconds, lastPosition: s.lastPosition, backlogExact: s.backlog.exact });
    while (trend.length && trend[0]!.t < now - o.trendWindowMs) trend.shift();
    const rates = relays.map((r) => lastPublished.get(r.url)?.rate).filter((r): r is number => typeof r === 'number');
    let publishRate: Summary['publishRate'];
    if (urls.length && rates.length) {
      publishRate = { perSecond: rates.reduce((a, b) => a + b, 0), source: 'relay-metrics', note: `increase of outbox_published_total on ${rates.length} relay${rates.length === 1 ? '' : 's'}` };
    } else {
      // Rows inserted (the position sequence moved) minus the growth of the backlog = rows the relays deleted.
      const from = trend.find((p) => p.t >= now - 15_000) ?? trend[0]!;
      const to = trend.at(-1)!;
      const dt = (to.t - from.t) / 1000;
      publishRate = dt > 0
        ? { perSecond: Math.max(0, (to.lastPosition - from.lastPosition - (to.backlog - from.backlog)) / dt), source: 'derived', note: `rows inserted (position sequence) minus backlog growth over ${dt.toFixed(0)} s${to.backlogExact && from.backlogExact ? '' : ' — ≈, the backlog is an estimate'}` }
        : { perSecond: null, source: 'unknown', note: 'needs two samples' };
    }
    latest = {
      at: new Date(now).toISOString(),
      backlog: s.backlog,
      oldestAgeSeconds: s.oldestAgeSeconds,
      deadLetters: s.deadLetters,
      parkedKeys: s.parkedKeys,
      publishRate,
      relays,
      trend: trend.map(({ t, backlog, oldestAgeSeconds }) => ({ t, backlog, oldestAgeSeconds })),
    };
    return latest;
  }

  function emptySummary(): Summary {
    return {
      at: new Date().toISOString(),
      backlog: { rows: 0, exact: false, method: 'count' },
      oldestAgeSeconds: 0,
      deadLetters: { rows: 0, exact: false, method: 'count' },
      parkedKeys: 0,
      publishRate: { perSecond: null, source: 'unknown', note: 'no sample yet' },
      relays: [],
      trend: [],
    };
  }

  function sampleOnce(): Promise<Summary> {
    sampling ??= sample().finally(() => {
      sampling = undefined;
    });
    return sampling;
  }

  /** Sampling stops a minute after the last viewer left (no live stream, no API request): an idle dashboard costs nothing. */
  let lastSeen = Date.now();
  function tick(): void {
    if (closed) return;
    if (streams.size === 0 && Date.now() - lastSeen > 60_000) {
      timer = undefined;
      return;
    }
    void sampleOnce()
      .then((s) => {
        const frame = `event: summary\ndata: ${JSON.stringify(s)}\n\n`;
        for (const res of streams) res.write(frame);
      })
      .catch(() => {})
      .finally(() => {
        if (!closed) {
          timer = setTimeout(tick, o.refreshMs);
          timer.unref();
        }
      });
  }

  function startSampling(): void {
    lastSeen = Date.now();
    if (timer || closed) return;
    timer = setTimeout(tick, 0);
    timer.unref();
  }

  // ---- writes ----
  async function actor(req: Req): Promise<string> {
    const who = await o.identify(req);
    return typeof who === 'string' && who.trim() !== '' ? who.trim().slice(0, 200) : 'anonymous';
  }

  async function checkWrite(req: Req): Promise<void> {
    if (o.readOnly) throw new DashboardError('DW_DASHBOARD_READ_ONLY', 'This dashboard is read-only: replay, discard and panel actions are refused.', 'Mount a second dashboard without readOnly for the operators who may change things (behind authorizeWrite).', { status: 403 });
    if (!(await o.authorizeWrite(req))) throw new DashboardError('DW_DASHBOARD_FORBIDDEN', 'You may look, but not change anything here.', 'Ask for the rights the authorizeWrite hook checks.', { status: 403 });
  }

  async function record(entry: { actor: string; action: string; target: string; aggregatetype?: string; aggregateid?: string; type?: string; outcome: 'done' | 'failed'; detail: Record<string, unknown> }, db: { query: (t: string, v: unknown[]) => Promise<unknown> } = o.pool): Promise<void> {
    await db.query(
      `insert into ${actionsTable} (actor, action, target, aggregatetype, aggregateid, type, outcome, detail) values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [entry.actor, entry.action, entry.target, entry.aggregatetype ?? null, entry.aggregateid ?? null, entry.type ?? null, entry.outcome, JSON.stringify(entry.detail)],
    );
  }

  async function deadLetterAction(req: Req, id: string, action: 'replay' | 'discard'): Promise<unknown> {
    await checkWrite(req);
    if (!UUID.test(id)) throw badRequest(`A dead letter id is a UUID; got ${JSON.stringify(id)}.`, 'Use the id from GET api/dead-letters.');
    const body = await readBody(req);
    if (body.confirm !== id) {
      throw new DashboardError('DW_DASHBOARD_CONFIRMATION_REQUIRED', `A ${action} must be confirmed: send { "confirm": "${id}" }.`, 'The UI asks for the confirmation in a dialog; an API client repeats the id on purpose.', { status: 400 });
    }
    await ensureMigrated();
    const who = await actor(req);
    const client = await o.pool.connect();
    try {
      await client.query('begin');
      const letter = action === 'replay' ? await replayDeadLetter(pgExecutor(client), id, o.tables) : await discardDeadLetter(pgExecutor(client), id, o.tables);
      await record({ actor: who, action, target: id, aggregatetype: letter.aggregatetype, aggregateid: letter.aggregateid, type: letter.type, outcome: 'done', detail: { position: letter.position, error: letter.error } }, client);
      await client.query('commit');
      return { done: action, actor: who, deadLetter: { id: letter.id, aggregatetype: letter.aggregatetype, aggregateid: letter.aggregateid, type: letter.type, position: letter.position } };
    } catch (err) {
      await client.query('rollback').catch(() => {});
      await record({ actor: who, action, target: id, outcome: 'failed', detail: { code: (err as { code?: string }).code ?? null, message: (err as Error).message } }).catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  let lastAudit: { at: string; actor: string; report?: AuditReport; error?: { code: string; message: string; hint: string } } | undefined;
  let auditRunning = false;

  async function audit(req: Req): Promise<unknown> {
    const body = await readBody(req);
    const str = (k: string) => (typeof body[k] === 'string' && (body[k] as string).trim() !== '' ? (body[k] as string).trim() : undefined);
    const topic = str('topic') ?? o.audit.topic;
    const brokers = str('brokers') ?? o.audit.brokers;
    const table = str('table') ?? o.audit.table;
    const databaseUrl = o.audit.databaseUrl;
    if (!topic || !brokers || !table || !databaseUrl) {
      throw new DashboardError('DW_DASHBOARD_AUDIT_NOT_CONFIGURED', `An audit needs a table, a topic, brokers and a database URL; missing: ${[!table && 'table', !topic && 'topic', !brokers && 'brokers', !databaseUrl && 'database URL'].filter(Boolean).join(', ')}.`, 'Fill them in the form, or pass audit: { table, topic, brokers, databaseUrl } to createDashboard().', { status: 400 });
    }
    if (auditRunning) throw badRequest('An audit is already running.', 'Wait for it: its result replaces the last one.');
    const grace = body.graceMs === undefined || body.graceMs === '' ? undefined : Number(body.graceMs);
    if (grace !== undefined && (!Number.isInteger(grace) || grace < 0)) throw badRequest('graceMs must be an integer ≥ 0.', 'Leave it empty for the auditor\'s default (5000).');
    const who = await actor(req);
    auditRunning = true;
    try {
      const report = await runAudit({
        databaseUrl, table, topic, brokers,
        entityId: str('entityId') ?? o.audit.entityId,
        eventId: str('eventId') ?? o.audit.eventId,
        sequence: str('sequence') ?? o.audit.sequence,
        ...(grace !== undefined ? { graceMs: grace } : {}),
      });
      lastAudit = { at: new Date().toISOString(), actor: who, report };
      return lastAudit;
    } catch (err) {
      const e = err as { code?: string; message?: string; hint?: string };
      const wrapped = new DashboardError('DW_DASHBOARD_AUDIT_FAILED', `The audit failed: ${e.code ? `[${e.code}] ` : ''}${e.message ?? String(err)}`, e.hint ?? 'Check the table, topic and brokers.', { status: 502, cause: err });
      lastAudit = { at: new Date().toISOString(), actor: who, error: { code: wrapped.code, message: wrapped.message, hint: wrapped.hint } };
      throw wrapped;
    } finally {
      auditRunning = false;
    }
  }

  async function panelAction(req: Req, panelId: string, actionId: string): Promise<unknown> {
    const panel = o.panels.find((p) => p.id === panelId);
    const action = panel?.actions.find((a) => a.id === actionId);
    if (!panel || !action) throw notFound(`Panel action ${panelId}/${actionId}`);
    if (action.write !== false) await checkWrite(req);
    const who = await actor(req);
    const started = Date.now();
    try {
      const result = await action.run(req);
      if (action.write !== false) await ensureMigrated().then(() => record({ actor: who, action: `panel:${panelId}/${actionId}`, target: `${panelId}/${actionId}`, outcome: 'done', detail: { ms: Date.now() - started } })).catch(() => {});
      return { panel: panelId, action: actionId, actor: who, ms: Date.now() - started, result };
    } catch (err) {
      if (action.write !== false) await ensureMigrated().then(() => record({ actor: who, action: `panel:${panelId}/${actionId}`, target: `${panelId}/${actionId}`, outcome: 'failed', detail: { message: (err as Error).message } })).catch(() => {});
      throw err;
    }
  }

  // ---- routing ----
  async function route(req: Req, res: ServerResponse, rel: string, params: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    const file = files.get(rel);
    if (file && (method === 'GET' || method === 'HEAD')) {
      res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
      res.end(method === 'HEAD' ? undefined : file.body);
      return;
    }
    if (!rel.startsWith('/api/')) throw notFound(`The page ${rel}`);
    const api = rel.slice('/api'.length);
    startSampling();
    let m: RegExpExecArray | null;
    if (method === 'GET') {
      if (api === '/config') {
        return sendJson(res, 200, {
          title: o.title,
          readOnly: o.readOnly,
          outbox: `${o.tables.schema}.${o.tables.table}`,
          refreshMs: o.refreshMs,
          exactCountLimit: o.exactCountLimit,
          relaysConfigured: o.relays().length,
          audit: { table: o.audit.table ?? '', topic: o.audit.topic ?? '', brokers: (o.audit.brokers ?? []).join(','), entityId: o.audit.entityId ?? '', eventId: o.audit.eventId ?? '', sequence: o.audit.sequence ?? '', databaseConfigured: Boolean(o.audit.databaseUrl) },
          panels: o.panels.map((p) => ({ id: p.id, title: p.title, description: p.description ?? '', actions: p.actions.map((a) => ({ id: a.id, label: a.label, write: a.write !== false })) })),
          user: await actor(req),
        });
      }
      if (api === '/summary') return sendJson(res, 200, latest && Date.now() - Date.parse(latest.at) < o.refreshMs ? latest : await sampleOnce());
      if (api === '/events') return openStream(req, res);
      if (api === '/topics') {
        const s = latest ?? (await sampleOnce());
        const per = await q.perAggregateType(s.backlog);
        const topics = new Map<string, { topic: string; rows: number; aggregateTypes: string[] }>();
        for (const t of per.types) {
          const topic = o.topicOf(t.aggregatetype);
          const e = topics.get(topic) ?? { topic, rows: 0, aggregateTypes: [] };
          e.rows += t.rows;
          e.aggregateTypes.push(t.aggregatetype);
          topics.set(topic, e);
        }
        return sendJson(res, 200, { method: per.method, exact: per.method === 'count', aggregateTypes: per.types.map((t) => ({ ...t, topic: o.topicOf(t.aggregatetype) })), topics: [...topics.values()].sort((a, b) => b.rows - a.rows) });
      }
      if (api === '/instances') {
        const [db, relays] = await Promise.all([q.relayInstances(), Promise.all(o.relays().map((u) => readRelay(u)))]);
        const instances = db.instances.map((i) => {
          const endpoint = relays.find((r) => r.health?.instanceId === i.instanceId);
          return { ...i, health: endpoint ? { url: endpoint.url, status: endpoint.health?.status, kafka: endpoint.health?.kafka, reasons: endpoint.health?.reasons } : null };
        });
        return sendJson(res, 200, { ...db, instances, endpoints: relays });
      }
      if (api === '/parked') {
        const s = latest ?? (await sampleOnce());
        const page = await q.parkedKeys(cursor(params.get('after')), limitOf(params.get('limit')), s.backlog.exact);
        return sendJson(res, 200, { items: page.items, next: encodeCursor(page.next), waitingCounted: s.backlog.exact });
      }
      if (api === '/dead-letters') {
        const search = params.get('q')?.trim() || undefined;
        const page = await q.deadLetters(search, cursor(params.get('after')), limitOf(params.get('limit')));
        return sendJson(res, 200, { items: page.items, next: encodeCursor(page.next) });
      }
      if ((m = /^\/dead-letters\/([^/]+)$/.exec(api))) {
        const id = decodeURIComponent(m[1]!);
        if (!UUID.test(id)) throw badRequest(`A dead letter id is a UUID; got ${JSON.stringify(id)}.`, 'Use the id from GET api/dead-letters.');
        const letter = await q.deadLetter(id);
        if (!letter) throw notFound(`Dead letter ${id}`);
        return sendJson(res, 200, letter);
      }
      if (api === '/actions') {
        await ensureMigrated();
        const before = params.get('before');
        if (before !== null && !/^\d{1,18}$/.test(before)) throw badRequest('`before` is an action id.', 'Pass the `next` value of the previous page.');
        const limit = limitOf(params.get('limit'));
        const { rows } = await o.pool.query(`select id::text as id, at, actor, action, target, aggregatetype, aggregateid, type, outcome, detail from ${actionsTable} where ($1::bigint is null or id < $1) order by id desc limit $2`, [before, limit + 1]);
        const page = rows.slice(0, limit) as { id: string }[];
        return sendJson(res, 200, { items: page, next: rows.length > limit ? page.at(-1)!.id : null });
      }
      if (api === '/audit') return sendJson(res, 200, lastAudit ?? null);
    }
    if (method === 'POST') {
      if ((m = /^\/dead-letters\/([^/]+)\/(replay|discard)$/.exec(api))) return sendJson(res, 200, await deadLetterAction(req, decodeURIComponent(m[1]!), m[2] as 'replay' | 'discard'));
      if (api === '/audit') return sendJson(res, 200, await audit(req));
      if ((m = /^\/panels\/([^/]+)\/([^/]+)$/.exec(api))) return sendJson(res, 200, await panelAction(req, m[1]!, m[2]!));
    }
    throw notFound(`${method} ${rel}`);
  }

  function openStream(req: Req, res: ServerResponse): void {
    if (closed) throw new DashboardError('DW_DASHBOARD_NOT_FOUND', 'The dashboard is closing.', 'Reload the page once the server is back.', { status: 503 });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no', ...SECURITY_HEADERS });
    res.write(`retry: ${Math.max(1000, o.refreshMs)}\n\n`);
    if (latest) res.write(`event: summary\ndata: ${JSON.stringify(latest)}\n\n`);
    streams.add(res);
    const drop = () => streams.delete(res);
    req.on('close', drop);
    res.on('close', drop);
  }

  const handler: Dashboard['handler'] = (reqIn, res, next) => {
    const req = reqIn as Req;
    const full = new URL(req.originalUrl ?? req.url ?? '/', 'http://dashboard.invalid');
    const local = new URL(req.url ?? '/', 'http://dashboard.invalid');
    let rel: string;
    if (req.originalUrl !== undefined && req.originalUrl !== req.url) rel = local.pathname === '/' && !full.pathname.endsWith('/') ? '' : local.pathname; // Express stripped the mount path
    else if (base === '' || full.pathname === base || full.pathname.startsWith(`${base}/`)) rel = full.pathname.slice(base.length);
    else {
      if (next) next();
      else sendError(res, notFound(`The page ${full.pathname}`));
      return;
    }
    if (rel === '') {
      // The UI's links are relative to "<base>/".
      res.writeHead(302, { location: `${full.pathname}/${full.search}` });
      res.end();
      return;
    }
    void (async () => {
      try {
        if (!(await o.authorize(req))) {
          throw new DashboardError('DW_DASHBOARD_UNAUTHORIZED', 'You are not allowed to see this dashboard.', 'Sign in the way the application mounting it expects (its authorize hook refused this request).', { status: 401 });
        }
        await route(req, res, rel, full.searchParams);
      } catch (err) {
        sendError(res, err);
      }
    })();
  };

  return {
    handler,
    basePath: base,
    summary: () => sampleOnce(),
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      for (const res of streams) res.end();
      streams.clear();
      await sampling?.catch(() => {});
      if (o.ownsPool) await o.pool.end();
    },
  };
}
