/**
 * pgbench as the database's own ceiling for the order write: the same two INSERTs (order row + outbox row,
 * same columns and sizes as POST /api/v1/orders?strategy=outbox writes) in one transaction, at the same
 * concurrency, through the same extended query protocol node-postgres uses — and the same transaction cut down
 * (order only; order + a plain second INSERT), so the API section's decomposition has the database's own side.
 * pgbench is not in the embedded PostgreSQL binaries; when it is missing the caller reports how to install it
 * and carries on.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ORDER_CREATED } from '@dual-write/schema';
import { percentile } from '@dual-write/loadgen';
import { runCaptured } from '../lib/proc.ts';

const execFileAsync = promisify(execFile);

export const PGBENCH_INSTALL = 'apt-get update && apt-get install -y postgresql-client';

export interface PgbenchSummary {
  /** "tps = … (without initial connection time)". */
  tps: number;
  /** Transactions actually processed. */
  transactions: number;
  /** Failed transactions (pgbench ≥ 15 reports them; 0 when the line is absent). */
  failed: number;
  latencyAvgMs: number;
}

export interface PgbenchResult extends PgbenchSummary {
  version: string;
  clients: number;
  threads: number;
  seconds: number;
  /** From the per-transaction log (-l), in ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The exact command line (password not included: it goes through PGPASSWORD). */
  command: string;
  script: string;
}

/** Parses pgbench's end-of-run summary; throws when the tps or transaction count is missing. */
export function parsePgbenchSummary(stdout: string): PgbenchSummary {
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(stdout);
    return m ? Number(m[1]) : undefined;
  };
  // pgbench ≥ 14 prints one tps line ("without initial connection time"); older ones print two.
  const tps = num(/^tps = ([\d.]+) \(without initial connection time\)/m) ?? num(/^tps = ([\d.]+) \(excluding connections establishing\)/m) ?? num(/^tps = ([\d.]+)/m);
  const transactions = num(/^number of transactions actually processed: (\d+)/m);
  if (tps === undefined || transactions === undefined) throw new Error(`pgbench printed no summary:\n${stdout.slice(-2000)}`);
  return {
    tps,
    transactions,
    failed: num(/^number of failed transactions: (\d+)/m) ?? 0,
    latencyAvgMs: num(/^latency average = ([\d.]+) ms/m) ?? 0,
  };
}

/**
 * Latencies (ms) from pgbench's per-transaction log lines:
 * `client_id transaction_no time script_no time_epoch time_us [schedule_lag] [retries]`, `time` in µs
 * (a failed transaction has `failed`/`serialization`/`deadlock` there and is left out).
 */
export function parsePgbenchLog(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    const us = Number(f[2]);
    if (Number.isFinite(us) && /^\d+$/.test(f[2]!)) out.push(us / 1000);
  }
  return out;
}

/** `pgbench --version`, or undefined when it is not installed. */
export async function pgbenchVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('pgbench', ['--version'], { timeout: 10_000 });
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/**
 * What the script's transaction writes after the order row: nothing (DB-only), the outbox row's twin into a table
 * without triggers (`plain`: the api-throughput section's bench_second_insert), or the outbox row (`outbox`: its
 * triggers fire as they are set — NOTIFY on or off is the caller's ALTER TABLE).
 */
export type PgbenchSecondInsert = 'none' | 'plain' | 'outbox';

