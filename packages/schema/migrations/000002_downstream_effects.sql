-- What the downstream consumers did. One row per message handled, on purpose without a unique key:
-- a redelivered message shows up as a second row, so an audit can count double effects.
create table shipments (
  id              bigserial primary key,
  order_id        uuid not null,
  event_id        uuid,
  outcome         text not null check (outcome in ('shipped', 'ghost')),
  callback_status integer not null,
  kafka_topic     text not null,
  kafka_partition integer not null,
  kafka_offset    bigint not null,
  created_at      timestamptz not null default now()
);
create index shipments_order_id_idx on shipments (order_id);

create table invoices (
  id              bigserial primary key,
  order_id        uuid not null,
  event_id        uuid,
  outcome         text not null check (outcome in ('invoiced', 'ghost')),
  amount_cents    bigint,
  callback_status integer not null,
  kafka_topic     text not null,
  kafka_partition integer not null,
  kafka_offset    bigint not null,
  created_at      timestamptz not null default now()
);
create index invoices_order_id_idx on invoices (order_id);
