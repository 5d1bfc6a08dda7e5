/**
 * The cross-process lock the test harness takes (packages/testkit, useLab): one user of the shared
 * Toxiproxy proxies at a time, so a load run's 5 s Kafka latency or a chaos script's toxic never lands in
 * someone's test, and a test's proxy reset never lands in the middle of a load run or a chaos run.
 */
import pg from 'pg';
import { DwError, withDatabase, type LabConfig } from '@dual-write/config';

/** The advisory-lock key; packages/testkit's useLab() takes the same lock. */
export const LAB_LOCK_KEY = 74_110_001;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Waits for the lock (calling `onWait` once if someone holds it); resolves to its release. The lock lives in
 * a PostgreSQL session: if that session is lost (a chaos schedule restarts PostgreSQL), it is taken again
 * on a new session as soon as the server answers.
 */
export async function acquireLabLock(config: LabConfig, onWait: () => void): Promise<() => Promise<void>> {
  const url = withDatabase(config.database.url, 'postgres');
  let released = false;
  let client: pg.Client | undefined;
  let relocking: Promise<void> | undefined;
  const connecting = new Set<pg.Client>();

  const lockOn = async (wait: boolean): Promise<pg.Client> => {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    c.on('error', () => {}); // a lost session surfaces as 'end' below
    connecting.add(c);
    try {
      await c.connect();
      const { rows } = await c.query<{ ok: boolean }>('select pg_try_advisory_lock($1) as ok', [LAB_LOCK_KEY]);
      if (!rows[0]?.ok) {
        if (wait) onWait();
        await c.query('select pg_advisory_lock($1)', [LAB_LOCK_KEY]);
      }
    } catch (err) {
      await c.end().catch(() => {});
      throw err;
    } finally {
      connecting.delete(c);
    }
    c.once('end', () => {
      if (released || client !== c) return;
      relocking = relock();
    });
    return c;
  };

  const relock = async (): Promise<void> => {
    while (!released) {
      try {
        const c = await lockOn(false);
        if (released) {
          await c.end().catch(() => {});
          return;
        }
        client = c;
        return;
      } catch {
        await sleep(500); // the server is restarting: try again
      }
    }
  };

  try {
    client = await lockOn(true);
  } catch (err) {
    throw new DwError(
      'DW_STACK_NOT_RUNNING',
      `PostgreSQL at ${new URL(config.database.url).host} does not answer (${(err as Error).message}); the lab lock lives there.`,
      'Start the stack (npm run stack -- up), or, where the command offers it, pass --no-lock when nothing else uses the proxies.',
    );
  }
  return async () => {
    released = true;
    for (const c of connecting) await c.end().catch(() => {}); // a re-lock still waiting: give it up
    await relocking;
    const c = client;
    client = undefined;
    if (!c) return;
    await c.query('select pg_advisory_unlock($1)', [LAB_LOCK_KEY]).catch(() => {});
    await c.end().catch(() => {});
  };
}
