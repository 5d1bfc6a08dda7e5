/** The `{ schema, table }` options: validation, derived names, and the migration placeholders (no database). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  INBOX_TABLE, OUTBOX_SCHEMA, OUTBOX_TABLE,
  OutboxError, discardDeadLetter, enqueue, listDeadLetters, loadOutboxMigrations, migrateOutbox, outboxTables, processOnce, replayDeadLetter,
  type SqlExecutor,
} from '../src/index.ts';
import { DEAD_LETTER_TABLE, MIGRATIONS_TABLE, OUTBOX_CHANNEL } from '../src/names.ts';
import { OUTBOX_MIGRATIONS_DIR } from '../src/migrate.ts';
import { MAX_TABLE_NAME_LENGTH } from '../src/tables.ts';

/** sha256 of migrations/000001_outbox.sql as released (before placeholders): what migrated databases recorded. */
const RELEASED_000001_CHECKSUM = '752e9ff519548e018b1d9305dbe532cee1f1d30821c1a0c7f546b18947948424';

function error(fn: () => unknown): OutboxError {
  try {
    fn();
  } catch (e) {
    return e as OutboxError;
  }
  throw new Error('expected an error');
}

describe('outboxTables(): the names of one outbox', () => {
  it('defaults to public.outbox with the names of names.ts (the ones migration 000001 always used)', () => {
    const t = outboxTables();
    expect(t).toMatchObject({
      schema: OUTBOX_SCHEMA, table: OUTBOX_TABLE, isDefault: true,
      outbox: '"public"."outbox"', deadLetters: '"public"."outbox_dead_letters"', inbox: '"public"."inbox"', migrations: '"public"."outbox_migrations"',
      channel: OUTBOX_CHANNEL, channelIdent: '"outbox"',
    });
    expect([t.names.deadLetters, t.names.inbox, t.names.migrations]).toEqual([DEAD_LETTER_TABLE, INBOX_TABLE, MIGRATIONS_TABLE]);
    expect(outboxTables({ schema: 'public', table: 'outbox' })).toBe(t); // cached
  });

  it('derives every name from schema and table; the channel is per schema and table', () => {
    const t = outboxTables({ schema: 'billing_events', table: 'events_outbox' });
    expect(t).toMatchObject({
      isDefault: false,
      outbox: '"billing_events"."events_outbox"',
      deadLetters: '"billing_events"."events_outbox_dead_letters"',
      inbox: '"billing_events"."events_outbox_inbox"',
      migrations: '"billing_events"."events_outbox_migrations"',
      channel: 'billing_events.events_outbox',
      channelIdent: '"billing_events.events_outbox"',
    });
    expect(outboxTables({ schema: 'billing_events' })).toMatchObject({ outbox: '"billing_events"."outbox"', inbox: '"billing_events"."inbox"', channel: 'billing_events.outbox' });
    expect(outboxTables({ table: 'events_outbox' })).toMatchObject({ outbox: '"public"."events_outbox"', channel: 'events_outbox' });
    // Reserved words are fine: every name is quoted.
    expect(outboxTables({ schema: 'order', table: 'select' }).outbox).toBe('"order"."select"');
    // Channels never exceed PostgreSQL's 63 bytes, and stay distinct.
    const long = 's'.repeat(63);
    const [a, b] = [outboxTables({ schema: long, table: 'a'.repeat(42) }), outboxTables({ schema: long, table: `${'a'.repeat(41)}b` })];
    expect(a.channel.length).toBeLessThanOrEqual(63);
    expect(a.channel).not.toBe(b.channel);
  });

  it.each([
    ['schema', { schema: 'Billing' }],
    ['schema', { schema: 'billing-events' }],
    ['schema', { schema: '1st' }],
    ['schema', { schema: '' }],
    ['schema', { schema: 'a'.repeat(64) }],
    ['schema', { schema: 'pg_outbox' }],
    ['schema', { schema: 'x"; drop table outbox; --' }],
    ['schema', { schema: 42 as unknown as string }],
    ['table', { table: 'Outbox' }],
    ['table', { table: 'events.outbox' }],
    ['table', { table: 'a'.repeat(MAX_TABLE_NAME_LENGTH + 1) }],
  ])('refuses %s in %j: DW_OUTBOX_INVALID_OPTION naming the option and the fix', (option, opts) => {
    const err = error(() => outboxTables(opts, 'enqueue()'));
    expect(err).toBeInstanceOf(OutboxError);
    expect(err.code).toBe('DW_OUTBOX_INVALID_OPTION');
    expect(err.message).toMatch(new RegExp(`^enqueue\\(\\) option ${option} = .* is not valid: expected a plain lowercase SQL identifier`));
    expect(err.hint).toContain(`Pass ${option} as lowercase letters, digits and underscores`);
    expect(err.details).toMatchObject({ option });
  });

  it('accepts the longest names that still fit', () => {
    expect(outboxTables({ schema: 'a'.repeat(63), table: 'b'.repeat(MAX_TABLE_NAME_LENGTH) }).names.deadLettersKeyIndex).toHaveLength(63);
  });

  it('every function checks the names before it touches the database', async () => {
    const untouched: SqlExecutor = { query: () => Promise.reject(new Error('must not be called')) };
    const id = '11111111-2222-4333-8444-555555555555';
    const bad = { schema: 'Bad' };
    const calls: [string, () => Promise<unknown>][] = [
      ['migrateOutbox()', () => migrateOutbox(untouched, bad)],
      ['enqueue()', () => enqueue(untouched, { aggregateType: 'a', aggregateId: 'b', type: 'c', payload: 1 }, bad)],
      ['processOnce()', () => processOnce(untouched, { consumer: 'c', eventId: id }, () => {}, bad)],
      ['listDeadLetters()', () => listDeadLetters(untouched, bad)],
      ['replayDeadLetter()', () => replayDeadLetter(untouched, id, bad)],
      ['discardDeadLetter()', () => discardDeadLetter(untouched, id, bad)],
    ];
    for (const [name, call] of calls) {
      const err = (await call().catch((e: unknown) => e)) as OutboxError;
      expect([err.code, err.message.startsWith(`${name} option schema = "Bad"`)]).toEqual(['DW_OUTBOX_INVALID_OPTION', true]);
    }
  });
});

