"""Races on holds: clients released together behind a barrier, then the
database checked in SQL and the API asked. 64 holds on a 1-seat slot; holds
and bookings for a 3-seat session; converting a live hold while 64 others
book its slot (20 rounds); a hold expiring in the middle of a storm of
bookings of its slot."""

import collections
import datetime as dt
import threading
import time

from lib import delete, expect, future_date, get, iso_z, local_dt, make_provider, minutes, q, sql, sql_value
from test_concurrency import race, summarize
from test_holds import convert, hold, held
from test_service_booking import book_svc, offered, service


def live_holds(pid, now_sql="now()"):
    return int(sql_value("SELECT count(*) FROM holds WHERE provider_id = %s AND ended_at IS NULL "
                         "AND expires_at > %s" % (q(pid), now_sql)))


def active_appts(pid):
    return sql("SELECT id::text, service_id, extract(epoch FROM start_at)::bigint FROM appointments "
               "WHERE provider_id = %s AND status IN ('PENDING', 'CONFIRMED')" % q(pid))


def test_64_holds_on_a_one_seat_slot():
    pid = make_provider("UTC")
    d = future_date()
    st = local_dt("UTC", d, "10:00")
    results = race(64, lambda i: hold(pid, st, patient_id="race-%d" % i, timeout=60))
    s = summarize(results)
    assert s.get(201) == 1 and s.get(409) == 63, s
    won = [r.json["holdId"] for r in results if r.status == 201]
    rows = sql("SELECT id::text FROM holds WHERE provider_id = %s" % q(pid))
    assert [r[0] for r in rows] == won, (rows, won)
    assert iso_z(st) not in offered(pid, d)
    expect(get("/api/holds/" + won[0]), 200)


def test_holds_and_bookings_never_exceed_three_seats():
    pid = make_provider("UTC")
    service(pid, "trio", duration=60, capacity=3)
    d = future_date()
    st = local_dt("UTC", d, "10:00")

    def go(i):
        if i % 2:
            return hold(pid, st, "trio", "hb-%d" % i, timeout=60)
        return book_svc(pid, st, "trio", "hb-%d" % i, timeout=60)
    results = race(64, go)
    s = summarize(results)
    assert s.get(201) == 3 and s.get(409) == 61, s
    holds = [r.json["holdId"] for r in results if r.status == 201 and "holdId" in r.json]
    appts = [r.json["appointmentId"] for r in results if r.status == 201 and "appointmentId" in r.json]
    assert len(active_appts(pid)) == len(appts) and live_holds(pid) == len(holds), (appts, holds)
    assert {r[0] for r in active_appts(pid)} == set(appts)
    assert iso_z(st) not in offered(pid, d, "trio")
    # releasing the holds gives their seats back, one each
    for h in holds:
        expect(delete("/api/holds/" + h), 200)
    left = offered(pid, d, "trio").get(iso_z(st), 0)
    assert left == len(holds), (left, holds)


def test_converting_a_live_hold_while_64_others_book_its_slot():
    pid = make_provider("UTC")
    d = future_date()
    outcomes = collections.Counter()
    for rnd in range(20):
        st = local_dt("UTC", d, "00:00") + minutes(30 * rnd)
        h = held(pid, st, patient_id="owner-%d" % rnd)

        def go(i):
            if i == 0:
                return convert(pid, st, h["holdId"], "owner-%d" % rnd, timeout=60)
            return book_svc(pid, st, None, "rival-%d-%d" % (rnd, i), timeout=60)
        results = race(65, go)
        s = summarize(results)
        assert results[0].status == 201, (rnd, results[0], s)
        assert s.get(201) == 1 and s.get(409) == 64, (rnd, s)
        aid = results[0].json["appointmentId"]
        rows = [r for r in active_appts(pid) if int(r[2]) == int(st.timestamp())]
        assert [r[0] for r in rows] == [aid], (rnd, rows)
        assert sql("SELECT ended_at IS NOT NULL, appointment_id::text FROM holds WHERE id = %s"
                   % q(h["holdId"])) == [["t", aid]]
        outcomes[results[0].status] += 1
    assert outcomes == {201: 20}, outcomes
    assert live_holds(pid) == 0


def test_a_hold_expiring_mid_storm_frees_its_seat_for_exactly_one_booking():
    pid = make_provider("UTC")
    d = future_date()
    st = local_dt("UTC", d, "10:00")
    h = held(pid, st, patient_id="expiring")
    # The hold ends in the middle of the storm: its expiry moved to 1.5 s from now.
    sql("UPDATE holds SET expires_at = now() + interval '1.5 seconds' WHERE id = %s" % q(h["holdId"]))
    expires = dt.datetime.fromtimestamp(float(sql_value(
        "SELECT extract(epoch FROM expires_at) FROM holds WHERE id = %s" % q(h["holdId"]))), dt.timezone.utc)
    deadline = time.monotonic() + 3.5
    barrier = threading.Barrier(16)
    lock = threading.Lock()
    wins, counts, problems = [], collections.Counter(), []

    def worker(i):
        barrier.wait(timeout=30)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            try:
                r = book_svc(pid, st, None, "storm-%d-%d" % (i, n), timeout=30)
            except Exception as e:  # noqa: BLE001
                problems.append(repr(e))
                continue
            with lock:
                counts[r.status] += 1
                if r.status == 201:
                    wins.append((r.json["appointmentId"], dt.datetime.now(dt.timezone.utc)))
                elif r.status != 409:
                    problems.append(repr(r))
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not problems, problems[:5]
    assert counts[409] > 16 and counts[201] == 1, counts
    aid, seen = wins[0]
    assert seen >= expires, (seen, expires)
    created = dt.datetime.fromtimestamp(float(sql_value(
        "SELECT extract(epoch FROM created_at) FROM appointments WHERE id = %s" % q(aid))), dt.timezone.utc)
    assert created >= expires, (created, expires)
    assert [r[0] for r in active_appts(pid)] == [aid]
    assert live_holds(pid) == 0
    assert iso_z(st) not in offered(pid, d)
    # the expired hold is not converted, and converting it now is a plain booking (taken: 409)
    assert sql("SELECT ended_at IS NULL, appointment_id IS NULL FROM holds WHERE id = %s"
               % q(h["holdId"])) == [["t", "t"]]
    assert convert(pid, st, h["holdId"], "expiring").status == 409


def test_one_patients_concurrent_holds_on_many_providers_stop_at_ten():
    pids = [make_provider("UTC") for _ in range(24)]
    d = future_date()
    st = local_dt("UTC", d, "10:00")
    p = "many-%s" % time.monotonic_ns()
    results = race(24, lambda i: hold(pids[i], st, patient_id=p, timeout=60))
    s = summarize(results)
    assert s.get(201) == 10 and s.get(409) == 14, s
    assert all("hold limit" in r.json["error"]["message"] for r in results if r.status == 409)
    assert int(sql_value("SELECT count(*) FROM holds WHERE patient_id = %s" % q(p))) == 10
