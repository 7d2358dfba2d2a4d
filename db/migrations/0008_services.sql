-- 0008_services: services (appointment types), and appointments that keep
-- the service, duration and buffers they were booked with.
--
-- A service row holds the PUT body's canonical JSON (every field, the
-- inheriting ones null) the way providers.config holds the schedule; the
-- service `default` has no row: it is made of the provider's schedule.
-- Retiring a service keeps its row (active = false).
--
-- An appointment's session is (provider, service, start): seats of one
-- session share their time, and two different sessions of a provider never
-- overlap. The two exclusion constraints say so for what the database can
-- see without the buffers (the full rule, buffers, capacity and limits, is
-- checked under the provider row lock): two active appointments of
-- different services never overlap, and two of one service overlap only
-- when they start together. Existing rows become `default` appointments
-- with the buffers of their provider's configuration at migration time.

-- Building the two GiST constraints dominates on a large table (10^6
-- appointments: about 85 s of 113 s with the default 64MB, 65 s with this).
SET LOCAL maintenance_work_mem = '512MB';

CREATE TABLE services (
    provider_id uuid NOT NULL REFERENCES providers (id),
    service_id  text NOT NULL CHECK (service_id ~ '^[a-z0-9][a-z0-9-]{0,62}$'
                                     AND service_id <> 'default'),
    config      jsonb NOT NULL,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (provider_id, service_id)
);

-- Without a rewrite of the table: a constant default is stored once.
ALTER TABLE appointments
    ADD COLUMN service_id    text    NOT NULL DEFAULT 'default'
        CHECK (service_id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    ADD COLUMN buffer_before integer NOT NULL DEFAULT 0 CHECK (buffer_before BETWEEN 0 AND 1440),
    ADD COLUMN buffer_after  integer NOT NULL DEFAULT 0 CHECK (buffer_after BETWEEN 0 AND 1440);

-- Only the appointments of providers with buffers are written.
UPDATE appointments a
SET buffer_before = coalesce((p.config->>'bufferBefore')::integer, 0),
    buffer_after  = coalesce((p.config->>'bufferAfter')::integer, 0)
FROM providers p
WHERE p.id = a.provider_id
  AND (coalesce((p.config->>'bufferBefore')::integer, 0) <> 0
       OR coalesce((p.config->>'bufferAfter')::integer, 0) <> 0);

ALTER TABLE appointments DROP CONSTRAINT appointments_no_overlap;
ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
    provider_id WITH =, service_id WITH <>, tstzrange(start_at, end_at) WITH &&
) WHERE (status = 'CONFIRMED');
ALTER TABLE appointments ADD CONSTRAINT appointments_sessions_apart EXCLUDE USING gist (
    provider_id WITH =, service_id WITH =, start_at WITH <>, tstzrange(start_at, end_at) WITH &&
) WHERE (status = 'CONFIRMED');

-- A provider's row changes whenever its services do, as it does for its
-- appointments (0007, whose trigger function serves both tables): the
-- workers' caches are keyed by that version.
CREATE TRIGGER services_rev_insert AFTER INSERT ON services
    REFERENCING NEW TABLE AS appointd_new
    FOR EACH STATEMENT EXECUTE FUNCTION appointd_appointments_changed();
CREATE TRIGGER services_rev_update AFTER UPDATE ON services
    REFERENCING OLD TABLE AS appointd_old NEW TABLE AS appointd_new
    FOR EACH STATEMENT EXECUTE FUNCTION appointd_appointments_changed();
CREATE TRIGGER services_rev_delete AFTER DELETE ON services
    REFERENCING OLD TABLE AS appointd_old
    FOR EACH STATEMENT EXECUTE FUNCTION appointd_appointments_changed();
CREATE TRIGGER services_rev_truncate AFTER TRUNCATE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION appointd_appointments_changed();
