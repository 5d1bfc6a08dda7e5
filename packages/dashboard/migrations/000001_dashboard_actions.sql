-- The dashboard's audit record: who replayed or discarded which dead letter (or ran which panel action), when,
-- and how it ended. Released migrations are never edited: add a new numbered file instead.
-- :DASHBOARD_ACTIONS is "<schema>"."<table>_dashboard_actions" (public.outbox_dashboard_actions by default).
create table :DASHBOARD_ACTIONS (
  id             bigserial primary key,
  at             timestamptz not null default now(),
  actor          text not null,
  action         text not null,
  target         text not null,
  aggregatetype  text,
  aggregateid    text,
  type           text,
  outcome        text not null check (outcome in ('done', 'failed')),
  detail         jsonb not null default '{}'::jsonb
);
create index :DASHBOARD_ACTIONS_AT_INDEX on :DASHBOARD_ACTIONS (at desc, id desc);
