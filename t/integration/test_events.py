"""GET /api/events: the commit-ordered, densely numbered event feed."""

import datetime as dt
import json
import random
import re
import threading
import time
import urllib.parse

import lib
from lib import (assert_utc_ms, book, book_ok, cancel, check_error, expect, future_date, get,
                 make_provider, minutes, outbox, outbox_bytes, request, reschedule, sql, uuid4, wait_until)

EVT_RE = re.compile(r"^evt_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def day_at(d, hm):
    return "%sT%s:00.000Z" % (d, hm)


def feed_get(after=None, limit=None):
    params = {}
    if after is not None:
        params["after"] = after
    if limit is not None:
        params["limit"] = limit
    return get("/api/events" + ("?" + urllib.parse.urlencode(params) if params else ""))


_gap_top = []


def gap_top(fresh=False):
    """The highest sequence whose predecessor is missing (0 if none): the
    relay's retention (test_retention) may have pruned old events, so
    sequences up to here may skip; above it they must be dense. Read once
    per run (pruning happens only in other modules) unless fresh."""
    if _gap_top and not fresh:
        return _gap_top[0]
    _gap_top[:] = [_gap_top_now()]
    return _gap_top[0]


def _gap_top_now():
    return int(sql("SELECT coalesce(max(seq), 0) FROM outbox o WHERE seq > 1"
                   " AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.seq = o.seq - 1)")[0][0])


def page(after, limit):
    """One page, its shape checked: (events, nextAfter)."""
    r = feed_get(after, limit)
    j = expect(r, 200)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    assert isinstance(j, dict) and isinstance(j.get("events"), list), r
    na = j.get("nextAfter")
    assert isinstance(na, int) and not isinstance(na, bool), r
    evs = j["events"]
    assert len(evs) <= limit, (limit, len(evs))
    for e in evs:
        assert isinstance(e, dict) and list(e)[:1] == ["sequence"], "sequence must come first: %r" % e
        assert isinstance(e["sequence"], int) and e["sequence"] > after, (after, e)
    seqs = [e["sequence"] for e in evs]
    assert seqs == sorted(set(seqs)), "sequences out of order or repeated: %r" % seqs
    dense = [n for n in seqs if n >= gap_top()]
    assert dense == list(range(dense[0], dense[0] + len(dense))) if dense else True, \
        "sequences within a page are not consecutive: %r" % seqs
    assert na == (seqs[-1] if seqs else after), "nextAfter %r for after=%d, page %r" % (na, after, seqs)
    return evs, na


def scan(after=0, limit=1000, upto=None):
    """Every event after `after` (to the end, or to sequence `upto`), checking
    that pages join up with no gap. From after=0 the first sequence may be >1
    (pruned history); from any later point it must be after+1."""
    out = []
    cur = after
    while True:
        evs, na = page(cur, limit)
        if not evs:
            return out
        if cur > 0 or out:
            assert evs[0]["sequence"] == cur + 1, "gap: after=%d gave first sequence %d" % (
                cur, evs[0]["sequence"])
        out.extend(evs)
        cur = na
        if upto is not None and cur >= upto:
            return [e for e in out if e["sequence"] <= upto]


def feed_tail():
    """The highest sequence now visible (0 if none), by galloping and bisecting
    on after=N&limit=1 (an empty page means N is at or past the end)."""
    def empty(n):
        return not page(n, 1)[0]
    if empty(0):
        return 0
    lo, hi = 0, 1
    while not empty(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:          # not empty(lo), empty(hi)
        mid = (lo + hi) // 2
        if empty(mid):
            hi = mid
        else:
            lo = mid
    return hi


def strip_seq(e):
    return {k: v for k, v in e.items() if k != "sequence"}


# ------------------------------------------------------------------ shape
def test_events_shape_is_the_stored_envelope():
    tail = feed_tail()
    pid = uuid4()
    make_provider("UTC", provider_id=pid)
    d = future_date()
    p = "ev-\"é\"-" + uuid4()[:8]
    a = book_ok(pid, day_at(d, "10:00"), p)
    aid = a["appointmentId"]
    expect(reschedule(aid, day_at(d, "11:00")), 200)
    expect(cancel(aid, "moved \"away\" / ü"), 200)

    def ours():
        evs = scan(tail)
        mine = [e for e in evs if isinstance(e.get("payload"), dict) and e["payload"].get("providerId") == pid]
        return (evs, mine) if len(mine) >= 4 else None
    got = wait_until(ours, timeout=15, interval=0.2)
    assert got, "the provider's 4 events did not reach the feed: %r" % (ours(),)
    evs, mine = got
    assert evs[0]["sequence"] == tail + 1, (tail, evs[0]["sequence"])
    assert [e["eventType"] for e in mine] == ["PROVIDER_SCHEDULE_UPDATED", "APPOINTMENT_CONFIRMED",
                                              "APPOINTMENT_RESCHEDULED", "APPOINTMENT_CANCELLED"], mine
    seqs = [e["sequence"] for e in mine]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4, seqs

    # each element is exactly the stored envelope with "sequence" added first
    stored = {r["envelope"]["eventId"]: r["envelope"] for r in outbox(like=pid)}
    for e in mine:
        assert EVT_RE.match(e["eventId"]), e
        assert_utc_ms(e["timestamp"], "event timestamp")
        env = stored.get(e["eventId"])
        assert env is not None, "feed event not in the outbox: %r" % e
        assert list(e) == ["sequence"] + list(env), "key order differs: %r vs %r" % (list(e), list(env))
        assert strip_seq(e) == env, (e, env)

    # ... byte for byte: the stored bytes with {"sequence":N, spliced in front
    r = get("/api/events?after=%d&limit=%d" % (seqs[0] - 1, seqs[-1] - seqs[0] + 1))
    assert r.status == 200, r
    for e in mine:
        stored_bytes = outbox_bytes(e["eventId"])
        assert stored_bytes[:1] == b"{", stored_bytes
        assert b'{"sequence":%d,' % e["sequence"] + stored_bytes[1:] in r.body, \
            "event %d is not the stored envelope verbatim: %r" % (e["sequence"], stored_bytes)

    sched, conf, resch, canc = (e["payload"] for e in mine)
    assert sched == {"providerId": pid}, sched
    # [ext] every APPOINTMENT_* payload also carries serviceId and the status after the change
    assert conf == {"appointmentId": aid, "patientId": p, "providerId": pid, "serviceId": "default",
                    "status": "CONFIRMED",
                    "appointmentTime": day_at(d, "10:00"), "endTime": day_at(d, "10:30")}, conf
    assert resch == {"appointmentId": aid, "patientId": p, "providerId": pid, "serviceId": "default",
                     "status": "CONFIRMED", "newAppointmentTime": day_at(d, "11:00"),
                     "previousAppointmentTime": day_at(d, "10:00"), "endTime": day_at(d, "11:30")}, resch
    assert canc == {"appointmentId": aid, "reason": "moved \"away\" / ü", "patientId": p,
                    "providerId": pid, "serviceId": "default", "status": "CANCELLED",
                    "appointmentTime": day_at(d, "11:00")}, canc
    # the same events again, the same way, with small pages
    again = scan(tail, limit=3, upto=evs[-1]["sequence"])
    assert again == evs


def test_events_paging_params():
    tail = feed_tail()
    # an empty page at the end: nextAfter echoes after
    evs, na = page(tail, 10)
    assert all(e["sequence"] > tail for e in evs)
    far = tail + 1000000
    evs, na = page(far, 10)
    assert evs == [] and na == far
    if tail == 0:
        make_provider("UTC")
        assert wait_until(lambda: feed_tail() > 0, timeout=10)
    # defaults: after=0, limit=100
    full, _ = page(0, 1000)
    assert full, "no events at all"
    dflt = expect(feed_get(), 200)
    assert dflt["events"] == full[:100], (len(dflt["events"]), len(full))
    assert dflt["nextAfter"] == full[:100][-1]["sequence"]
    assert expect(feed_get(after=0), 200)["events"] == full[:100]
    assert expect(feed_get(limit=100), 200)["events"] == full[:100]
    one, na = page(0, 1)
    assert one == full[:1] and na == full[0]["sequence"]
    if len(full) >= 3:
        two, na = page(full[0]["sequence"], 2)
        assert two == full[1:3] and na == full[2]["sequence"]


def test_events_validation_and_methods():
    for bad in ("-1", "abc", "1.5", "", "1e3", "0x10", " 1", "99999999999999999999999"):
        check_error(get("/api/events?after=" + urllib.parse.quote(bad)), 422, "VALIDATION_ERROR", field="after")
    for bad in ("0", "1001", "-1", "abc", "", "2.5"):
        check_error(get("/api/events?limit=" + urllib.parse.quote(bad)), 422, "VALIDATION_ERROR", field="limit")
    expect(feed_get(0, 1000), 200)
    expect(feed_get(0, 1), 200)
    for m in ("POST", "PUT", "DELETE", "PATCH"):
        r = request(m, "/api/events")
        check_error(r, 405, "METHOD_NOT_ALLOWED")
        assert "GET" in r.headers.get("allow", ""), r.headers


# ------------------------------------------------------------------ concurrency
def test_feed_paged_during_booking_storm():
    tail = feed_tail()
    pid = make_provider("UTC", appointmentDuration=5)
    d = future_date(days=3)
    base = dt.datetime.fromisoformat("%sT00:00:00+00:00" % d)
    nthreads, per = 4, 50
    booked, errors = [], []
    lock = threading.Lock()

    def booker(k):
        for i in range(per):
            slot = k * per + i
            try:
                r = book(pid, base + minutes(5 * slot), "storm-%d-%d" % (k, i), timeout=20)
                if r.status != 201:
                    raise AssertionError("booking %d: %r" % (slot, r))
                aid = r.json["appointmentId"]
                cancelled = i % 5 == 4
                if cancelled:
                    c = cancel(aid, "storm", timeout=20)
                    if c.status != 200:
                        raise AssertionError("cancel %s: %r" % (aid, c))
                with lock:
                    booked.append((aid, cancelled))
            except Exception as e:  # noqa: BLE001
                with lock:
                    errors.append(e)

    stop = threading.Event()
    seen, problems = [], []

    def pager():
        rnd = random.Random(4)
        cur = tail
        while not stop.is_set():
            limit = rnd.randint(1, 7)
            try:
                evs, na = page(cur, limit)
            except Exception as e:  # noqa: BLE001
                problems.append("page after=%d limit=%d: %s" % (cur, limit, e))
                time.sleep(0.05)
                continue
            if evs:
                if evs[0]["sequence"] != cur + 1:
                    problems.append("gap or repeat: after=%d gave %d" % (cur, evs[0]["sequence"]))
                seen.extend(evs)
                cur = na
            else:
                time.sleep(0.005)

    pt = threading.Thread(target=pager, daemon=True)
    pt.start()
    threads = [threading.Thread(target=booker, args=(k,), daemon=True) for k in range(nthreads)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, "%d booking errors, first: %s" % (len(errors), errors[:3])
        expected = set()
        for aid, cancelled in booked:
            expected.add((aid, "APPOINTMENT_CONFIRMED"))
            if cancelled:
                expected.add((aid, "APPOINTMENT_CANCELLED"))

        def caught_up():
            have = {(e["payload"].get("appointmentId"), e["eventType"]) for e in list(seen)
                    if isinstance(e.get("payload"), dict)}
            return expected <= have
        ok = wait_until(caught_up, timeout=30, interval=0.1)
    finally:
        stop.set()
        pt.join(timeout=15)
    assert not problems, "%d problems, first: %s" % (len(problems), problems[:5])
    assert ok, "the pager did not see every event of the storm"
    seqs = [e["sequence"] for e in seen]
    assert seqs == list(range(tail + 1, tail + 1 + len(seqs))), "not strictly consecutive from %d" % tail
    ids = [e["eventId"] for e in seen]
    assert len(ids) == len(set(ids)), "an eventId appears twice"
    mine = [e for e in seen if isinstance(e.get("payload"), dict) and e["payload"].get("providerId") == pid
            and e["eventType"] != "PROVIDER_SCHEDULE_UPDATED"]
    assert len(mine) == len(expected), (len(mine), len(expected))
    print("    storm: %d bookings, %d events paged 1..7 at a time" % (len(booked), len(seen)))
    # per appointment, CONFIRMED comes before CANCELLED
    pos = {(e["payload"]["appointmentId"], e["eventType"]): e["sequence"] for e in mine}
    for aid, cancelled in booked:
        if cancelled:
            assert pos[(aid, "APPOINTMENT_CONFIRMED")] < pos[(aid, "APPOINTMENT_CANCELLED")], aid
    # a second pass, with other page sizes, gives the identical list
    last = seqs[-1]
    again = scan(tail, limit=50, upto=last)
    assert again == seen, "second pass differs"
    # and so does a pass from the very beginning
    whole = scan(0, limit=1000, upto=last)
    assert gap_top(fresh=True) <= tail, "a gap among the storm's sequences"
    first = max(whole[0]["sequence"], gap_top())
    assert [e["sequence"] for e in whole if e["sequence"] >= first] == list(range(first, last + 1)), \
        "the whole feed has a gap"
    assert [e for e in whole if e["sequence"] > tail] == seen


def test_every_stored_event_is_compact():
    """One encoder writes every event: the seed's (appointctl seed, run by
    ./dev up) and the API's bytes are the compact form of themselves."""
    seeded = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222")
    for pid in seeded:
        assert lib.outbox_count(pid) >= 1, "the seed announced no %s" % pid
    lib.make_provider()
    rows = lib.sql("SELECT event_id, encode(convert_to(payload, 'UTF8'), 'hex') FROM outbox")
    assert rows
    for event_id, hexed in rows:
        raw = bytes.fromhex(hexed)
        env = json.loads(raw)
        compact = json.dumps(env, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        assert raw == compact, (event_id, raw[:200])
        assert env["eventId"] == "evt_" + event_id
        assert list(env) == ["eventId", "eventType", "timestamp", "payload"], env
