import { describe, expect, it } from 'vitest';
import { useLab } from '../src/index.ts';

const lab = useLab();

describe('PostgreSQL through the Toxiproxy `postgres` proxy', () => {
  it('runs a SQL round trip through the proxy (the server sees the proxy as the peer)', async () => {
    const pool = lab.pool({ via: 'proxy' });
    const { rows } = await pool.query<{ db: string; one: number }>('select current_database() as db, 1 as one');
    expect(rows[0]).toEqual({ db: lab.db.name, one: 1 });
    expect(new URL(lab.db.appUrl).port).toBe(String(lab.config.database.proxyPort));
    await pool.end();
  });

  it('a reset_peer toxic makes an in-flight query fail with a connection error; a new connection works after removal', async () => {
    const pool = lab.pool({ via: 'proxy', max: 2 });
    await pool.query('select 1'); // warm a connection
    const inFlight = pool.query('select pg_sleep(2)');
    // The query is on the wire; now the proxy resets the connection when the answer comes back.
    const toxic = await lab.toxics.add('postgres', { type: 'reset_peer', attributes: { timeout: 0 } });
    const err = await inFlight.then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect(String(err?.message)).toMatch(/Connection terminated|ECONNRESET|connection/i);
    await toxic.remove();

    const { rows } = await pool.query<{ ok: number }>('select 42 as ok');
    expect(rows[0]?.ok).toBe(42);
    await pool.end();
  });
});
