/**
 * A chaos toxic really bites: with `db-latency --ms 300` a SQL round trip through the postgres proxy takes
 * ≥ 300 ms, and about 300 ms more than without it (before and after, in the same test).
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { withDatabase } from '@dual-write/config';
import { useLab } from '@dual-write/testkit';
import { startChaos } from './child.ts';

const lab = useLab({ database: false });
const client = new pg.Client({ connectionString: withDatabase(lab.config.database.appUrl, 'postgres') });
client.on('error', () => {});

afterAll(async () => {
  await client.end().catch(() => {});
});

/** The fastest of three round trips: the toxic's effect, not the machine's noise. */
async function roundTripMs(): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await client.query('select 1');
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

describe('db-latency through the postgres proxy', () => {
  it('adds ≥ 300 ms to a SQL round trip while it runs, and nothing after SIGINT', async () => {
    await client.connect();
    const before = await roundTripMs();

    const run = startChaos(['db-latency', '--ms', '300', '--no-lock']);
    await run.line(/added: /);
    const during = await roundTripMs();

    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(130);
    const after = await roundTripMs();
    expect(during).toBeGreaterThanOrEqual(300);
    expect(during - before).toBeGreaterThanOrEqual(250);
    expect(during - after).toBeGreaterThanOrEqual(250);
  });
});