/** The transaction POST /api/v1/orders?strategy=outbox runs, as a pgbench script (same columns and sizes). */
export function twoInsertScript(customerId: string, items: readonly { sku: string; qty: number; priceCents: number }[], second: PgbenchSecondInsert = 'outbox', plainTable = 'bench_second_insert'): string {
  const totalCents = items.reduce((s, i) => s + i.qty * i.priceCents, 0);
  const itemsJson = JSON.stringify(items.map((i) => ({ sku: i.sku, qty: i.qty, priceCents: i.priceCents })));
  // A payload of the same shape and size as the service's OrderCreated (its ids are fixed here: size is what counts).
  const payload = JSON.stringify({
    eventId: randomUUID(),
    type: ORDER_CREATED,
    orderId: randomUUID(),
    customerId,
    items: JSON.parse(itemsJson) as unknown,
    totalCents,
    strategy: 'outbox',
    createdAt: new Date().toISOString(),
  });
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return [
    'BEGIN;',
    // Sequelize's Model.create: INSERT … RETURNING the row.
    `INSERT INTO orders (id, customer_id, status, total_cents, items, strategy, created_at) VALUES (gen_random_uuid(), ${q(customerId)}, 'created', ${totalCents}, ${q(itemsJson)}, 'outbox', now()) RETURNING id::text AS order_id, customer_id, status, total_cents, items, strategy, created_at \\gset`,
    // @dual-write/outbox enqueue(): one outbox row keyed by the order id (the outbox_notify trigger fires as for the service).
    ...(second === 'none' ? [] : [`INSERT INTO ${second === 'outbox' ? 'outbox' : plainTable} (id, aggregatetype, aggregateid, type, payload, headers) VALUES (gen_random_uuid(), 'order', :order_id, ${q(ORDER_CREATED)}, ${q(payload)}, '{"strategy":"outbox"}');`]),
    'COMMIT;',
    '',
  ].join('\n');
}

export interface PgbenchRunOptions {
  /** postgres:// URL of the (scratch) database: it must hold the orders and outbox tables. */
  databaseUrl: string;
  clients: number;
  seconds: number;
  /** Where the script and the per-transaction logs go. */
  dir: string;
  customerId: string;
  items: readonly { sku: string; qty: number; priceCents: number }[];
  /** What follows the order INSERT (default: the outbox row, the outbox strategy's transaction). */
  second?: PgbenchSecondInsert;
  /** The script's file name in `dir` (default pgbench-two-inserts.sql). */
  scriptName?: string;
  progress?: (line: string) => void;
}

export async function runPgbench(opts: PgbenchRunOptions): Promise<PgbenchResult> {
  const version = (await pgbenchVersion()) ?? 'unknown';
  const script = path.join(opts.dir, opts.scriptName ?? 'pgbench-two-inserts.sql');
  await writeFile(script, twoInsertScript(opts.customerId, opts.items, opts.second ?? 'outbox'));
  const prefix = `pgbench-log-${process.pid}`;
  const threads = Math.max(1, Math.min(opts.clients, 2));
  const args = ['-n', '-M', 'extended', '-f', script, '-c', String(opts.clients), '-j', String(threads), '-T', String(opts.seconds), '-l', `--log-prefix=${path.join(opts.dir, prefix)}`];
  const u = new URL(opts.databaseUrl);
  const env = {
    ...process.env,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: decodeURIComponent(u.pathname.slice(1)),
  };
  opts.progress?.(`pgbench ${args.join(' ')} (database ${env.PGDATABASE} on ${u.host})`);
  const { code, stdout, stderr } = await runCaptured('pgbench', args, env);
  if (code !== 0) throw new Error(`pgbench exited with ${code}: ${(stderr || stdout).slice(-2000)}`);
  const summary = parsePgbenchSummary(stdout);
  const latencies: number[] = [];
  for (const f of await readdir(opts.dir)) {
    if (!f.startsWith(prefix)) continue;
    for (const ms of parsePgbenchLog(await readFile(path.join(opts.dir, f), 'utf8'))) latencies.push(ms);
    await rm(path.join(opts.dir, f)); // one line per transaction: read, not kept
  }
  return {
    ...summary,
    version,
    clients: opts.clients,
    threads,
    seconds: opts.seconds,
    p50Ms: round2(percentile(latencies, 50)),
    p99Ms: round2(percentile(latencies, 99)),
    maxMs: round2(latencies.reduce((m, v) => (v > m ? v : m), 0)),
    command: `pgbench ${args.join(' ')}`,
    script,
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
