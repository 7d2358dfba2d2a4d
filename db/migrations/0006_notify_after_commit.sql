-- 0006_notify_after_commit: take the relays' wake-up off the commit path.
--
-- A NOTIFY takes a lock global to the cluster at commit and holds it until
-- the commit record is flushed, so while every write notified from inside
-- its own transaction (0002's trigger), no two writes anywhere could commit
-- together: bookings ran at one fsync each, one after another.
--
-- appointd's own sessions (lib/store/store.c) set appointd.notify_after_commit
-- and, once a transaction that wrote to the outbox has committed, notify in
-- a transaction of their own that does not wait for its flush (a lost
-- wake-up costs only the relays' poll interval; the events themselves are
-- committed and durable). Any other writer, psql included, still notifies
-- through the trigger.
CREATE OR REPLACE FUNCTION appointd_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('appointd.notify_after_commit', true), '') <> 'on' THEN
        PERFORM pg_notify('appointd_outbox', '');
    END IF;
    RETURN NULL;
END $$;
