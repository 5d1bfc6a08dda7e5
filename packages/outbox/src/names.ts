/**
 * The DEFAULT names of the outbox's objects: what migrations, queries, the relay and the docs use when no
 * `OutboxTables` option ({ schema, table }, see tables.ts) says otherwise. tables.ts derives every name from
 * these, so a changed default here would be a new migration and a break for every installed database.
 */
/** Schema of the outbox's tables (option `schema`). */
export const OUTBOX_SCHEMA = 'public';
/** The outbox table (option `table`). */
export const OUTBOX_TABLE = 'outbox';
/** Dead letters of the default table: `<table>_dead_letters`. */
export const DEAD_LETTER_TABLE = 'outbox_dead_letters';
/** The inbox next to the default table (another table name `t` has the inbox `t_inbox`). */
export const INBOX_TABLE = 'inbox';
/** Tracking table of the outbox's own migrations for the default table: `<table>_migrations`. */
export const MIGRATIONS_TABLE = 'outbox_migrations';
/** The NOTIFY channel of the default outbox's insert trigger (migration 000001). */
export const OUTBOX_CHANNEL = 'outbox';
/**
 * Advisory-lock class of the default outbox's key locks (migration 000002): every writer holds
 * pg_advisory_xact_lock_shared(KEY_LOCK_CLASS, bucket of its row's key) until it commits or rolls back, and the
 * relay holds back only the rows whose bucket is locked. Other outboxes derive a class of their own.
 */
export const KEY_LOCK_CLASS = 74_110_012;
/** Keys are locked in this many buckets, so one transaction takes at most this many lock-table entries. */
export const KEY_LOCK_BUCKETS = 1024;
