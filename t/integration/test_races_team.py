"""Races of team bookings (providerIds), clients released together and the
database checked in SQL afterwards: 20 team bookings of one instant over 3
providers take each provider once; 64 clients booking random team instants
over 10 providers (with single-provider bookings and cancels among them) for
10 s meet no 500 or 503 and no deadlock (the PostgreSQL log is read from
where it stood at the start) and leave the services issue's invariants; team
and single-provider bookings of one provider and time make one session."""

import collections
import datetime as dt
import glob
import os
import random
import threading
import time

from lib import VAR, cancel, future_date, local_dt, make_provider, q, sql
from test_concurrency import race, summarize
from test_races_services import assert_sessions_sound, confirmed_events, confirmed_rows
from test_service_booking import book_svc, service
from test_team_booking import team


def pg_log():
    """The cluster's log file under $APPOINTD_VAR/pg/ (the newest if several)."""
    files = [f for f in glob.glob(os.path.join(VAR, "pg", "**", "*.log"), recursive=True)
             if "initdb" not in os.path.basename(f)]
    files += glob.glob(os.path.join(VAR, "pg", "**", "postgresql*"), recursive=True)
    files = sorted({f for f in files if os.path.isfile(f)}, key=os.path.getmtime)
    assert files, "no PostgreSQL log under %s/pg" % VAR
    return files[-1]


def deadlocks_since(path, offset):
    with open(path, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    return [ln for ln in text.splitlines() if "40P01" in ln or "deadlock detected" in ln]


def rows_at(pid, start):
    return sql("SELECT id::text FROM appointments WHERE provider_id = %s AND status = 'CONFIRMED' "
               "AND start_at = %s::timestamptz" % (q(pid), q(start.isoformat())))


def test_20_team_bookings_of_one_instant_take_each_of_3_providers_once():
    ps = [make_provider("UTC") for _ in range(3)]
    st = local_dt("UTC", future_date("thursday", month=8), "10:00")
    results = race(20, lambda i: team(ps if i % 2 else ps[::-1], st, patient_id="r-%d" % i, timeout=60))
    s = summarize(results)
    assert s.get(201) == 3 and s.get(409) == 17, s
    won = [r.json["providerId"] for r in results if r.status == 201]
    assert sorted(won) == sorted(ps), won
    for p in ps:
        assert len(rows_at(p, st)) == 1, p
    ev = confirmed_events({r.json["appointmentId"] for r in results if r.status == 201})
    assert sorted(ev.values()) == [1, 1, 1], ev


def test_64_clients_random_team_instants_over_10_providers_no_deadlock():
    log = pg_log()
    offset = os.path.getsize(log)
    ps = [make_provider("UTC", slotInterval=15, bufferBefore=5) for _ in range(10)]
    for p in ps:
        service(p, "group", duration=60, slotInterval=30, capacity=3, bufferAfter=10)
    caps = {"default": 1, "group": 3}
    d = future_date("tuesday", month=9)
    starts = [local_dt("UTC", d + dt.timedelta(days=k), "%02d:%02d" % (h, m))
              for k in range(2) for h in range(9, 12) for m in (0, 15, 30, 45)]
    deadline = time.monotonic() + 10.0
    lock = threading.Lock()
    counts = collections.Counter()
    problems = []
    mine = collections.defaultdict(list)
    won = {}

    def worker(seed):
        rnd = random.Random(seed)
        while time.monotonic() < deadline:
            x = rnd.random()
            sid = "group" if rnd.random() < 0.3 else None
            st = rnd.choice(starts)
            try:
                if x < 0.7 or not mine[seed]:
                    cand = rnd.sample(ps, rnd.randint(1, 10))
                    r = team(cand, st, sid, "t-%d" % seed, timeout=60)
                    kind, ok = "team", (201, 409)
                elif x < 0.85:
                    r = book_svc(rnd.choice(ps), st, sid, "s-%d" % seed, timeout=60)
                    kind, ok = "single", (201, 409)
                else:
                    aid = mine[seed].pop(rnd.randrange(len(mine[seed])))
                    r = cancel(aid, "storm", timeout=60)
                    kind, ok = "cancel", (200,)
                    with lock:
                        won.pop(aid, None)
                with lock:
                    counts["%s %s" % (kind, r.status)] += 1
                if r.status not in ok:
                    problems.append("%s: %r" % (kind, r))
                elif r.status == 201:
                    if kind == "team":
                        assert r.json["providerId"] in cand, r
                    mine[seed].append(r.json["appointmentId"])
                    with lock:
                        won[r.json["appointmentId"]] = r.json["providerId"]
            except Exception as e:  # noqa: BLE001
                problems.append("exception %s: %s" % (type(e).__name__, e))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not any(t.is_alive() for t in threads), "storm threads still running"
    assert not problems, "%d unexpected outcomes, first: %s (counts %s)" % (len(problems), problems[:5], dict(counts))
    assert counts["team 201"] >= 20 and counts["team 409"] >= 1, dict(counts)
    time.sleep(0.2)  # the server writes its log lines after the answer
    dl = deadlocks_since(log, offset)
    assert not dl, dl[:5]
    rows = confirmed_rows(ps)
    assert_sessions_sound(rows, caps)
    assert {r[0]: r[1] for r in rows} == won, "the table and the 201s differ"


def test_team_bookings_racing_single_bookings_for_one_provider_and_time():
    for rnd in range(3):
        p, other = make_provider("UTC"), make_provider("UTC")
        st = local_dt("UTC", future_date("friday", month=10, days=7 * rnd), "10:00")

        def go(i):
            if i % 3 == 0:
                return book_svc(p, st, None, "s-%d" % i, timeout=60)
            if i % 3 == 1:
                return team([p], st, None, "t-%d" % i, timeout=60)
            return team([p, other] if i % 2 else [other, p], st, None, "u-%d" % i, timeout=60)

        results = race(30, go)
        s = summarize(results)
        assert set(s) <= {201, 409}, s
        assert len(rows_at(p, st)) == 1 and len(rows_at(other, st)) == 1, s
        assert s.get(201) == 2, s
