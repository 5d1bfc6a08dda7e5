/**
 * The cross-process lock the test harness takes (packages/testkit, useLab): one user of the shared
 * Toxiproxy proxies at a time, so a load run's 5 s Kafka latency or a chaos script's toxic never lands in
 * someone's test, and a test's proxy reset never lands in the middle of a load run or a chaos run.
 */
import pg from 'pg';
import { DwError, withDatabase, type LabConfig } from '@dual-write/config';

/** The advisory-lock key; packages/testkit's useLab() takes the same lock. */
export const LAB_LOCK_KEY = 74_110_001;

/** Waits for the lock (calling `onWait` once if someone holds it); resolves to its release. */
export async function acquireLabLock(config: LabConfig, onWait: () => void): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: withDatabase(config.database.url, 'postgres'), connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new DwError(
      'DW_STACK_NOT_RUNNING',
      `PostgreSQL at ${new URL(config.database.url).host} does not answer (${(err as Error).message}); the lab lock lives there.`,
      'Start the stack (npm run stack -- up), or, where the command offers it, pass --no-lock when nothing else uses the proxies.',
    );
  }
  const { rows } = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [LAB_LOCK_KEY]);
  if (!rows[0]?.ok) {
    onWait();
    await client.query('select pg_advisory_lock($1)', [LAB_LOCK_KEY]);
  }
  return async () => {
    await client.query('select pg_advisory_unlock($1)', [LAB_LOCK_KEY]).catch(() => {});
    await client.end().catch(() => {});
  };
}
