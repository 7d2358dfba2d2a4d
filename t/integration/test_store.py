"""The store's round trips: BEGIN goes with a transaction's first statement
and the writes whose result is not needed (the appointment's insert or
update, its outbox row) go with the COMMIT, in one libpq pipeline. A write
that fails there answers the request with its own error and changes
nothing; a session lost before a transaction started is replaced without
the client noticing; versions counted by the worker match the stored ones."""

import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import lib
from lib import book, book_ok, cancel, check_error, expect, future_date, get, reschedule


class FailingWrites:
    """A trigger that makes inserts or updates of `table` fail with SQLSTATE
    `errcode` while the SQL condition `when` (on NEW) holds: a write the
    worker cannot check before it sends it."""
    def __init__(self, table, when, errcode="55P03"):
        self.name = "appointd_test_fail_" + table
        self.table, self.when, self.errcode = table, when, errcode

    def __enter__(self):
        lib.sql("CREATE OR REPLACE FUNCTION %s() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " RAISE EXCEPTION 'test: write refused' USING ERRCODE = '%s'; END $$;"
                " CREATE TRIGGER %s BEFORE INSERT OR UPDATE ON %s FOR EACH ROW WHEN (%s)"
                " EXECUTE FUNCTION %s()"
                % (self.name, self.errcode, self.name, self.table, self.when, self.name))
        return self

    def __exit__(self, *exc):
        lib.sql("DROP TRIGGER IF EXISTS %s ON %s; DROP FUNCTION IF EXISTS %s()"
                % (self.name, self.table, self.name))


def at(d, hhmm):
    return "%sT%s:00.000Z" % (d, hhmm)


def appt_rows(patient):
    return lib.sql("SELECT id, status, version, start_at FROM appointments WHERE patient_id = %s"
                   % lib.q(patient))


def get_appt(aid):
    return expect(get("/api/appointments/%s" % aid), 200)


def provider():
    return lib.make_provider("UTC", weeklySchedule=lib.all_days("09:00", "17:00"))


def test_outbox_insert_failing_at_commit_books_nothing():
    pid, d = provider(), future_date(days=3)
    marked = "p-refused-" + lib.uuid4()
    with FailingWrites("outbox", "NEW.payload LIKE '%%%s%%'" % marked):
        check_error(book(pid, at(d, "10:00"), marked), 503, "SERVICE_UNAVAILABLE")
    assert appt_rows(marked) == []
    assert lib.sql_value("SELECT count(*) FROM outbox WHERE payload LIKE %s"
                         % lib.q("%" + marked + "%")) == "0"
    # the slot is still free, and the worker's session is usable (not left in a failed transaction)
    with ThreadPoolExecutor(16) as ex:
        assert all(r.status == 200 for r in ex.map(lambda _: get("/health", auth=False), range(32)))
    a = book_ok(pid, at(d, "10:00"))
    assert len(lib.outbox(a["appointmentId"])) == 1


def test_update_failing_at_commit_changes_nothing():
    pid, d = provider(), future_date(days=3)
    patient = "p-kept-" + lib.uuid4()
    a = book_ok(pid, at(d, "10:00"), patient)
    aid = a["appointmentId"]
    with FailingWrites("appointments", "NEW.patient_id = %s" % lib.q(patient)):
        check_error(reschedule(aid, at(d, "11:00")), 503, "SERVICE_UNAVAILABLE")
        check_error(cancel(aid), 503, "SERVICE_UNAVAILABLE")
    g = get_appt(aid)
    assert (g["status"], g["version"], g["startTime"]) == ("CONFIRMED", 1, at(d, "10:00")), g
    assert len(lib.outbox(aid)) == 1
    # 11:00 was not taken by the failed reschedule
    expect(reschedule(aid, at(d, "11:00")), 200)
    expect(book(pid, at(d, "10:00")), 201)
    assert len(lib.outbox(aid)) == 2