describe('migration placeholders', () => {
  it('000001 keeps its released checksum, in every schema: it is taken with the default names in place of the placeholders', () => {
    const file = readFileSync(path.join(OUTBOX_MIGRATIONS_DIR, '000001_outbox.sql'), 'utf8');
    expect(file).toContain('create table :OUTBOX (');
    const [byDefault] = loadOutboxMigrations();
    const [elsewhere] = loadOutboxMigrations(undefined, { schema: 'billing_events', table: 'events_outbox' });
    expect(byDefault!.checksum).toBe(RELEASED_000001_CHECKSUM);
    expect(elsewhere!.checksum).toBe(RELEASED_000001_CHECKSUM);
    // What runs: quoted, qualified names; no placeholder left.
    expect(byDefault!.sql).toContain('create table "public"."outbox" (');
    expect(byDefault!.sql).toContain("perform pg_notify('outbox', '');");
    expect(elsewhere!.sql).toContain('create table "billing_events"."events_outbox" (');
    expect(elsewhere!.sql).toContain('create trigger "events_outbox_notify" after insert on "billing_events"."events_outbox" for each statement execute function "billing_events"."events_outbox_notify"();');
    expect(elsewhere!.sql).toContain("perform pg_notify('billing_events.events_outbox', '');");
    expect(elsewhere!.sql).toContain('create table "billing_events"."events_outbox_inbox" (');
    for (const m of [byDefault!, elsewhere!]) expect(m.sql).not.toMatch(/(?<![:\w]):[A-Z]/);
  });

  it('an unknown placeholder is an error; casts (::TEXT) and a file without placeholders are left alone', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'outbox-placeholders-'));
    writeFileSync(path.join(dir, '000001_a.sql'), "select 'x'::TEXT, 1 from :OUTBOX;");
    expect(loadOutboxMigrations(dir, { schema: 's' })[0]!.sql).toBe(`select 'x'::TEXT, 1 from "s"."outbox";`);
    writeFileSync(path.join(dir, '000002_b.sql'), 'create table :OUTBOX_TYPO (id int);');
    const err = error(() => loadOutboxMigrations(dir));
    expect([err.code, err.message]).toEqual(['DW_OUTBOX_INVALID_OPTION', 'Outbox migration 000002_b.sql uses the unknown placeholder :OUTBOX_TYPO.']);
  });
});
