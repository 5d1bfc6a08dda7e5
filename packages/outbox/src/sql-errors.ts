/** Turns the PostgreSQL errors a user can fix into OutboxErrors with a hint; anything else passes through. */
import { OutboxError } from './errors.ts';
import type { ResolvedOutboxTables } from './tables.ts';

/** SQLSTATE of an error from pg or Sequelize (which keeps pg's error as `parent`/`original`). */
export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: unknown; parent?: { code?: unknown }; original?: { code?: unknown } } | undefined;
  const code = e?.code ?? e?.parent?.code ?? e?.original?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `tables`: the outbox the failed statement used, named in the error. */
export function withOutboxHint(err: unknown, tables?: ResolvedOutboxTables): unknown {
  const state = sqlState(err);
  if (state === '42P01') {
    const which = tables && !tables.isDefault ? ` (schema ${tables.schema}, table ${tables.table})` : '';
    const options = tables && !tables.isDefault ? `, { schema: ${JSON.stringify(tables.schema)}, table: ${JSON.stringify(tables.table)} }` : '';
    return new OutboxError(
      'DW_OUTBOX_NOT_MIGRATED',
      `The outbox tables${which} do not exist in this database (${(err as Error).message}).`,
      `Run migrateOutbox(client${options}) once at start-up (it is safe to run from several processes at once), and pass the same { schema, table } everywhere.`,
      tables ? { schema: tables.schema, table: tables.table } : undefined,
      { cause: err },
    );
  }
  if (state === '23505') {
    return new OutboxError('DW_OUTBOX_INVALID_MESSAGE', `An outbox message with this event id already exists (${(err as Error).message}).`, 'Event ids must be unique: leave id out, or use a fresh UUID per event.', undefined, { cause: err });
  }
  return err;
}
