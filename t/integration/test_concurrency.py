"""Races: many clients on one slot, overlapping starts, and a mixed storm
checked against SQL invariants and the outbox."""

import collections
import datetime as dt
import random
import threading
import time

from lib import (book, cancel, expect, future_date, make_provider, minutes, q,
                 reschedule, sql, sql_value)


def race(n, fn):
    """Run fn(i) in n threads released together; return the results by index."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not any(t.is_alive() for t in threads), "threads still running after 90 s"
    return results


def summarize(results):
    c = collections.Counter()
    for r in results:
        if isinstance(r, Exception):
            c["exception:" + type(r).__name__] += 1
        else:
            c[r.status] += 1
    return dict(c)


def provider_rows(pid):
    return sql("SELECT id::text, upper(status::text), extract(epoch FROM start_at)::bigint "
               "FROM appointments WHERE provider_id::text = %s ORDER BY start_at" % q(pid))


def confirmed_events_for(pid):
    return int(sql_value("SELECT count(*) FROM outbox WHERE event_type = 'APPOINTMENT_CONFIRMED' "
                         "AND payload LIKE %s" % q("%" + pid + "%")))


def test_64_clients_same_slot():
    pid = make_provider("UTC")
    start = "%sT10:00:00.000Z" % future_date()
    results = race(64, lambda i: book(pid, start, "race-%d" % i, timeout=60))
    s = summarize(results)
    assert s.get(201) == 1 and s.get(409) == 63, s
    for r in results:
        if r.status == 409:
            assert r.json and r.json.get("error", {}).get("code") == "CONFLICT", r
    winner = [r for r in results if r.status == 201][0]
    rows = provider_rows(pid)
    assert len(rows) == 1 and rows[0][0] == winner.json["appointmentId"], rows
    assert confirmed_events_for(pid) == 1


def test_64_clients_overlapping_starts():
    pid = make_provider("UTC", appointmentDuration=60, slotInterval=5)
    d = future_date()
    base = dt.datetime.fromisoformat("%sT10:00:00+00:00" % d)
    starts = [base + minutes(5 * k) for k in range(12)]  # 10:00 .. 10:55, pairwise overlapping
    results = race(64, lambda i: book(pid, starts[i % 12], "ovl-%d" % i, timeout=60))
    s = summarize(results)
    assert s.get(201) == 1 and s.get(409) == 63, s
    rows = provider_rows(pid)
    assert len(rows) == 1, rows
    assert confirmed_events_for(pid) == 1


def test_concurrent_cancel_and_rebook():
    """Cancelling frees the slot at once; of many rebookers exactly one wins."""
    pid = make_provider("UTC")
    start = "%sT11:00:00.000Z" % future_date()
    a = expect(book(pid, start), 201)
    expect(cancel(a["appointmentId"]), 200)
    results = race(32, lambda i: book(pid, start, "re-%d" % i, timeout=60))
    s = summarize(results)
    assert s.get(201) == 1 and s.get(409) == 31, s


def test_concurrent_reschedules_into_one_slot():
    pid = make_provider("UTC")
    d = future_date()
    appts = [expect(book(pid, "%sT%02d:00:00.000Z" % (d, h)), 201) for h in range(0, 16)]
    target = "%sT20:00:00.000Z" % d
    results = race(16, lambda i: reschedule(appts[i]["appointmentId"], target, timeout=60))
    s = summarize(results)
    assert s.get(200) == 1 and s.get(409) == 15, s
    n = int(sql_value("SELECT count(*) FROM outbox WHERE event_type = 'APPOINTMENT_RESCHEDULED' "
                      "AND payload LIKE %s" % q("%" + pid + "%")))
    assert n == 1, n


def test_mixed_storm_invariants():
    d = future_date("monday")
    week = {"monday": {"start": "09:00", "end": "12:00"}}
    plain = make_provider("UTC", slotInterval=15, weeklySchedule=week)
    buffered = make_provider("UTC", slotInterval=15, bufferBefore=5, bufferAfter=10, weeklySchedule=week)
    providers = [plain, buffered]
    base = dt.datetime.fromisoformat("%sT09:00:00+00:00" % d)
    starts = [base + minutes(15 * k) for k in range(11)]  # 09:00 .. 11:30
    deadline = time.monotonic() + 10.0
    lock = threading.Lock()
    appts = {}       # aid -> dict(provider, start, events, cancelled)
    problems = []
    counts = collections.Counter()

    def note(kind, r, ok_statuses):
        counts["%s %s" % (kind, r.status)] += 1
        if r.status not in ok_statuses:
            problems.append("%s: unexpected %r" % (kind, r))

    def worker(seed):
        rnd = random.Random(seed)
        mine = []
        ops = 0
        while time.monotonic() < deadline and ops < 2000:
            ops += 1
            live = [a for a in mine if not appts[a]["cancelled"]]
            x = rnd.random()
            try:
                if not live or x < 0.4:
                    pid = rnd.choice(providers)
                    st = rnd.choice(starts)
                    r = book(pid, st, "storm-%d" % seed, timeout=20)
                    note("book", r, (201, 409))
                    if r.status == 201:
                        aid = r.json["appointmentId"]
                        with lock:
                            appts[aid] = {"provider": pid, "start": st, "events": 1, "cancelled": False}
                        mine.append(aid)
                elif x < 0.8:
                    aid = rnd.choice(live)
                    cur = appts[aid]["start"]
                    st = rnd.choice([s for s in starts if s != cur])
                    r = reschedule(aid, st, timeout=20)
                    note("reschedule", r, (200, 409))
                    if r.status == 200:
                        with lock:
                            appts[aid]["start"] = st
                            appts[aid]["events"] += 1
                else:
                    aid = rnd.choice(live)
                    r = cancel(aid, "storm", timeout=20)
                    note("cancel", r, (200,))
                    if r.status == 200:
                        with lock:
                            appts[aid]["cancelled"] = True
                            appts[aid]["events"] += 1
                        if rnd.random() < 0.3:
                            note("cancel-again", cancel(aid, timeout=20), (200,))
                        if rnd.random() < 0.3:
                            note("reschedule-cancelled",
                                 reschedule(aid, rnd.choice(starts), timeout=20), (400,))
            except Exception as e:  # noqa: BLE001
                problems.append("exception %s: %s" % (type(e).__name__, e))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "storm threads still running"
    assert not problems, "%d unexpected outcomes, first: %s (counts %s)" % (len(problems), problems[:5], dict(counts))
    assert counts["book 201"] >= 2, dict(counts)

    plist = ",".join(q(p) for p in providers)
    # 1. no two CONFIRMED appointments of one provider overlap (with buffers)
    overlaps = sql(
        "SELECT a.id, b.id FROM appointments a JOIN appointments b "
        "ON a.provider_id = b.provider_id AND a.id::text < b.id::text "
        "WHERE a.provider_id::text IN (%s) "
        "AND upper(a.status::text) = 'CONFIRMED' AND upper(b.status::text) = 'CONFIRMED' "
        "AND tstzrange(a.start_at - make_interval(mins => CASE WHEN a.provider_id::text = %s THEN 5 ELSE 0 END), "
        "              a.end_at + make_interval(mins => CASE WHEN a.provider_id::text = %s THEN 10 ELSE 0 END)) && "
        "    tstzrange(b.start_at - make_interval(mins => CASE WHEN b.provider_id::text = %s THEN 5 ELSE 0 END), "
        "              b.end_at + make_interval(mins => CASE WHEN b.provider_id::text = %s THEN 10 ELSE 0 END))"
        % (plist, q(buffered), q(buffered), q(buffered), q(buffered)))
    assert overlaps == [], "overlapping confirmed appointments: %r" % overlaps

    # 2. the database holds exactly the appointments the clients saw created, in the state they saw
    rows = sql("SELECT id::text, upper(status::text), extract(epoch FROM start_at)::bigint, "
               "extract(epoch FROM end_at - start_at)::bigint FROM appointments "
               "WHERE provider_id::text IN (%s)" % plist)
    db = {r[0]: r for r in rows}
    assert set(db) == set(appts), "db %d vs seen %d appointments" % (len(db), len(appts))
    for aid, a in appts.items():
        r = db[aid]
        assert r[1] == ("CANCELLED" if a["cancelled"] else "CONFIRMED"), (aid, a, r)
        assert int(r[2]) == int(a["start"].timestamp()), (aid, a, r)
        assert int(r[3]) == 30 * 60, r

    # 3. events per appointment = 1 + observed reschedules + observed cancels
    ev = collections.Counter()
    for chunk_start in range(0, len(appts), 200):
        ids = list(appts)[chunk_start:chunk_start + 200]
        for aid, n in sql("SELECT aggregate_id, count(*) FROM outbox WHERE aggregate_id IN (%s) "
                          "GROUP BY aggregate_id" % ",".join(q(i) for i in ids)):
            ev[aid] = int(n)
    bad = [(aid, a["events"], ev.get(aid, 0)) for aid, a in appts.items() if ev.get(aid, 0) != a["events"]]
    assert not bad, "event count mismatch (aid, expected, found): %r" % bad[:10]
    # 4. the first event of each is the confirmation, a cancellation is the last
    firsts = sql("SELECT DISTINCT ON (aggregate_id) aggregate_id, event_type FROM outbox "
                 "WHERE aggregate_id IN (%s) ORDER BY aggregate_id, id" % ",".join(q(i) for i in appts))
    assert all(t == "APPOINTMENT_CONFIRMED" for _, t in firsts), firsts
    print("    storm:", dict(counts))


def test_concurrent_cancels_one_event():
    pid = make_provider("UTC")
    a = expect(book(pid, "%sT09:00:00.000Z" % future_date()), 201)
    aid = a["appointmentId"]
    results = race(32, lambda i: cancel(aid, "c-%d" % i, timeout=60))
    s = summarize(results)
    assert s.get(200) == 32, s
    n = int(sql_value("SELECT count(*) FROM outbox WHERE aggregate_id = %s AND event_type = "
                      "'APPOINTMENT_CANCELLED'" % q(aid)))
    assert n == 1, n


def test_concurrent_identical_upserts_one_event():
    from lib import post_schedule, schedule_body, uuid4
    pid = uuid4()
    body = schedule_body("UTC", slotInterval=10)
    results = race(24, lambda i: post_schedule(pid, body))
    s = summarize(results)
    assert s.get(200) == 24, (s, [r for r in results if isinstance(r, Exception) or r.status != 200][:3])
    n = int(sql_value("SELECT count(*) FROM outbox WHERE aggregate_id = %s" % q(pid)))
    assert n == 1, "%d schedule events for one creation" % n


def test_concurrent_patient_and_provider_bookings_independent():
    """Different providers never block each other: 32 providers, one booking each, all 201."""
    d = future_date()
    pids = [make_provider("UTC") for _ in range(32)]
    results = race(32, lambda i: book(pids[i], "%sT10:00:00.000Z" % d, timeout=60))
    s = summarize(results)
    assert s.get(201) == 32, s


def test_concurrent_reschedules_of_one_appointment_chain():
    """16 clients move one appointment to 16 different free times: every move
    succeeds, and the events form one unbroken chain of previous -> new."""
    import json
    pid = make_provider("UTC")
    d = future_date()
    a = expect(book(pid, "%sT00:00:00.000Z" % d), 201)
    aid = a["appointmentId"]
    targets = ["%sT%02d:00:00.000Z" % (d, h) for h in range(2, 18)]
    results = race(16, lambda i: reschedule(aid, targets[i], timeout=60))
    s = summarize(results)
    assert s.get(200) == 16, s
    rows = sql("SELECT event_type, payload FROM outbox WHERE aggregate_id = %s ORDER BY id" % q(aid))
    assert [r[0] for r in rows] == ["APPOINTMENT_CONFIRMED"] + ["APPOINTMENT_RESCHEDULED"] * 16, [r[0] for r in rows]
    prev = a["startTime"]
    for _, payload in rows[1:]:
        p = json.loads(payload)["payload"]
        assert p["previousAppointmentTime"] == prev, "lost update: %r after %s" % (p, prev)
        prev = p["newAppointmentTime"]
    final = sql("SELECT to_char(start_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
                "FROM appointments WHERE id = %s" % q(aid))[0][0]
    assert final == prev, (final, prev)


def test_concurrent_cancel_and_reschedule_same_appointment():
    import json
    pid = make_provider("UTC")
    d = future_date()
    a = expect(book(pid, "%sT00:00:00.000Z" % d), 201)
    aid = a["appointmentId"]

    def op(i):
        if i % 2:
            return cancel(aid, timeout=60)
        return reschedule(aid, "%sT%02d:00:00.000Z" % (d, 2 + i // 2), timeout=60)
    results = race(16, op)
    cancels = [r for i, r in enumerate(results) if i % 2]
    moves = [r for i, r in enumerate(results) if not i % 2]
    assert all(not isinstance(r, Exception) and r.status == 200 for r in cancels), summarize(cancels)
    assert all(not isinstance(r, Exception) and r.status in (200, 400) for r in moves), summarize(moves)
    ok_moves = sum(1 for r in moves if r.status == 200)
    rows = sql("SELECT event_type, payload FROM outbox WHERE aggregate_id = %s ORDER BY id" % q(aid))
    types = [r[0] for r in rows]
    assert types == ["APPOINTMENT_CONFIRMED"] + ["APPOINTMENT_RESCHEDULED"] * ok_moves + ["APPOINTMENT_CANCELLED"], types
    last_new = json.loads(rows[-2][1])["payload"].get("newAppointmentTime", a["startTime"]) if ok_moves else a["startTime"]
    assert json.loads(rows[-1][1])["payload"]["appointmentTime"] == last_new, rows[-1]
    st = sql("SELECT upper(status) FROM appointments WHERE id = %s" % q(aid))[0][0]
    assert st == "CANCELLED", st
