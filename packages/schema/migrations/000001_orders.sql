-- The order service's tables. Released migrations are never edited: add a new numbered file instead.
create table products (
  id          serial primary key,
  sku         text not null unique,
  name        text not null,
  price_cents integer not null check (price_cents >= 0)
);

create table users (
  id            serial primary key,
  email         text not null unique,
  password_hash text not null,
  created_at    timestamptz not null default now()
);

create table orders (
  id          uuid primary key,
  customer_id text not null,
  status      text not null default 'created',
  total_cents bigint not null check (total_cents >= 0),
  items       jsonb not null,
  strategy    text not null,
  created_at  timestamptz not null default now()
);
create index orders_created_at_idx on orders (created_at);
