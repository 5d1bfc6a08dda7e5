/**
 * One soak run: orders at a steady rate through one write strategy while a chaos schedule plays (toxics,
 * relay kill -9, broker and PostgreSQL restarts); then wait until the outbox is empty and both consumers
 * caught up, and count what went wrong — the auditor (DB vs Kafka) and the downstream effect tables.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { execFileSync } from 'node:child_process';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import pg from 'pg';
import { runAudit } from '@dual-write/audit';
import { runSchedule, type PlayedStep, type Schedule } from '@dual-write/chaos';
import { withDatabase, type LabConfig } from '@dual-write/config';
import { SEQUENCE_HEADER } from '@dual-write/schema';
import { Cleanup } from '@dual-write/faults';
import { clearLeftoverFaults, recreateDatabaseAndTopic } from '../scratch.ts';
import { startSystem } from '../system.ts';
import { startSoakRelay, stopSoakRelays } from './relay-processes.ts';
import { SteadyLoad, type LoadCounts } from './steady-load.ts';

export const SOAK_STRATEGIES = ['naive', 'naive-after-commit', 'outbox'] as const;
export type SoakStrategy = (typeof SOAK_STRATEGIES)[number];

export interface SoakOptions {
  config: LabConfig;
  strategy: SoakStrategy;
  orders: number;
  ratePerSec: number;
  schedule: Schedule;
  scheduleFile: string;
  say: (line: string) => void;
  /** Undo steps of this run (system, relays, the schedule's faults); the CLI runs them on Ctrl-C too. */
  cleanup: Cleanup;
  database?: string;
  topic?: string;
  /**
   * Events per order (1–3): OrderCreated, then OrderPaid, then OrderShipped, each its own transaction locking the
   * order (default 3). Only the outbox strategy writes the later steps (they always go through the outbox); the naive
   * strategies write OrderCreated alone.
   */
  eventsPerOrder?: number;
  /** How long to wait for the backlog and the consumers after the load (default 10 min). */
  settleTimeoutMs?: number;
  progressEveryMs?: number;
}

export interface SoakEffects {
  shipped: number;
  invoiced: number;
  /** Orders with more than one 'shipped' / 'invoiced' row: an effect applied twice. */
  doubleShipments: number;
  doubleInvoices: number;
  /** Orders in the table without a shipment / invoice once everything settled. */
  missingShipments: number;
  missingInvoices: number;
  /** Messages whose order does not exist (the callback got 404, and the order never committed). */
  ghostShipments: number;
  ghostInvoices: number;
  /** Callbacks answered 404 for an order that exists now: the message outran its commit; never acted on. */
  prematureShipments: number;
  prematureInvoices: number;
  /** Stream steps applied (rows of order_stream_applied), shipping + billing. */
  streamStepsApplied: number;
  /** Of those, applied out of their order's sequence (not the previous one + 1), shipping + billing. */
  outOfSequence: number;
  /** (order, consumer) pairs whose last applied step is not the order's last event (its version) once settled. */
  incompleteStreams: number;
}

