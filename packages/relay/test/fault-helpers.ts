/**
 * Shared by the fault tests (db-faults, takeover, redelivery, health-and-shutdown): waiting on a relay's events,
 * polling a condition (a /health answer, a topic's offsets) until it holds, and reading what the audit found.
 * Kept apart from helpers.ts on purpose: nothing here changes what the older tests use.
 */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { Lab } from '@dual-write/testkit';
import type { AuditReport } from '@dual-write/audit';
import type { Relay, RelayEvents } from '../src/index.ts';
import { nextEvent } from './helpers.ts';

/** The next `name` event of the relay that `accept`s, or a rejection naming `what` after timeoutMs. */
export function relayEvent<K extends keyof RelayEvents>(relay: Relay, name: K, what: string, accept: (v: RelayEvents[K][0]) => boolean = () => true, timeoutMs = 30_000): Promise<RelayEvents[K][0]> {
  type Payload = RelayEvents[K][0];
  return nextEvent<Payload>(
    (fn) => {
      const listener = fn as (...args: never[]) => void;
      relay.events.on(name, listener as never);
      return () => relay.events.off(name, listener as never);
    },
    `${relay.instanceId}: ${what}`,
    timeoutMs,
    accept,
  );
}

/**
 * Polls `probe` every `intervalMs` until it returns something other than undefined (that value is returned),
 * or rejects after timeoutMs naming what was awaited and the last value seen. For conditions that have no
 * event of their own (a /health answer, a topic's high watermark, rows left in a table).
 */
export async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000, intervalMs = 100, describeLast?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${describeLast ? ` (last: ${describeLast()})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface HealthAnswer {
  code: number;
  body: { status: string; reasons: string[]; database: string; kafka: string; oldestUnpublishedAgeSeconds: number | null; ownedSlots: number; members: number; [k: string]: unknown };
}

/** GET /health of a relay (its HTTP status and JSON body). */
export async function health(relay: Relay): Promise<HealthAnswer> {
  const res = await fetch(`${relay.url}/health`);
  return { code: res.status, body: (await res.json()) as HealthAnswer['body'] };
}

/** Polls /health until `accept` holds for an answer; returns that answer. */
export async function healthUntil(relay: Relay, what: string, accept: (h: HealthAnswer) => boolean, timeoutMs = 30_000): Promise<HealthAnswer> {
  let last: HealthAnswer | undefined;
  return until(
    async () => {
      last = await health(relay);
      return accept(last) ? last : undefined;
    },
    `/health to answer ${what}`,
    timeoutMs,
    100,
    () => JSON.stringify(last),
  );
}

/** Messages ever appended to a topic: the sum of its partitions' high watermarks (read directly, not through the proxy). */
export async function appendedTo(lab: Lab, topic: string): Promise<number> {
  const admin = lab.kafka().admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Order violations the audit found that are NOT redeliveries: at-least-once may repeat an earlier message of a
 * key after later ones (a kill between Kafka's ack and the delete) — such a repeat is counted as a duplicate —
 * but a first delivery out of order is a real violation.
 */
export function violationsBeyondRedeliveries(report: AuditReport): AuditReport['orderViolations'] {
  const redeliveries = new Set(report.duplicates.flatMap((d) => d.deliveries.slice(1).map((l) => `${l.partition}:${l.offset}`)));
  return report.orderViolations.filter((v) => !redeliveries.has(`${v.partition}:${v.offset}`));
}

export interface CapturedLog {
  logger: Logger;
  lines: Record<string, unknown>[];
  /** Resolves with the first line (already logged, or from now on) that matches; rejects after timeoutMs. */
  line(match: (line: Record<string, unknown>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** A pino logger whose JSON lines land in `lines` (to wait on and assert on what the relay logged). */
export function capturingLogger(level: pino.Level = 'info'): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const listeners = new Set<(line: Record<string, unknown>) => void>();
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n')) {
        if (!text.trim()) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        for (const l of listeners) l(line);
      }
      done();
    },
  });
  return {
    logger: pino({ level }, stream),
    lines,
    line(match, what, timeoutMs = 30_000) {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      return nextEvent<Record<string, unknown>>((fn) => (listeners.add(fn), () => listeners.delete(fn)), what, timeoutMs, match);
    },
  };
}

/** pg_stat_activity rows of this database's relay connections (pool and session), by application_name. */
export async function relayBackends(lab: Lab): Promise<{ pid: number; application_name: string }[]> {
  const pool = lab.pool({ max: 1 });
  try {
    const { rows } = await pool.query<{ pid: number; application_name: string }>(
      "select pid, application_name from pg_stat_activity where datname = current_database() and application_name like 'outbox-relay%'",
    );
    return rows;
  } finally {
    await pool.end();
  }
}

/** Advisory locks held in this database (slot and member locks of the relays). */
export async function advisoryLocks(lab: Lab): Promise<number> {
  const pool = lab.pool({ max: 1 });
  try {
    const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())");
    return rows[0]!.n;
  } finally {
    await pool.end();
  }
}
