-- Adopts an existing Debezium outbox table (Debezium's minimal layout: id, aggregatetype, aggregateid, type,
-- payload) in place of migration 000001: the same columns, indexes, trigger, dead letters and inbox that 000001
-- creates, added to the table the writers already use. New columns have defaults, so writers that insert only
-- Debezium's columns go on unchanged. migrateOutbox(client, { adoptExistingTable: true }) runs this once, records
-- 000001 as applied and applies 000002… as usual. (000001 itself is released and never edited: this file repeats
-- what it creates besides the table.)
alter table :OUTBOX
  add column if not exists headers jsonb not null default '{}'::jsonb check (jsonb_typeof(headers) = 'object'),
  add column if not exists created_at timestamptz not null default now(),
  add column if not exists position bigserial not null unique,
  add column if not exists transaction_id xid8 not null default pg_current_xact_id(),
  add column if not exists attempts integer not null default 0,
  add column if not exists last_error text,
  add column if not exists next_attempt_at timestamptz;

create index :OUTBOX_RELAY_ORDER_INDEX on :OUTBOX (transaction_id, position);
create index :OUTBOX_FAILING_KEY_INDEX on :OUTBOX (aggregatetype, aggregateid) where next_attempt_at is not null;

create function :OUTBOX_NOTIFY_FUNCTION() returns trigger language plpgsql as $$
begin
  perform pg_notify(:OUTBOX_NOTIFY_CHANNEL, '');
  return null;
end
$$;
create trigger :OUTBOX_NOTIFY_TRIGGER after insert on :OUTBOX for each statement execute function :OUTBOX_NOTIFY_FUNCTION();

create table :OUTBOX_DEAD_LETTERS (
  id             uuid primary key,
  aggregatetype  text not null,
  aggregateid    text not null,
  type           text not null,
  payload        jsonb not null,
  headers        jsonb not null,
  created_at     timestamptz not null,
  position       bigint not null,
  transaction_id xid8 not null,
  attempts       integer not null,
  error          text not null,
  failed_at      timestamptz not null default now()
);
create index :OUTBOX_DEAD_LETTERS_KEY_INDEX on :OUTBOX_DEAD_LETTERS (aggregatetype, aggregateid);

create table :OUTBOX_INBOX (
  consumer     text not null,
  event_id     uuid not null,
  processed_at timestamptz not null default now(),
  primary key (consumer, event_id)
);
