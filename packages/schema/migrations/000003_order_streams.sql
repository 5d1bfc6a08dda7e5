-- Orders are streams of events: OrderCreated (sequence 1), OrderPaid (2), OrderShipped (3), all on the order's key.
-- A step locks its order row (SELECT … FOR UPDATE), bumps `version` and writes its outbox row in one transaction,
-- so `version` is the sequence of the last event written for the order.
alter table orders add column version integer not null default 1 check (version >= 1);

-- What each downstream consumer applied from an order's stream, one row per event it applied, in the order it applied
-- them (a redelivered event is absorbed by the inbox and adds no row). `in_sequence` is false when an event was applied
-- out of its stream's order: its sequence is not the previous applied one + 1.
create table order_stream_applied (
  id                bigserial primary key,
  consumer          text not null,
  order_id          uuid not null,
  event_id          uuid not null,
  event_type        text not null,
  sequence          integer not null,
  previous_sequence integer not null,
  in_sequence       boolean not null,
  kafka_topic       text not null,
  kafka_partition   integer not null,
  kafka_offset      bigint not null,
  created_at        timestamptz not null default now()
);
create index order_stream_applied_order_idx on order_stream_applied (consumer, order_id, id);
