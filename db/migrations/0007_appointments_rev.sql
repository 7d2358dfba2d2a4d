-- 0007_appointments_rev: a provider's row changes whenever its appointments do.
--
-- Pool workers keep each provider's decoded configuration and confirmed
-- appointments, keyed by the provider row's version (its xmin), and an
-- availability read asks PostgreSQL only for that version while it is
-- unchanged (lib/api/api_providers.c). So that every change of a
-- provider's appointments, by appointd or by anyone else (psql included),
-- gives the provider's row a new version, these triggers bump
-- providers.appointments_rev once per statement for each provider whose
-- appointments the statement inserted, updated or deleted (a bulk load of
-- a million rows costs one update per provider, not one per row). The
-- update takes the provider row's lock, as booking and rescheduling do
-- before they touch an appointment; cancelling takes it first too.
ALTER TABLE providers ADD COLUMN appointments_rev bigint NOT NULL DEFAULT 0;

-- One function for the four triggers: each names only the transition
-- tables its event has, and only its branch reads them.
CREATE FUNCTION appointd_appointments_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE providers SET appointments_rev = appointments_rev + 1
        WHERE id IN (SELECT provider_id FROM appointd_new);
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE providers SET appointments_rev = appointments_rev + 1
        WHERE id IN (SELECT provider_id FROM appointd_new UNION SELECT provider_id FROM appointd_old);
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE providers SET appointments_rev = appointments_rev + 1
        WHERE id IN (SELECT provider_id FROM appointd_old);
    ELSE -- TRUNCATE
        UPDATE providers SET appointments_rev = appointments_rev + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER appointments_rev_insert AFTER INSERT ON appointments
    REFERENCING NEW TABLE AS appointd_new
    FOR EACH STATEMENT EXECUTE FUNCTION appointd_appointments_changed();
CREATE TRIGGER appointments_rev_update AFTER UPDATE ON appointments
    REFERENCING OLD TABLE AS appointd_old NEW TABLE AS appointd_new
    FOR EACH STATEMENT EXECUTE FUNCTION appointd_appointments_changed();
CREATE TRIGGER appointments_rev_delete AFTER DELETE ON appointments
    REFERENCING OLD TABLE AS appointd_old
    FOR EACH STATEMENT EXECUTE FUNCTION appointd_appointments_changed();
CREATE TRIGGER appointments_rev_truncate AFTER TRUNCATE ON appointments
    FOR EACH STATEMENT EXECUTE FUNCTION appointd_appointments_changed();
