"""Races on services, seats and limits: clients released together behind a
barrier, then the database checked in SQL. 64 clients on one 10-seat
session; 64 clients over a perDay = 3 day; two services racing for
overlapping times; a storm of mixed services, seats, reschedules and cancels
under provider and service limits, followed by the invariants of "How slots
are computed" over the CONFIRMED rows (each row's own buffers), every 201
present and one APPOINTMENT_CONFIRMED per created appointment."""

import collections
import datetime as dt
import random
import threading
import time
from zoneinfo import ZoneInfo

from lib import (cancel, future_date, local_dt, make_provider, minutes, q, reschedule,
                 sql, sql_value)
from test_concurrency import race, summarize
from test_service_booking import book_svc, service


def confirmed_rows(pids):
    """CONFIRMED rows of the providers: (id, provider, service, start, end, before, after),
    times as aware UTC datetimes, buffers in minutes."""
    rows = sql("SELECT id::text, provider_id::text, service_id, extract(epoch FROM start_at)::bigint, "
               "extract(epoch FROM end_at)::bigint, buffer_before, buffer_after FROM appointments "
               "WHERE provider_id::text IN (%s) AND status = 'CONFIRMED'" % ",".join(q(p) for p in pids))
    ts = lambda x: dt.datetime.fromtimestamp(int(x), dt.timezone.utc)  # noqa: E731
    return [(r[0], r[1], r[2], ts(r[3]), ts(r[4]), int(r[5]), int(r[6])) for r in rows]


def assert_sessions_sound(rows, capacity):
    """The invariants of "How slots are computed" over rows (confirmed_rows): no session
    over its service's capacity ({serviceId: capacity}), and no two sessions of one
    provider conflicting, each side with its own stored buffers. Returns the sessions
    {(provider, service, start): [rows]}."""
    sessions = collections.defaultdict(list)
    for r in rows:
        sessions[(r[1], r[2], r[3])].append(r)
    for key, seats in sessions.items():
        assert len(seats) <= capacity[key[1]], ("session over capacity", key, len(seats))
    for i, x in enumerate(rows):
        for y in rows[i + 1:]:
            if x[1] != y[1] or (x[2], x[3]) == (y[2], y[3]):
                continue
            clash = (x[3] < y[4] + minutes(y[6] + x[5])) and (y[3] < x[4] + minutes(x[6] + y[5]))
            assert not clash, ("conflicting sessions", x, y)
    return sessions


def confirmed_events(ids):
    """{aggregate id: number of APPOINTMENT_CONFIRMED events} for the ids."""
    out = collections.Counter()
    ids = list(ids)
    for i in range(0, len(ids), 200):
        chunk = ids[i:i + 200]
        for aid, n in sql("SELECT aggregate_id, count(*) FROM outbox WHERE event_type = 'APPOINTMENT_CONFIRMED' "
                          "AND aggregate_id IN (%s) GROUP BY aggregate_id" % ",".join(q(x) for x in chunk)):
            out[aid] = int(n)
    return out


def test_64_clients_one_ten_seat_session():
    pid = make_provider("UTC")
    service(pid, "class", duration=60, capacity=10)
    start = "%sT10:00:00.000Z" % future_date()
    results = race(64, lambda i: book_svc(pid, start, "class", "seat-%d" % i, timeout=60))
    s = summarize(results)
    assert s.get(201) == 10 and s.get(409) == 54, s
    won = {r.json["appointmentId"] for r in results if r.status == 201}
    rows = confirmed_rows([pid])
    assert {r[0] for r in rows} == won, (rows, won)
    assert {(r[2], r[3]) for r in rows} == {("class", dt.datetime.fromisoformat(start.replace("Z", "+00:00")))}
    assert int(sql_value("SELECT count(*) FROM appointments WHERE provider_id = %s" % q(pid))) == 10
    ev = confirmed_events(won)
    assert all(ev[a] == 1 for a in won), ev


def test_64_clients_over_a_per_day_3_day():
    pid = make_provider("UTC", limits={"perDay": 3})
    d = future_date()
    base = dt.datetime.combine(d, dt.time(0, 0), tzinfo=dt.timezone.utc)
    starts = [base + minutes(30 * k) for k in range(48)]  # every slot of the day
    results = race(64, lambda i: book_svc(pid, starts[(i * 7) % 48], None, "lim-%d" % i, timeout=60))
    s = summarize(results)
    assert s.get(201) == 3 and s.get(409) == 61, s
    rows = confirmed_rows([pid])
    assert len(rows) == 3 and len({r[3] for r in rows}) == 3, rows
    assert {r[0] for r in rows} == {r.json["appointmentId"] for r in results if r.status == 201}


def test_two_services_racing_for_overlapping_times():
    pid = make_provider("UTC", slotInterval=15)
    service(pid, "a", duration=60, capacity=3)
    service(pid, "b", duration=45, capacity=3, bufferBefore=10)
    d = future_date()
    ta = "%sT10:00:00.000Z" % d
    tb = "%sT10:30:00.000Z" % d
    results = race(64, lambda i: book_svc(pid, ta if i % 2 else tb, "a" if i % 2 else "b",
                                          "two-%d" % i, timeout=60))
    s = summarize(results)
    # one session wins; its side fills it (nothing else is in its way), the rest is 409
    assert s.get(201) == 3 and s.get(409) == 61, s
    rows = confirmed_rows([pid])
    assert len({(r[2], r[3]) for r in rows}) == 1 and len(rows) == 3, rows
    assert {r[0] for r in rows} == {r.json["appointmentId"] for r in results if r.status == 201}