export interface SoakResult {
  strategy: SoakStrategy;
  runId: string;
  startedAt: string;
  durationMs: number;
  settings: { orders: number; ratePerSec: number; eventsPerOrder: number; schedule: string; database: string; topic: string; kafkaNodes: number };
  machine: { cpus: number; memoryGiB: number; node: string; commit: string };
  load: LoadCounts;
  faults: { played: PlayedStep[]; byType: Record<string, number> };
  backlog: { max: number; samples: number };
  /** After the load stopped: when the outbox was empty, and when both consumers had caught up too. */
  drain: { outboxEmptyAfterMs: number | null; settledAfterMs: number | null; timedOut: boolean };
  /** premature: messages appended before their order committed (null when the audit could not check). */
  /**
   * events: the events the orders' rows say were written (sum of their versions). orderViolations: messages whose
   * sequence went down within their order's stream on the topic; byRedelivery: of those, redeliveries of an event
   * already on the topic (a relay killed between its send and its DELETE) — absorbed by the inboxes, not a reordering.
   */
  audit: {
    rows: number;
    events: number;
    messages: number;
    ghosts: number;
    blackHoles: number;
    duplicateEvents: number;
    extraDeliveries: number;
    premature: number | null;
    orderViolations: number;
    orderViolationsByRedelivery: number;
  };
  effects: SoakEffects;
  /** What went wrong; empty when the run lost nothing and applied nothing twice. */
  damage: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function gitCommit(cwd: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** Sum over partitions of (end offset − the group's committed offset). */
async function consumerLag(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  return ends.reduce((lag, p) => {
    const end = Number(p.high);
    const at = done.get(p.partition) ?? -1;
    return lag + (at < 0 ? end - Number(p.low) : Math.max(0, end - at));
  }, 0);
}

async function countEffects(db: pg.Pool): Promise<SoakEffects> {
  const q = async (sql: string) => Number((await db.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
  const per = (table: string, outcome: string) => ({
    done: q(`select count(distinct order_id) as n from ${table} where outcome = '${outcome}'`),
    twice: q(`select count(*) as n from (select order_id from ${table} where outcome = '${outcome}' group by order_id having count(*) > 1) t`),
    missing: q(`select count(*) as n from orders o where not exists (select 1 from ${table} e where e.order_id = o.id and e.outcome = '${outcome}')`),
    ghosts: q(`select count(distinct order_id) as n from ${table} e where outcome = 'ghost' and not exists (select 1 from orders o where o.id = e.order_id)`),
    premature: q(`select count(distinct order_id) as n from ${table} e where outcome = 'ghost' and exists (select 1 from orders o where o.id = e.order_id)`),
  });
  const s = per('shipments', 'shipped');
  const i = per('invoices', 'invoiced');
  const applied = q('select count(*) as n from order_stream_applied');
  const outOfSequence = q('select count(*) as n from order_stream_applied where not in_sequence');
  const incomplete = q(`select count(*) as n from orders o cross join (values ('shipping'), ('billing')) c(consumer)
    where o.version <> coalesce((select a.sequence from order_stream_applied a where a.consumer = c.consumer and a.order_id = o.id order by a.id desc limit 1), 0)`);
  return {
    streamStepsApplied: await applied,
    outOfSequence: await outOfSequence,
    incompleteStreams: await incomplete,
    shipped: await s.done,
    invoiced: await i.done,
    doubleShipments: await s.twice,
    doubleInvoices: await i.twice,
    missingShipments: await s.missing,
    missingInvoices: await i.missing,
    ghostShipments: await s.ghosts,
    ghostInvoices: await i.ghosts,
    prematureShipments: await s.premature,
    prematureInvoices: await i.premature,
  };
}

export function damageOf(r: Pick<SoakResult, 'audit' | 'effects' | 'drain'>): string[] {
  const d: string[] = [];
  const add = (n: number, what: string) => n > 0 && d.push(`${n} ${what}`);
  add(r.audit.blackHoles, 'black hole(s): orders committed, never published');
  add(r.audit.ghosts, 'ghost(s): messages for orders that do not exist');
  add(r.effects.doubleShipments, 'order(s) shipped twice');
  add(r.effects.doubleInvoices, 'order(s) invoiced twice');
  add(r.effects.missingShipments, 'order(s) never shipped');
  add(r.effects.missingInvoices, 'order(s) never invoiced');
  add(r.effects.ghostShipments, 'shipment callback(s) for a ghost order (404)');
  add(r.effects.ghostInvoices, 'invoice callback(s) for a ghost order (404)');
  add(r.effects.prematureShipments, 'shipment callback(s) answered 404 for an order committed afterwards (premature: never shipped)');
  add(r.effects.prematureInvoices, 'invoice callback(s) answered 404 for an order committed afterwards (premature: never invoiced)');
  add(r.audit.premature ?? 0, 'premature message(s): on the topic before their order committed');
  add(r.audit.orderViolations - r.audit.orderViolationsByRedelivery, 'message(s) out of their order’s sequence on the topic (not redeliveries)');
  add(r.effects.outOfSequence, 'event(s) applied by a consumer out of their order’s sequence');
  add(r.effects.incompleteStreams, 'order stream(s) a consumer did not apply to the end');
  if (r.drain.timedOut) d.push('did not settle in time: outbox not empty or consumers behind');
  return d;
}

/** The later steps of an order, in order: its 2nd and 3rd events (OrderPaid, OrderShipped). */
const ORDER_STEPS = ['paid', 'shipped'] as const;

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const { config, say, cleanup, strategy } = opts;
  const eventsPerOrder = strategy === 'outbox' ? (opts.eventsPerOrder ?? 3) : 1;
  const runId = randomUUID().slice(0, 8);
  const database = opts.database ?? 'dual_write_soak';
  const topic = opts.topic ?? 'orders.soak';
  const directUrl = withDatabase(config.database.url, database);
  const started = Date.now();

  const leftovers = await clearLeftoverFaults(config);
  if (leftovers.length) say(`cleared faults left by an earlier run: ${leftovers.join(', ')}`);
  const stale = await stopSoakRelays(undefined, 15_000, config);
  if (stale) say(`stopped ${stale} relay process(es) an earlier soak left running`);
  say(`preparing database ${database} and topic ${topic}…`);
  await recreateDatabaseAndTopic(config, database, topic);

  const system = await startSystem({
    config,
    port: 0,
    databaseUrl: withDatabase(config.database.appUrl, database),
    directDatabaseUrl: directUrl,
    topic,
    groupSuffix: `soak-${runId}`,
    relay: false,
    log: () => {},
  });
  cleanup.defer('stop the order service, shipping and billing', () => system.stop());
  const relay = startSoakRelay(config, { runId, databaseUrl: directUrl, topic });
  say(`relay process started (pid ${relay.pid}, output in ${relay.logFile})`);
  cleanup.defer('stop the soak relay process(es)', async () => void (await stopSoakRelays(runId)));

  const db = new pg.Pool({ connectionString: directUrl, max: 2, connectionTimeoutMillis: 2000 });
  db.on('error', () => {}); // PostgreSQL restarts during the soak: a lost idle connection is expected
  cleanup.defer('close the soak database pool', () => db.end());
  const kafka = new Kafka({ clientId: `soak-${runId}`, brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();

  // The backlog, sampled every second (skipped while PostgreSQL is down).
  const backlog = { max: 0, samples: 0, last: 0 };
  const sampler = setInterval(() => {
    db.query<{ n: number }>('select count(*)::int as n from outbox').then(
      ({ rows }) => {
        backlog.last = rows[0]?.n ?? 0;
        backlog.max = Math.max(backlog.max, backlog.last);
        backlog.samples++;
      },
      () => {},
    );
  }, 1000);
  cleanup.defer('stop the backlog sampler', async () => clearInterval(sampler));

  // The schedule has its own undo steps; the run's cleanup (Ctrl-C) undoes them first.
  const chaos = new Cleanup();
  cleanup.defer('undo the schedule’s faults', async () => {
    const errors = await chaos.runAll();
    if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
  });
  let scheduleDone = false;
  // kafka-leader-kill finds the leader of a partition of the orders topic: here, the soak's topic.
  const chaosConfig: LabConfig = { ...config, topics: { ...config.topics, orders: { ...config.topics.orders, name: topic } } };
  const playing = runSchedule({ config: chaosConfig, lock: false, say: (l) => say(`[chaos] ${l}`), cleanup: chaos, schedule: opts.schedule }).finally(() => {
    scheduleDone = true;
  });
  playing.catch(() => {}); // awaited below

  const load = new SteadyLoad({ url: system.url, strategy, ratePerSec: opts.ratePerSec, orders: opts.orders, mayStop: () => scheduleDone, steps: ORDER_STEPS.slice(0, eventsPerOrder - 1) });
  let lastAccepted = 0;
  const every = opts.progressEveryMs ?? 5000;
  const ticker = setInterval(() => {
    const c = load.counts;
    const rate = ((c.accepted - lastAccepted) * 1000) / every;
    lastAccepted = c.accepted;
    say(
      `${`${Math.round((Date.now() - c.startedAt) / 1000)} s`.padStart(5)} · accepted ${c.accepted}/${opts.orders} · failed ${c.failed} · ${rate.toFixed(0)}/s · in flight ${c.inFlight} · outbox ${backlog.last}${scheduleDone ? ' · schedule done' : ''}`,
    );
  }, every);
  let counts: LoadCounts;
  try {
    counts = await load.finished();
  } finally {
    clearInterval(ticker);
  }
  const played = await playing;
  const loadEnded = Date.now();
  say(`load done: ${counts.accepted} accepted, ${counts.failed} failed of ${counts.sent} sent; waiting for the outbox and the consumers…`);

  // Settle: outbox empty, then both consumer groups at the end of the topic.
  await admin.connect();
  cleanup.defer('disconnect the Kafka admin', () => admin.disconnect());
  const deadline = loadEnded + (opts.settleTimeoutMs ?? 600_000);
  let outboxEmptyAfterMs: number | null = null;
  let settledAfterMs: number | null = null;
  let lastSay = 0;
  while (Date.now() < deadline) {
    try {
      const { rows } = await db.query<{ n: number }>('select count(*)::int as n from outbox');
      const left = rows[0]?.n ?? 0;
      if (left === 0) outboxEmptyAfterMs ??= Date.now() - loadEnded;
      const lags = await Promise.all([`shipping-soak-${runId}`, `billing-soak-${runId}`].map((g) => consumerLag(admin, g, topic)));
      if (left === 0 && lags.every((l) => l === 0)) {
        settledAfterMs = Date.now() - loadEnded;
        break;
      }
      if (Date.now() - lastSay > 5000) {
        lastSay = Date.now();
        say(`settling: outbox ${left}, shipping behind by ${lags[0]}, billing by ${lags[1]}`);
      }
    } catch {
      /* a restart still settling; try again */
    }
    await sleep(250);
  }
  const drain = { outboxEmptyAfterMs, settledAfterMs, timedOut: settledAfterMs === null };
  if (drain.timedOut) say('did not settle within the time limit; auditing what is there');

  say('auditing: orders table vs topic…');
  const report = await runAudit({ databaseUrl: directUrl, table: 'orders', topic, brokers: config.kafka.brokers, entityId: 'key', eventId: 'header:id', sequence: `header:${SEQUENCE_HEADER}`, graceMs: 0 });
  const effects = await countEffects(db);
  const events = Number((await db.query<{ n: string }>('select coalesce(sum(version), 0) as n from orders')).rows[0]?.n ?? 0);
  const byType: Record<string, number> = {};
  for (const p of played) byType[p.toggle] = (byType[p.toggle] ?? 0) + 1;
  const partial = {
    audit: {
      rows: report.counts.rows,
      events,
      messages: report.counts.messages,
      ghosts: report.counts.ghosts,
      blackHoles: report.counts.blackHoles,
      duplicateEvents: report.counts.duplicates,
      extraDeliveries: report.counts.extraDeliveries,
      premature: report.prematureCheck.checked ? report.counts.premature : null,
      orderViolations: report.counts.orderViolations,
      orderViolationsByRedelivery: report.counts.orderViolationsByRedelivery,
    },
    effects,
    drain,
  };
  return {
    strategy,
    runId,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    settings: { orders: opts.orders, ratePerSec: opts.ratePerSec, eventsPerOrder, schedule: opts.scheduleFile, database, topic, kafkaNodes: config.kafka.nodeCount },
    machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, commit: gitCommit(config.repoRoot) },
    load: counts,
    faults: { played, byType },
    backlog: { max: backlog.max, samples: backlog.samples },
    ...partial,
    damage: damageOf(partial),
  };
}
