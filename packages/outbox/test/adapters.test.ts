/**
 * Every ORM / client adapter joins the caller's transaction, on the real PostgreSQL: inside the library's own
 * transaction API, the executor runs on the transaction's backend and transaction id; a rollback takes the
 * outbox row with it; a commit keeps the rows in order; and the inbox's insert reports its row count, so a
 * redelivery is seen as a duplicate.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import { drizzle } from 'drizzle-orm/node-postgres';
import { sql as drizzleSql } from 'drizzle-orm';
import knex from 'knex';
import { Kysely, PostgresDialect, sql as kyselySql } from 'kysely';
import pg from 'pg';
import postgres from 'postgres';
import { DataSource } from 'typeorm';
import { afterAll, describe, expect, it } from 'vitest';
import { OutboxError } from '../src/index.ts';
import { useLab } from '@dual-write/testkit';
import { drizzleExecutor, enqueue, knexExecutor, kyselyExecutor, migrateOutbox, pgExecutor, postgresJsExecutor, prismaExecutor, processOnce, typeormExecutor, type PrismaTransactionClient, type SqlExecutor } from '../src/index.ts';
import { toQuestionMarks } from '../src/adapters/knex.ts';

const lab = useLab({ initSql: async (c) => void (await migrateOutbox(c)) });

interface Backend {
  pid: number;
  xid: string;
}
const WHO = 'select pg_backend_pid() as pid, pg_current_xact_id()::text as xid';
const who = (row: { pid: unknown; xid: unknown } | undefined): Backend => ({ pid: Number(row?.pid), xid: String(row?.xid) });

/** One client library: run `fn` in its own transaction API, with the adapter's executor and the library's own view of the backend. */
interface Client {
  run<T>(fn: (executor: SqlExecutor, backend: () => Promise<Backend>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));

interface GeneratedPrismaClient extends PrismaTransactionClient {
  $transaction<T>(fn: (tx: PrismaTransactionClient) => Promise<T>): Promise<T>;
  $disconnect(): Promise<void>;
}

/**
 * `prisma generate` for test/prisma/schema.prisma into test/.prisma-client. Prisma's CLI fetches its schema engine
 * from binaries.prisma.sh before it generates anything, though generating never runs it; where that host is out
 * of reach (as on this project's CI), PRISMA_SCHEMA_ENGINE_BINARY points it at a stand-in file instead. The client
 * itself needs no engine: it runs on the `pg` driver through @prisma/adapter-pg.
 */
async function generatedPrismaClient(): Promise<new (opts: { adapter: unknown }) => GeneratedPrismaClient> {
  const standIn = path.join(mkdtempSync(path.join(tmpdir(), 'prisma-')), 'schema-engine');
  writeFileSync(standIn, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  const cli = path.join(HERE, '..', 'node_modules', 'prisma', 'build', 'index.js');
  const r = spawnSync(process.execPath, [cli, 'generate', '--schema', path.join(HERE, 'prisma', 'schema.prisma')], {
    encoding: 'utf8',
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? standIn, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  });
  if (r.status !== 0) throw new Error(`prisma generate failed (${r.status}): ${r.stdout}${r.stderr}`);
  const mod = (await import(pathToFileURL(path.join(HERE, '.prisma-client', 'client.ts')).href)) as { PrismaClient: new (opts: { adapter: unknown }) => GeneratedPrismaClient };
  return mod.PrismaClient;
}

const CLIENTS: Record<string, () => Promise<Client>> = {
  prisma: async () => {
    const PrismaClient = await generatedPrismaClient();
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: lab.db.url, max: 3 }) });
    return {
      run: (fn) => prisma.$transaction(async (tx) => fn(prismaExecutor(tx), async () => who((await tx.$queryRawUnsafe<Backend[]>(WHO))[0]))),
      close: () => prisma.$disconnect(),
    };
  },
  pg: async () => {
    const pool = new pg.Pool({ connectionString: lab.db.url, max: 3 });
    return {
      async run(fn) {
        const c = await pool.connect();
        try {
          await c.query('begin');
          const out = await fn(pgExecutor(c), async () => who((await c.query(WHO)).rows[0]));
          await c.query('commit');
          return out;
        } catch (err) {
          await c.query('rollback');
          throw err;
        } finally {
          c.release();
        }
      },
      close: () => pool.end(),
    };
  },
  knex: async () => {
    const db = knex({ client: 'pg', connection: lab.db.url, pool: { min: 0, max: 3 } });
    return {
      run: (fn) => db.transaction(async (trx) => fn(knexExecutor(trx), async () => who((await trx.raw(WHO)).rows[0]))),
      close: () => db.destroy(),
    };
  },
  kysely: async () => {
    const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: lab.db.url, max: 3 }) }) });
    return {
      run: (fn) => db.transaction().execute(async (trx) => fn(kyselyExecutor(trx), async () => who((await kyselySql<Backend>`select pg_backend_pid() as pid, pg_current_xact_id()::text as xid`.execute(trx)).rows[0]))),
      close: () => db.destroy(),
    };
  },
  'postgres.js': async () => {
    const sql = postgres(lab.db.url, { max: 3, onnotice: () => {} });
    return {
      run: <T>(fn: (e: SqlExecutor, b: () => Promise<Backend>) => Promise<T>) => sql.begin(async (tx) => fn(postgresJsExecutor(tx), async () => who((await tx.unsafe(WHO))[0] as unknown as Backend))) as Promise<T>,
      close: () => sql.end(),
    };
  },
  drizzle: async () => {
    const pool = new pg.Pool({ connectionString: lab.db.url, max: 3 });
    const db = drizzle(pool);
    return {
      run: (fn) => db.transaction(async (tx) => fn(drizzleExecutor(tx), async () => who((await tx.execute(drizzleSql.raw(WHO))).rows[0] as { pid: unknown; xid: unknown }))),
      close: () => pool.end(),
    };
  },
  typeorm: async () => {
    const ds = await new DataSource({ type: 'postgres', url: lab.db.url, poolSize: 3, logging: false }).initialize();
    return {
      run: (fn) => ds.transaction(async (manager) => fn(typeormExecutor(manager), async () => who(((await manager.query(WHO)) as Backend[])[0]))),
      close: () => ds.destroy(),
    };
  },
};

