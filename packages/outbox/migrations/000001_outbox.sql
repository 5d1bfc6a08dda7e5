-- The Transactional Outbox. Released migrations are never edited: add a new numbered file instead.
--
-- `outbox` keeps the row contract of Debezium's outbox event router (id, aggregatetype, aggregateid, type,
-- payload), so the same table can be read by Debezium instead of @dual-write/relay, plus what the relay needs:
--   position        a strictly increasing number (insert order), the key of the relay's delete
--   transaction_id  the writing transaction's id (xid8, never wraps); the relay only reads rows whose transaction
--                   id is below the oldest transaction still running, so a row committed late is never skipped
--   attempts, last_error, next_attempt_at   bookkeeping for messages Kafka refuses (poison messages)
-- Rows are deleted once Kafka has acknowledged them, so the table stays small.
create table :OUTBOX (
  id              uuid primary key,
  aggregatetype   text not null check (aggregatetype <> ''),
  aggregateid     text not null check (aggregateid <> ''),
  type            text not null check (type <> ''),
  payload         jsonb not null,
  headers         jsonb not null default '{}'::jsonb check (jsonb_typeof(headers) = 'object'),
  created_at      timestamptz not null default now(),
  position        bigserial not null unique,
  transaction_id  xid8 not null default pg_current_xact_id(),
  attempts        integer not null default 0,
  last_error      text,
  next_attempt_at timestamptz
);

-- The relay's read: committed rows in (transaction_id, position) order.
create index :OUTBOX_RELAY_ORDER_INDEX on :OUTBOX (transaction_id, position);
-- The relay's "is this key parked behind a failing message?" probe: only failing rows are indexed.
create index :OUTBOX_FAILING_KEY_INDEX on :OUTBOX (aggregatetype, aggregateid) where next_attempt_at is not null;

-- Wake the relays when rows are committed: NOTIFY is delivered at commit (never for a rollback), and one
-- notification per statement (same channel and payload within a transaction are folded into one).
create function :OUTBOX_NOTIFY_FUNCTION() returns trigger language plpgsql as $$
begin
  perform pg_notify(:OUTBOX_NOTIFY_CHANNEL, '');
  return null;
end
$$;
create trigger :OUTBOX_NOTIFY_TRIGGER after insert on :OUTBOX for each statement execute function :OUTBOX_NOTIFY_FUNCTION();

-- Messages Kafka refused `maxAttempts` times, with the error. While a key has a dead letter, its later
-- messages stay in the outbox (strict per-key order) until the dead letter is replayed or discarded.
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

-- Consumers' de-duplication: one row per (consumer, event id) handled, written in the same transaction as
-- the consumer's effect.
create table :OUTBOX_INBOX (
  consumer     text not null,
  event_id     uuid not null,
  processed_at timestamptz not null default now(),
  primary key (consumer, event_id)
);