def test_versions_answered_are_the_stored_ones():
    pid, d = provider(), future_date(days=3)
    a = book_ok(pid, at(d, "10:00"))
    aid = a["appointmentId"]
    r1 = expect(reschedule(aid, at(d, "11:00")), 200)
    assert r1["version"] == get_appt(aid)["version"] == 2, r1
    r2 = expect(reschedule(aid, at(d, "11:00")), 200)  # no change: no new version
    assert r2["version"] == get_appt(aid)["version"] == 2, r2
    expect(cancel(aid), 200)
    stored = lib.sql_value("SELECT version FROM appointments WHERE id = %s" % lib.q(aid))
    assert get_appt(aid)["version"] == int(stored) == 3, stored
    r4 = expect(reschedule(aid, at(d, "12:00")), 400)  # cancelled: refused, nothing written
    assert get_appt(aid)["version"] == 3, r4


def test_idempotent_request_stores_the_failure_of_its_own_writes():
    """The handler's commit sends its writes, so their error is the handler's
    and is stored as its answer (the contract replays a 5xx), not the error
    of storing the answer (which would leave nothing stored)."""
    pid, d = provider(), future_date(days=3)
    marked = "p-refused-" + lib.uuid4()
    key = {"Idempotency-Key": lib.uuid4()}
    with FailingWrites("outbox", "NEW.payload LIKE '%%%s%%'" % marked):
        check_error(book(pid, at(d, "12:00"), marked, headers=key), 503, "SERVICE_UNAVAILABLE")
    r = book(pid, at(d, "12:00"), marked, headers=key)
    check_error(r, 503, "SERVICE_UNAVAILABLE")
    assert r.headers.get("idempotent-replayed") == "true", r.headers
    assert appt_rows(marked) == []


def test_exclusion_constraint_in_the_commit_round_trip_is_409():
    """A confirmed appointment written by another path (psql, not taking the
    provider's lock) that the booking's check could not see yet: the
    booking's insert, sent with its COMMIT, waits for it and fails on the
    exclusion constraint: 409, and no event."""
    pid, d = provider(), future_date(days=3)
    other = lib.uuid4()
    psql = subprocess.Popen(
        lib.PSQL + ["-X", "-q", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        psql.stdin.write("BEGIN;\nINSERT INTO appointments (id, provider_id, patient_id, start_at,"
                         " end_at, status, version, created_at, updated_at) VALUES (%s, %s,"
                         " 'p-psql', %s, %s::timestamptz + interval '30 minutes', 'CONFIRMED', 1,"
                         " now(), now());\n\\echo inserted\n"
                         % (lib.q(other), lib.q(pid), lib.q(at(d, "14:00")), lib.q(at(d, "14:00"))))
        psql.stdin.flush()
        assert psql.stdout.readline().strip() == "inserted"
        out = {}
        t = threading.Thread(target=lambda: out.update(r=book(pid, at(d, "14:00"), "p-late")))
        t.start()
        time.sleep(0.5)  # the booking waits on the uncommitted row
        assert t.is_alive(), out
        psql.stdin.write("COMMIT;\n")
        psql.stdin.close()
        t.join(15)
        assert psql.wait(15) == 0, psql.stderr.read()
    finally:
        if psql.poll() is None:
            psql.kill()
    check_error(out["r"], 409, "CONFLICT")
    assert appt_rows("p-late") == []
    assert lib.sql_value("SELECT count(*) FROM appointments WHERE provider_id = %s" % lib.q(pid)) == "1"
    assert lib.sql_value("SELECT count(*) FROM outbox WHERE payload LIKE '%%p-late%%'") == "0"


def test_sessions_lost_between_requests_are_replaced_unnoticed():
    """The first statement of a transaction carries its BEGIN: when it finds
    the session gone, nothing of the transaction ran, so it runs again on a
    new one and every request succeeds with exactly one event."""
    pid, d = provider(), future_date(days=3)
    done = []
    for i, hhmm in enumerate(("09:00", "09:30", "10:00", "10:30")):
        lib.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'appointd' AND pid <> pg_backend_pid()")
        a = book_ok(pid, at(d, hhmm))
        lib.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'appointd' AND pid <> pg_backend_pid()")
        expect(reschedule(a["appointmentId"], at(d, "1%d:00" % (i + 3))), 200)
        lib.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = 'appointd' AND pid <> pg_backend_pid()")
        expect(cancel(a["appointmentId"]), 200)
        done.append(a["appointmentId"])
    for aid in done:
        assert [e["event_type"] for e in lib.outbox(aid)] == \
            ["APPOINTMENT_CONFIRMED", "APPOINTMENT_RESCHEDULED", "APPOINTMENT_CANCELLED"], aid