const message = (aggregateId: string) => ({ aggregateType: 'order', aggregateId, type: 'OrderCreated', payload: { orderId: aggregateId } });

async function rowsFor(ids: string[]): Promise<{ aggregateid: string }[]> {
  const pool = lab.pool({ max: 1 });
  try {
    return (await pool.query('select aggregateid from outbox o where id = any($1::uuid[]) order by o.position', [ids])).rows;
  } finally {
    await pool.end();
  }
}

const opened: Client[] = [];
afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
});

describe.each(Object.keys(CLIENTS))('%s: the outbox joins the caller’s transaction', (name) => {
  it('same backend and transaction; rolled back → no row; committed → the rows in order; the inbox sees a redelivery', async () => {
    const client = await CLIENTS[name]!();
    opened.push(client);

    const rollBack = new Error('roll back on purpose');
    let seen: { viaExecutor: Backend; viaLibrary: Backend } | undefined;
    let rolledBackIds: string[] = [];
    const outcome = await client
      .run(async (executor, backend) => {
        seen = { viaExecutor: who((await executor.query(WHO)).rows[0]), viaLibrary: await backend() };
        rolledBackIds = await enqueue(executor, message(`${name}-rollback`));
        throw rollBack;
      })
      .then(
        () => 'committed',
        (e: unknown) => e,
      );
    expect(outcome).toBe(rollBack);
    expect(seen!.viaExecutor).toEqual(seen!.viaLibrary);
    expect(rolledBackIds).toHaveLength(1);
    expect(await rowsFor(rolledBackIds)).toEqual([]);

    const committed = await client.run((executor) => enqueue(executor, [message(`${name}-1`), message(`${name}-2`)]));
    expect((await rowsFor(committed)).map((r) => r.aggregateid)).toEqual([`${name}-1`, `${name}-2`]);

    const eventId = randomUUID();
    const outcomes = await client.run(async (executor) => [await processOnce(executor, { consumer: name, eventId }, () => {}), await processOnce(executor, { consumer: name, eventId }, () => {})]);
    expect(outcomes).toEqual(['processed', 'duplicate']);
  });
});

describe('negative control', () => {
  it('the same check fails for an executor on the Knex pool instead of the transaction: its row survives the rollback', async () => {
    const db = knex({ client: 'pg', connection: lab.db.url, pool: { min: 0, max: 3 } });
    try {
      const rollBack = new Error('roll back on purpose');
      let ids: string[] = [];
      let same: boolean | undefined;
      const outcome = await db
        .transaction(async (trx) => {
          // Broken on purpose (test code only): knexExecutor's body, run on `db` (the pool) rather than `trx`.
          const onThePool: SqlExecutor = {
            async query(text, values) {
              const { sql, bindings } = toQuestionMarks(text, values);
              const r = (await db.raw(sql, bindings as never)) as { rows: unknown[]; rowCount: number | null };
              return { rows: r.rows, rowCount: r.rowCount };
            },
          };
          same = who((await onThePool.query(WHO)).rows[0]).pid === who((await trx.raw(WHO)).rows[0]).pid;
          ids = await enqueue(onThePool, message('knex-pool'));
          throw rollBack;
        })
        .then(
          () => 'committed',
          (e: unknown) => e,
        );
      expect(outcome).toBe(rollBack);
      expect(same).toBe(false);
      expect((await rowsFor(ids)).map((r) => r.aggregateid)).toEqual(['knex-pool']);
    } finally {
      await db.destroy();
    }
  });
});

describe('adapter edges', () => {
  it('each adapter refuses what is not a transaction, naming the fix', () => {
    for (const make of [() => prismaExecutor({ $queryRawUnsafe: () => {} } as never), () => knexExecutor(undefined as never), () => kyselyExecutor({} as never), () => postgresJsExecutor(undefined as never), () => drizzleExecutor({} as never), () => typeormExecutor({ queryRunner: { isTransactionActive: false } } as never)]) {
      let err: unknown;
      try {
        make();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OutboxError);
      expect((err as OutboxError).hint).toMatch(/transaction/);
    }
  });

  it('Knex: $n placeholders become ? with the values in order of use; a literal ? is escaped', () => {
    expect(toQuestionMarks('select $2::int, $1::text, $2::int, $$?$$', ['a', 2])).toEqual({ sql: 'select ?::int, ?::text, ?::int, $$\\?$$', bindings: [2, 'a', 2] });
  });
});
