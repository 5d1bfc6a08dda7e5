/**
 * How each peer's writer inserts its outbox row, shared by the peer's own pipeline (drain backlog, probe rows)
 * and the latency writer child (lib/latency-writer-child.ts loads an inserter from this module by name:
 * InserterSpec { module: INSERTS_MODULE, name, options }), so every contender's latency run commits from the same
 * writer process, on the same clock, as our relay's.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { initializeMessageStorage, type ReplicationListenerConfig, type TransactionalLogger } from 'pg-transactional-outbox';
import type { InserterSpec, RowInserter } from '../lib/latency-ipc.ts';
import { makeRow, type PeerRow } from './common.ts';

export const INSERTS_MODULE = fileURLToPath(import.meta.url);

/** Debezium's outbox layout (the EventRouter's default column names). */
export async function insertDebeziumRows(client: pg.ClientBase, rows: PeerRow[]): Promise<void> {
  await client.query(
    `insert into outbox (id, aggregatetype, aggregateid, type, payload)
     select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::jsonb[])`,
    [rows.map((r) => r.id), rows.map((r) => r.aggregateType), rows.map((r) => r.aggregateId), rows.map((r) => r.type), rows.map((r) => JSON.stringify(r.payload))],
  );
}

/** InserterFactory: one row of Debezium's layout per transaction. */
export function debeziumInserter(): RowInserter {
  return async (client, n, w) => {
    const row = makeRow(n, w.keys, w.payloadBytes);
    await insertDebeziumRows(client, [row]);
    return row.id;
  };
}

export const debeziumInserterSpec = (): InserterSpec => ({ module: INSERTS_MODULE, name: 'debeziumInserter' });

export interface PgtoStorageSettings {
  dbSchema: string;
  dbTable: string;
}

const silent = { fatal: () => {}, error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, trace: () => {}, silent: () => {}, level: 'silent' } as unknown as TransactionalLogger;

/** The package's own storage function (initializeMessageStorage) on `settings`'s table. */
export function pgtoStore(settings: PgtoStorageSettings, logger: TransactionalLogger = silent): (client: pg.ClientBase, rows: PeerRow[]) => Promise<void> {
  const store = initializeMessageStorage({ outboxOrInbox: 'outbox', settings } as unknown as ReplicationListenerConfig, logger);
  return async (client, rows) => {
    for (const r of rows) await store({ id: r.id, aggregateType: r.aggregateType, aggregateId: r.aggregateId, messageType: r.type, payload: r.payload }, client);
  };
}

/** InserterFactory: one message per transaction through pg-transactional-outbox's storage function. */
export function pgtoInserter(options: unknown): RowInserter {
  const store = pgtoStore(options as PgtoStorageSettings);
  return async (client, n, w) => {
    const row = makeRow(n, w.keys, w.payloadBytes);
    await store(client, [row]);
    return row.id;
  };
}

export const pgtoInserterSpec = (settings: PgtoStorageSettings): InserterSpec => ({ module: INSERTS_MODULE, name: 'pgtoInserter', options: settings });
