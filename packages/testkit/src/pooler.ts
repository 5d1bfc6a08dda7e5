/**
 * `usePgbouncer(lab)` — the stack's optional PgBouncer (transaction mode, packages/stack/src/pgbouncer.ts) for one
 * test file: started in beforeAll when it is not running (installed first when it is missing), stopped again in
 * afterAll if this file started it, so the stack is left as it was found. Call it after useLab(): its hooks then run
 * while the file holds the lab lock.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { withDatabase } from '@dual-write/config';
import { ensurePgbouncer, stopPgbouncer } from '@dual-write/stack';
import type { Lab } from './lab.ts';

export interface Pooler {
  /** This file's database through PgBouncer (DATABASE_URL's credentials). */
  readonly url: string;
  /** One admin-console command (SHOW CLIENTS, SHOW SERVERS, SET pool_mode = …) on a connection of its own; its rows. */
  admin<T extends Record<string, unknown> = Record<string, unknown>>(command: string): Promise<T[]>;
}

export function usePgbouncer(lab: Lab): Pooler {
  let startedHere = false;
  beforeAll(async () => {
    const r = await ensurePgbouncer({ config: lab.config, progress: (l) => process.stderr.write(`[stack] ${l}\n`) });
    startedHere = r.startedNow;
  }, 600_000); // the first run installs the Debian package
  afterAll(async () => {
    if (startedHere) await stopPgbouncer({ config: lab.config });
  });
  return {
    get url() {
      return withDatabase(lab.config.pgbouncer.url, lab.db.name);
    },
    async admin<T extends Record<string, unknown>>(command: string): Promise<T[]> {
      const c = new pg.Client({ connectionString: withDatabase(lab.config.pgbouncer.url, 'pgbouncer') });
      c.on('error', () => {});
      await c.connect();
      try {
        return (await c.query<T>(command)).rows;
      } finally {
        await c.end().catch(() => {});
      }
    },
  };
}
