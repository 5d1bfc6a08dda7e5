-- Per-key visibility. Until 000002 the relay read only rows below the oldest transaction running anywhere in the
-- cluster, so one forgotten BEGIN — in any database — held back every event. Now every writer holds a shared
-- advisory lock on its row's key bucket until it commits or rolls back (this trigger, so plain INSERTs are
-- covered too), and the relay holds back only the committed rows whose bucket an open transaction still locks:
-- a long transaction delays its own keys (and the few that share their buckets), nothing else.
--
-- The relay now publishes in `position` order per key. For writers that serialise on the aggregate (they hold a
-- lock on it — e.g. they UPDATE its row — when they enqueue) that is commit order: a second writer of the key
-- can only take its position after the first committed.
create function :OUTBOX_KEY_LOCK_FUNCTION() returns trigger language plpgsql as $$
begin
  perform pg_advisory_xact_lock_shared(:OUTBOX_KEY_LOCK_CLASS, :OUTBOX_KEY_LOCK_BUCKET);
  return new;
end
$$;
create trigger :OUTBOX_KEY_LOCK_TRIGGER before insert on :OUTBOX for each row execute function :OUTBOX_KEY_LOCK_FUNCTION();

-- The relay reads in position order now (the unique index on position serves it); the (transaction_id,
-- position) index of 000001 only cost writes.
drop index if exists :OUTBOX_RELAY_ORDER_INDEX_QUALIFIED;