def test_storm_of_services_seats_reschedules_and_cancels():
    tz = "Europe/Berlin"
    zone = ZoneInfo(tz)
    week = {d: {"start": "08:00", "end": "12:00"} for d in ("saturday", "sunday", "monday")}
    plimits = {"perDay": 4, "perWeek": 7}
    pids = [make_provider(tz, slotInterval=15, bufferBefore=5, weeklySchedule=week, limits=plimits)
            for _ in range(2)]
    svcs = {"default": (1, None, None)}  # serviceId -> (capacity, perDay, perWeek)
    for pid in pids:
        service(pid, "group", duration=60, slotInterval=30, capacity=4, limits={"perDay": 2})
        service(pid, "solo", duration=30, bufferAfter=15, limits={"perWeek": 4})
    svcs["group"] = (4, 2, None)
    svcs["solo"] = (1, None, 4)
    sat = future_date("saturday")
    days = [sat, sat + dt.timedelta(days=1), sat + dt.timedelta(days=2)]  # Sat, Sun | Mon: two ISO weeks
    starts = [local_dt(tz, d, "%02d:%02d" % (h, m)) for d in days for h in range(8, 12) for m in (0, 15, 30, 45)]
    hot = [local_dt(tz, d, h) for d in days for h in ("09:00", "10:00")]  # where group seats pile up
    sids = ["default", "group", "group", "solo"]

    deadline = time.monotonic() + 10.0
    budget = [1500]
    lock = threading.Lock()
    appts = {}  # aid -> {provider, service, start, cancelled}
    problems = []
    counts = collections.Counter()

    def note(kind, r, ok):
        counts["%s %s" % (kind, r.status)] += 1
        if r.status not in ok:
            problems.append("%s: unexpected %r" % (kind, r))

    def worker(seed):
        rnd = random.Random(seed)
        mine = []
        while time.monotonic() < deadline:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            live = [a for a in mine if not appts[a]["cancelled"]]
            x = rnd.random()
            try:
                if not live or x < 0.5:
                    pid, sid = rnd.choice(pids), rnd.choice(sids)
                    st = rnd.choice(hot if sid == "group" and rnd.random() < 0.7 else starts)
                    r = book_svc(pid, st, sid, "storm-%d" % seed, timeout=30)
                    note("book", r, (201, 409))
                    if r.status == 201:
                        assert r.json["serviceId"] == sid, r
                        with lock:
                            appts[r.json["appointmentId"]] = {"provider": pid, "service": sid, "start": st,
                                                              "cancelled": False}
                        mine.append(r.json["appointmentId"])
                elif x < 0.8:
                    aid = rnd.choice(live)
                    st = rnd.choice([s for s in starts if s != appts[aid]["start"]])
                    r = reschedule(aid, st, timeout=30)
                    note("reschedule", r, (200, 409))
                    if r.status == 200:
                        with lock:
                            appts[aid]["start"] = st
                else:
                    aid = rnd.choice(live)
                    r = cancel(aid, "storm", timeout=30)
                    note("cancel", r, (200,))
                    if r.status == 200:
                        with lock:
                            appts[aid]["cancelled"] = True
            except Exception as e:  # noqa: BLE001
                problems.append("exception %s: %s" % (type(e).__name__, e))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "storm threads still running"
    assert not problems, "%d unexpected outcomes, first: %s (counts %s)" % (len(problems), problems[:5], dict(counts))
    assert counts["book 201"] >= 5, dict(counts)

    rows = confirmed_rows(pids)
    sessions = assert_sessions_sound(rows, {sid: v[0] for sid, v in svcs.items()})
    # no local day or ISO week over a provider or service limit
    per = collections.Counter()
    for (pid, sid, st) in sessions:
        local = st.astimezone(zone).date()
        wk = local.isocalendar()[:2]
        for k in (("pd", pid, None, local), ("pw", pid, None, wk), ("sd", pid, sid, local), ("sw", pid, sid, wk)):
            per[k] += 1
    for (kind, pid, sid, _), n in per.items():
        lim = {"pd": plimits["perDay"], "pw": plimits["perWeek"]}.get(kind) if sid is None else \
            svcs[sid][1 if kind == "sd" else 2]
        assert lim is None or n <= lim, ("limit exceeded", kind, pid, sid, _, n, lim)
    # every 201 is in the table, with its serviceId, in the state and at the time the client saw
    db = {r[0]: r for r in sql(
        "SELECT id::text, provider_id::text, service_id, status, extract(epoch FROM start_at)::bigint "
        "FROM appointments WHERE provider_id::text IN (%s)" % ",".join(q(p) for p in pids))}
    assert set(db) == set(appts), "db %d vs seen %d appointments" % (len(db), len(appts))
    for aid, a in appts.items():
        r = db[aid]
        assert (r[1], r[2], r[3], int(r[4])) == (a["provider"], a["service"],
                                                 "CANCELLED" if a["cancelled"] else "CONFIRMED",
                                                 int(a["start"].timestamp())), (aid, a, r)
    # exactly one APPOINTMENT_CONFIRMED per created appointment
    ev = confirmed_events(appts)
    bad = [a for a in appts if ev.get(a, 0) != 1]
    assert not bad, "APPOINTMENT_CONFIRMED count wrong for %r" % [(a, ev.get(a, 0)) for a in bad[:10]]
    print("    storm: %s; %d confirmed rows in %d sessions, %d with several seats; fullest day %d, week %d"
          % (dict(counts), len(rows), len(sessions), sum(1 for v in sessions.values() if len(v) > 1),
             max([n for k, n in per.items() if k[0] == "pd"] or [0]),
             max([n for k, n in per.items() if k[0] == "pw"] or [0])))
