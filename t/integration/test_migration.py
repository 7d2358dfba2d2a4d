"""Migration 0008 (services) on a populated database: a scratch database in
the test cluster gets 0001..0007 the way `appointctl migrate` applies them
(lib/store/store_migrate.c: each file in one transaction with its row in
schema_migrations), then providers with and without buffers and
appointments, CONFIRMED and CANCELLED, back to back and overlapping; then
0008. Every appointment becomes a `default` one with its provider's buffers
of that moment, the services table is there and empty, and the new
exclusion constraints keep different sessions apart while seats of one
session share their time. The scratch database is dropped at the end."""

import glob
import json
import os
import subprocess
import uuid

import lib

MIGRATIONS = os.path.join(lib.ROOT, "db", "migrations")
SERVICES = "0008_services.sql"


def psql(db, *pieces, check=True):
    """psql on the scratch database db: pieces are ("-c", sql) or ("-f",
    path) in order, one session, stopping at the first error."""
    cmd = lib.PSQL + ["-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", "\\connect " + db]
    for p in pieces:
        cmd += list(p)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError("psql on %s failed (%d): %s" % (db, r.returncode, r.stderr.strip()))
    return r


def rows(db, query):
    r = psql(db, ("-c", query))
    return [line.split("\t") for line in r.stdout.splitlines() if line != ""]


def apply(db, name):
    """One migration as appointctl applies it: the file and its row in
    schema_migrations in one transaction."""
    psql(db, ("-c", "SET client_min_messages = warning"), ("-c", "BEGIN"),
         ("-f", os.path.join(MIGRATIONS, name)),
         ("-c", "INSERT INTO schema_migrations (version) VALUES (%s)" % lib.q(name)), ("-c", "COMMIT"))


def config(buffers):
    c = {"timezone": "UTC", "appointmentDuration": 30, "slotInterval": 30,
         "weeklySchedule": {"monday": [{"start": "09:00", "end": "17:00"}]},
         "minimumNotice": 0, "bookingHorizonDays": None, "dateOverrides": {}}
    c.update(buffers)
    return c


# Providers (buffers in their config at migration time) and what their
# appointments must get: (before, after).
PROVIDERS = [
    ({"bufferBefore": 10, "bufferAfter": 5}, (10, 5)),
    ({"bufferAfter": 15}, (0, 15)),
    ({"bufferBefore": 0, "bufferAfter": 0}, (0, 0)),
    ({}, (0, 0)),
]

# Each provider's appointments on Monday 2027-03-15 (UTC): three back to
# back, one cancelled overlapping two of them, one cancelled at the same
# time as a confirmed one, one confirmed the next day.
APPOINTMENTS = [
    ("09:00", "09:30", "CONFIRMED"),
    ("09:30", "10:00", "CONFIRMED"),
    ("10:00", "10:30", "CONFIRMED"),
    ("09:15", "09:45", "CANCELLED"),
    ("09:00", "09:30", "CANCELLED"),
    ("2027-03-16 11:00", "2027-03-16 11:45", "CONFIRMED"),
]


def ts(t):
    return "'%s+00'" % (t if " " in t else "2027-03-15 " + t)


def insert(db, provider, start, end, status="CONFIRMED", service=None):
    cols = "id, provider_id, patient_id, start_at, end_at, status, version, created_at, updated_at"
    vals = "gen_random_uuid(), %s, 'p-mig', %s, %s, %s, 1, now(), now()" % (
        lib.q(provider), ts(start), ts(end), lib.q(status))
    if service:
        cols += ", service_id"
        vals += ", " + lib.q(service)
    return psql(db, ("-c", "INSERT INTO appointments (%s) VALUES (%s)" % (cols, vals)), check=False)


def refused(r, constraint):
    assert r.returncode != 0, "the insert was accepted"
    assert constraint in r.stderr and "conflicting key value violates exclusion constraint" in r.stderr, \
        "refused for another reason: %s" % r.stderr.strip()


