/**
 * A test file's own database and topic for the in-process system (never the main ones), under useLab's lab
 * lock: created before the file's tests, the database dropped after them.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { resolveConfig, withDatabase } from '@dual-write/config';
import { useLab } from '@dual-write/testkit';

export function useIsolatedSystem() {
  const lab = useLab({ database: false });
  const config = resolveConfig();
  const names = { database: '', topic: '' };

  async function admin<T>(fn: (c: pg.Client) => Promise<T>, database = 'postgres'): Promise<T> {
    const c = new pg.Client({ connectionString: withDatabase(config.database.url, database) });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }

  beforeAll(async () => {
    names.database = `l_${lab.id}`.slice(0, 63);
    await admin((c) => c.query(`create database "${names.database}"`));
    names.topic = await lab.topic('orders', config.topics.orders.partitions);
  });

  afterAll(async () => {
    if (names.database) await admin((c) => c.query(`drop database if exists "${names.database}" with (force)`));
  });

  return {
    lab,
    config,
    /** The in-process system's options: this file's database and topic. */
    isolated: (group: string) => ({
      databaseUrl: withDatabase(config.database.appUrl, names.database),
      directDatabaseUrl: withDatabase(config.database.url, names.database),
      topic: names.topic,
      groupSuffix: `${group}-${lab.id}`,
    }),
    /** A query on this file's database, directly (not through the proxy). */
    query: <T>(fn: (c: pg.Client) => Promise<T>) => admin(fn, names.database),
  };
}
