/** Names the SQL, the relay and the docs share. Changing one means a new migration. */
export const OUTBOX_TABLE = 'outbox';
export const DEAD_LETTER_TABLE = 'outbox_dead_letters';
export const INBOX_TABLE = 'inbox';
export const MIGRATIONS_TABLE = 'outbox_migrations';
/** The NOTIFY channel of the outbox's insert trigger (migration 000001). */
export const OUTBOX_CHANNEL = 'outbox';
