/**
 * What every relay mode checks before it starts, with the same errors: the database answers (a blip is retried
 * until connectTimeoutMs: DW_RELAY_UNREACHABLE after), and the outbox tables exist (DW_OUTBOX_NOT_MIGRATED).
 */
import { CodedError, OutboxError } from '@dual-write/outbox';
import { RelayError } from './errors.ts';
import type { ResolvedRelayOptions } from './options.ts';
import { redactUrl } from './stores/postgres/session-check.ts';

/** How long /health waits for the outbox's age: a database that hangs must not hang the health check. */
export const HEALTH_QUERY_TIMEOUT_MS = 1000;

export interface StartProbe {
  ping(): Promise<void>;
  tablesExist(): Promise<boolean>;
}

export async function checkDatabase(opts: Pick<ResolvedRelayOptions, 'database' | 'connectTimeoutMs' | 'tables'>, probe: StartProbe): Promise<void> {
  try {
    await retryUntil(Date.now() + opts.connectTimeoutMs, () => probe.ping());
  } catch (err) {
    throw new RelayError('DW_RELAY_UNREACHABLE', `The relay could not connect to its database ${redactUrl(opts.database)}: ${(err as Error).message}`, 'Check DATABASE_URL (or the database option), that PostgreSQL runs and accepts connections from here.', undefined, { cause: err });
  }
  if (await probe.tablesExist()) return;
  const { tables } = opts;
  throw new OutboxError(
    'DW_OUTBOX_NOT_MIGRATED',
    `The outbox tables ${tables.outbox} and ${tables.deadLetters} do not exist in ${redactUrl(opts.database)}.`,
    tables.isDefault
      ? 'Run migrateOutbox(client) from @dual-write/outbox first (e.g. at your service start-up), or set OUTBOX_SCHEMA / OUTBOX_TABLE (the schema and table options) to where it migrated the outbox.'
      : `Run migrateOutbox(client, { schema: ${JSON.stringify(tables.schema)}, table: ${JSON.stringify(tables.table)} }) from @dual-write/outbox first, or fix OUTBOX_SCHEMA / OUTBOX_TABLE (the schema and table options).`,
    { schema: tables.schema, table: tables.table },
  );
}

/** Runs fn until it succeeds or the deadline passes (then rethrows its last error); a CodedError is final at once. */
export async function retryUntil<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const wait = Math.min(200 * 2 ** attempt, 1000);
      if (err instanceof CodedError || Date.now() + wait >= deadline) throw err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