def test_migration_0008_on_a_populated_database():
    names = sorted(os.path.basename(p) for p in glob.glob(os.path.join(MIGRATIONS, "[0-9][0-9][0-9][0-9]_*.sql")))
    assert SERVICES in names, names
    before = [n for n in names if n < SERVICES]
    assert [n[:4] for n in before] == ["%04d" % i for i in range(1, 8)], before
    db = "appointd_migration_" + uuid.uuid4().hex[:12]
    lib.sql("CREATE DATABASE %s" % db)
    try:
        psql(db, ("-c", "SET client_min_messages = warning"),
             ("-c", "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"))
        for n in before:
            apply(db, n)

        providers, expected = [], {}
        for buffers, want in PROVIDERS:
            pid = str(uuid.uuid4())
            psql(db, ("-c", "INSERT INTO providers (id, config, created_at, updated_at)"
                            " VALUES (%s, %s::jsonb, now(), now())" % (lib.q(pid), lib.q(json.dumps(config(buffers))))))
            providers.append(pid)
            expected[pid] = want
            for start, end, status in APPOINTMENTS:
                r = insert(db, pid, start, end, status)
                assert r.returncode == 0, r.stderr
        total = len(PROVIDERS) * len(APPOINTMENTS)

        apply(db, SERVICES)

        assert [r[0] for r in rows(db, "SELECT version FROM schema_migrations ORDER BY version")] == before + [SERVICES]
        got = rows(db, "SELECT provider_id, service_id, buffer_before, buffer_after, status, count(*)"
                       " FROM appointments GROUP BY 1, 2, 3, 4, 5")
        assert sum(int(r[5]) for r in got) == total, got
        for pid, service, bb, ba, status, n in got:
            assert service == "default", "appointment of %s migrated to service %r" % (pid, service)
            assert (int(bb), int(ba)) == expected[pid], \
                "%s appointments of %s got buffers %s/%s, their provider had %s" % (status, pid, bb, ba, expected[pid])
        assert rows(db, "SELECT count(*) FROM services") == [["0"]]
        constraints = {r[0]: r[1] for r in rows(
            db, "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = 'appointments'::regclass AND contype = 'x'")}
        assert set(constraints) == {"appointments_no_overlap", "appointments_sessions_apart"}, constraints
        assert "service_id WITH <>" in constraints["appointments_no_overlap"], constraints
        assert "start_at WITH <>" in constraints["appointments_sessions_apart"], constraints

        p = providers[3]
        # Another service overlapping a (migrated) default appointment.
        refused(insert(db, p, "09:45", "10:45", service="yoga"), "appointments_no_overlap")
        # Two sessions of one service that overlap, default or not.
        refused(insert(db, p, "09:15", "09:45"), "appointments_sessions_apart")
        r = insert(db, p, "14:00", "15:00", service="yoga")
        assert r.returncode == 0, r.stderr
        refused(insert(db, p, "14:30", "15:30", service="yoga"), "appointments_sessions_apart")
        # Two different services overlapping.
        refused(insert(db, p, "14:30", "15:00", service="pilates"), "appointments_no_overlap")
        # Seats of one session share their time; cancelled rows never count.
        for _ in range(2):
            r = insert(db, p, "16:00", "17:00", service="yoga")
            assert r.returncode == 0, "a second seat of one session was refused: %s" % r.stderr
        r = insert(db, p, "16:30", "17:30", status="CANCELLED", service="pilates")
        assert r.returncode == 0, r.stderr
        assert rows(db, "SELECT count(*) FROM appointments WHERE provider_id = %s AND service_id = 'yoga'"
                        " AND start_at = %s" % (lib.q(p), ts("16:00"))) == [["2"]]
        # A row written after the migration without a service is `default`
        # with no buffers, whatever its provider's.
        r = insert(db, providers[0], "12:00", "12:30")
        assert r.returncode == 0, r.stderr
        assert rows(db, "SELECT service_id, buffer_before, buffer_after FROM appointments"
                        " WHERE provider_id = %s AND start_at = %s" % (lib.q(providers[0]), ts("12:00"))) \
            == [["default", "0", "0"]]
    finally:
        lib.sql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
