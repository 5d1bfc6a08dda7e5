/** Runs `fn` inside BEGIN … COMMIT on one pooled connection; ROLLBACK (and rethrow) when it throws. */
import type pg from 'pg';

export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out client has no pool listener: a connection dropped between two statements would
  // otherwise be an unhandled 'error' event and end the process. Remember it; the next query fails anyway.
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (err) {
    await client.query('rollback').catch((rollbackErr: unknown) => {
      broken = rollbackErr as Error; // the connection is gone: do not give it back to the pool
    });
    throw err;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}
