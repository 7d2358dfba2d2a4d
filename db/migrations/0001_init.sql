-- 0001_init: providers, appointments, the outbox.
--
-- A provider's whole configuration (weekly intervals, date overrides and
-- every option) is one canonical JSON document in the shape GET returns; the
-- engine decodes it, so the rules live in one place (lib/engine/sched.c).
-- Appointments hold UTC instants. The exclusion constraint backs up the
-- provider-row lock: two CONFIRMED appointments of a provider never overlap,
-- whatever a bug elsewhere does.

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE providers (
    id          uuid PRIMARY KEY,
    config      jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE appointments (
    id                  uuid PRIMARY KEY,
    provider_id         uuid NOT NULL REFERENCES providers (id),
    patient_id          text NOT NULL,
    start_at            timestamptz NOT NULL,
    end_at              timestamptz NOT NULL,
    status              text NOT NULL CHECK (status IN ('CONFIRMED', 'CANCELLED')),
    cancellation_reason text,
    version             integer NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CHECK (end_at > start_at),
    CONSTRAINT appointments_no_overlap EXCLUDE USING gist (
        provider_id WITH =, tstzrange(start_at, end_at) WITH &&
    ) WHERE (status = 'CONFIRMED')
);
CREATE INDEX appointments_provider_start ON appointments (provider_id, start_at, id);
CREATE INDEX appointments_start ON appointments (start_at, id);
CREATE INDEX appointments_patient_start ON appointments (patient_id, start_at, id);

-- The transactional outbox: one row per committed change, written in the
-- change's own transaction. payload is the event envelope's exact bytes.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    event_type   text NOT NULL,
    aggregate_id text NOT NULL,
    payload      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_aggregate ON outbox (aggregate_id, id);
