-- 0009_holds_confirmation: holds during checkout, PENDING and DECLINED
-- appointments, attendance.
--
-- Active entries are PENDING and CONFIRMED appointments and live holds. A
-- hold is live while expires_at is in the future and it was neither
-- released nor converted: "live" depends on the clock, so every read and
-- write judges it in its own SQL against the request's time, and no
-- sweeper has to run before a seat frees. For the same reason holds cannot
-- take part in an exclusion constraint (a constraint cannot depend on the
-- time). Every path that opens or joins a session - booking, a hold,
-- reschedule, converting a hold - runs under the provider's row lock and
-- counts the provider's live holds with its appointments; the exclusion
-- constraints keep guarding appointments among themselves.

ALTER TABLE appointments DROP CONSTRAINT appointments_status_check;
ALTER TABLE appointments
    ADD CONSTRAINT appointments_status_check
        CHECK (status IN ('PENDING', 'CONFIRMED', 'CANCELLED', 'DECLINED')),
    ADD COLUMN attendance     text CHECK (attendance IN ('ATTENDED', 'NO_SHOW')),
    ADD COLUMN decline_reason text;

ALTER TABLE appointments DROP CONSTRAINT appointments_no_overlap;
ALTER TABLE appointments DROP CONSTRAINT appointments_sessions_apart;
ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
    provider_id WITH =, service_id WITH <>, tstzrange(start_at, end_at) WITH &&
) WHERE (status IN ('PENDING', 'CONFIRMED'));
ALTER TABLE appointments ADD CONSTRAINT appointments_sessions_apart EXCLUDE USING gist (
    provider_id WITH =, service_id WITH =, start_at WITH <>, tstzrange(start_at, end_at) WITH &&
) WHERE (status IN ('PENDING', 'CONFIRMED'));

CREATE TABLE holds (
    id             uuid PRIMARY KEY,
    api_key_id     uuid,                 -- who made it (NULL: made outside the API)
    provider_id    uuid NOT NULL REFERENCES providers (id),
    service_id     text NOT NULL,
    patient_id     text,
    start_at       timestamptz NOT NULL,
    end_at         timestamptz NOT NULL,
    buffer_before  integer NOT NULL,
    buffer_after   integer NOT NULL,
    expires_at     timestamptz NOT NULL,
    ended_at       timestamptz,          -- released or converted; NULL while it may be live
    appointment_id uuid,                 -- what it was converted into
    created_at     timestamptz NOT NULL,
    CHECK (end_at > start_at)
);
-- The busy read: a provider's holds that may still be live, around an instant.
CREATE INDEX holds_provider_live ON holds USING gist (provider_id, tstzrange(start_at, end_at))
    WHERE ended_at IS NULL;
-- The patient's live holds (at most 10), and the relays' pruning.
CREATE INDEX holds_patient_live ON holds (patient_id, expires_at) WHERE ended_at IS NULL;
CREATE INDEX holds_expires ON holds (expires_at);

-- A provider's row changes whenever its holds do (0007's trigger function),
-- so the workers' caches see a hold made, released or converted; an
-- expiry needs no write: readers compare expires_at with the time.
CREATE TRIGGER holds_rev_insert AFTER INSERT ON holds
    REFERENCING NEW TABLE AS appointd_new
    FOR EACH STATEMENT EXECUTE FUNCTION appointd_appointments_changed();
CREATE TRIGGER holds_rev_update AFTER UPDATE ON holds
    REFERENCING OLD TABLE AS appointd_old NEW TABLE AS appointd_new
    FOR EACH STATEMENT EXECUTE FUNCTION appointd_appointments_changed();
CREATE TRIGGER holds_rev_delete AFTER DELETE ON holds
    REFERENCING OLD TABLE AS appointd_old
    FOR EACH STATEMENT EXECUTE FUNCTION appointd_appointments_changed();
