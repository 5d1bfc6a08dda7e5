/** A chaos toxic really bites: with `db-latency --ms 300` a SQL round trip through the postgres proxy takes ≥ 300 ms. */
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

async function roundTripMs(): Promise<number> {
  const t0 = performance.now();
  await client.query('select 1');
  return performance.now() - t0;
}

describe('db-latency through the postgres proxy', () => {
  it('adds ≥ 300 ms to a SQL round trip while it runs, and nothing after SIGINT', async () => {
    await client.connect();
    expect(await roundTripMs()).toBeLessThan(300);

    const run = startChaos(['db-latency', '--ms', '300', '--no-lock']);
    await run.line(/added: /);
    expect(await roundTripMs()).toBeGreaterThanOrEqual(300);

    run.child.kill('SIGINT');
    expect((await run.exited).code).toBe(130);
    expect(await roundTripMs()).toBeLessThan(300);
  });
});
