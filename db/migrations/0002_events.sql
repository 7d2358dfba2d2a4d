-- 0002_events: the commit-ordered event feed, webhook subscriptions and
-- their deliveries.
--
-- The outbox's bigserial id is handed out at INSERT, not at COMMIT, so a
-- reader could see id 8 committed while id 7 is still in flight and page
-- past it for ever. The feed therefore numbers events only after they are
-- committed: appointd_dispatch() gives the committed, unnumbered rows the
-- next sequence numbers in id order and creates their deliveries, one
-- dispatcher at a time (the feed_head row lock, held to commit). Each
-- dispatch commits a contiguous block after the previous one, so a sequence
-- number is never visible before every smaller one, and numbers are dense.

ALTER TABLE outbox ADD COLUMN seq bigint UNIQUE;
CREATE INDEX outbox_undispatched ON outbox (id) WHERE seq IS NULL;
CREATE INDEX outbox_created ON outbox (created_at);

-- One row: the last sequence number given out. It survives pruning, so
-- numbers never restart.
CREATE TABLE feed_head (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    last_seq bigint NOT NULL
);
INSERT INTO feed_head (last_seq) VALUES (0);

CREATE TABLE webhooks (
    id          uuid PRIMARY KEY,
    url         text NOT NULL,
    event_types text[],              -- NULL: every type, now and future
    description text,
    secret      text NOT NULL,       -- whsec_<base64>; needed to sign, so not hashed
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per (subscription, event). A pending row is leased by the relay
-- delivering it (leased_by = that relay's advisory-lock key, held for the
-- life of its session), so several relays never deliver it twice while
-- alive, and a killed relay's leases are free again the moment its session
-- ends. round_start is the attempts count when the current retry schedule
-- began (a manual retry starts a new one).
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id       uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    outbox_id        bigint NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    seq              bigint NOT NULL,
    aggregate_id     text NOT NULL,
    event_id         uuid NOT NULL,
    event_type       text NOT NULL,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    round_start      integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status_code integer,
    last_error       text,
    delivered_at     timestamptz,
    leased_by        integer,
    leased_until     timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (webhook_id, outbox_id)
);
-- Due order. The predicate's "IS NOT NULL" (always true) keeps this index
-- out of reach of the first-in-line probe, which must use the order index
-- below: with statistics taken while the table was small, the planner once
-- scanned this whole index per candidate row.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, seq)
    WHERE status = 'pending' AND next_attempt_at IS NOT NULL;
-- Per-appointment order: is an earlier delivery of this aggregate pending?
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (webhook_id, aggregate_id, seq)
    WHERE status = 'pending';
-- Leases in flight, per webhook (the per-webhook cap).
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (webhook_id)
    WHERE status = 'pending' AND leased_by IS NOT NULL;
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, seq);
CREATE INDEX webhook_deliveries_outbox ON webhook_deliveries (outbox_id);
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (updated_at)
    WHERE status <> 'pending';

-- Numbers up to max_rows committed events and fans them out to the
-- matching active subscriptions. Returns how many it numbered.
CREATE FUNCTION appointd_dispatch(max_rows integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    base bigint;
    n integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM outbox WHERE seq IS NULL) THEN
        RETURN 0;
    END IF;
    -- The dispatch lock. Each later statement takes a new snapshot, so it
    -- sees everything the previous dispatcher committed.
    SELECT last_seq INTO base FROM feed_head FOR UPDATE;
    WITH picked AS (
        SELECT id, base + row_number() OVER (ORDER BY id) AS s
        FROM (SELECT id FROM outbox WHERE seq IS NULL ORDER BY id LIMIT max_rows) p
    ), numbered AS (
        UPDATE outbox o SET seq = picked.s FROM picked WHERE o.id = picked.id
        RETURNING o.id, o.seq, o.event_id, o.event_type, o.aggregate_id, o.created_at
    ), fanned AS (
        -- A subscription gets the changes made after it was created, however
        -- late the dispatch runs.
        INSERT INTO webhook_deliveries (webhook_id, outbox_id, seq, aggregate_id, event_id,
                                        event_type)
        SELECT w.id, nb.id, nb.seq, nb.aggregate_id, nb.event_id, nb.event_type
        FROM numbered nb
        JOIN webhooks w ON w.active AND nb.created_at >= w.created_at
            AND (w.event_types IS NULL OR nb.event_type = ANY (w.event_types))
        RETURNING 1
    )
    SELECT count(*) INTO n FROM numbered;
    IF n > 0 THEN
        UPDATE feed_head SET last_seq = base + n;
    END IF;
    RETURN n;
END $$;

-- The writing transaction wakes the relays; notifications are sent at
-- commit and collapse within a transaction.
CREATE FUNCTION appointd_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('appointd_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION appointd_outbox_notify();
