"""GET /api/availability (team availability): the merge across providers in
different zones and with different durations (one entry per distinct
startTime and endTime, providerIds in the query's order, keyed by the UTC
date of startTime), the UTC range bounds and the 31-date limit, the 422 and
404 paths (the first offending provider in query order named), seats and
holds respected, agreement with each provider's own availability route, and
a 50-provider call. Every test makes its own providers."""

import datetime as dt
import urllib.parse

from lib import check_error, expect, future_date, get, iso_z, local_dt, make_provider, uuid4
from test_holds import held
from test_service_booking import availability, book_svc, booked, service
from test_services import svc_delete

ENTRY_KEYS = {"startTime", "endTime", "providerIds"}


# ------------------------------------------------------------------ helpers
def team(pids, **params):
    p = {"providerIds": ",".join(pids)} if pids is not None else {}
    p.update(params)
    return get("/api/availability?" + urllib.parse.urlencode(p))


def team_ok(pids, **params):
    j = expect(team(pids, **params), 200)
    check_shape(j, params.get("service", "default"))
    return j


def check_shape(j, sid):
    assert set(j) == {"service", "dates"} and j["service"] == sid, j
    assert list(j["dates"]) == sorted(j["dates"]), "dates not in order: %r" % j
    for d, entries in j["dates"].items():
        assert entries, "a date without entries must be absent: %r" % j
        prev = None
        for x in entries:
            assert set(x) == ENTRY_KEYS and x["providerIds"], x
            assert x["startTime"].endswith(".000Z") and x["endTime"].endswith(".000Z"), x
            assert x["startTime"][:10] == d, ("entry not under the UTC date of its start", d, x)
            key = (x["startTime"], x["endTime"])
            assert prev is None or key > prev, "entries not in (start, end) order: %r" % entries
            prev = key


def flatten(j):
    """{(startTime, endTime): providerIds} of a team answer."""
    return {(x["startTime"], x["endTime"]): x["providerIds"]
            for entries in j["dates"].values() for x in entries}


def expected(pids, first, last, sid=None):
    """The merge worked out from each provider's own availability route: its
    slots of the local dates first - 1 .. last + 1 starting in the UTC dates
    [first, last]."""
    lo = local_dt("UTC", first, "00:00")
    hi = local_dt("UTC", last + dt.timedelta(days=1), "00:00")
    out = {}
    for pid in pids:
        d = first - dt.timedelta(days=1)
        while d <= last + dt.timedelta(days=1):
            params = {"date": str(d)}
            if sid is not None:
                params["service"] = sid
            for s in expect(availability(pid, **params), 200)["slots"]:
                st = dt.datetime.fromisoformat(s["startTime"].replace("Z", "+00:00"))
                if lo <= st < hi:
                    out.setdefault((s["startTime"], s["endTime"]), []).append(pid)
            d += dt.timedelta(days=1)
    return out


def utc(d, hhmm):
    return local_dt("UTC", d, hhmm)


def week(day):
    return {day: [{"start": "09:00", "end": "11:00"}]}


# ------------------------------------------------------------------ the merge
def test_merge_across_zones_and_durations():
    mon = future_date("monday")
    berlin = make_provider("Europe/Berlin", weeklySchedule=week("monday"))
    berlin2 = make_provider("Europe/Berlin", weeklySchedule=week("monday"))
    kolkata = make_provider("Asia/Kolkata", weeklySchedule={"monday": [{"start": "12:30", "end": "14:30"}]})
    long_ = make_provider("Europe/Berlin", appointmentDuration=60, weeklySchedule=week("monday"))
    order = [kolkata, berlin2, long_, berlin]
    j = team_ok(order, date=str(mon))
    got = flatten(j)
    assert list(j["dates"]) == [str(mon)], j
    # Berlin 09:00 CEST = 07:00Z; Kolkata 12:30 IST = 07:00Z: same start and end, one entry
    s7 = iso_z(utc(mon, "07:00"))
    assert got[(s7, iso_z(utc(mon, "07:30")))] == [kolkata, berlin2, berlin], got
    # a provider whose slots last differently is listed apart
    assert got[(s7, iso_z(utc(mon, "08:00")))] == [long_], got
    assert got[(iso_z(utc(mon, "08:30")), iso_z(utc(mon, "09:00")))] == [kolkata, berlin2, berlin], got
    assert got[(iso_z(utc(mon, "08:00")), iso_z(utc(mon, "09:00")))] == [long_], got
    assert len(got) == 4 + 2, got  # four 30-minute starts, two 60-minute ones (the step is the duration)
    # the query's order decides the order of providerIds
    got2 = flatten(team_ok(list(reversed(order)), date=str(mon)))
    assert got2[(s7, iso_z(utc(mon, "07:30")))] == [berlin, berlin2, kolkata], got2
    assert got == {k: [p for p in order if p in v] for k, v in got2.items()}
    assert got == {k: [p for p in order if p in v] for k, v in expected(order, mon, mon).items()}


def test_utc_date_keys_and_range_bounds():
    mon = future_date("monday")
    sun = mon - dt.timedelta(days=1)
    # Sunday 20:00-22:00 in New York (EDT) is Monday 00:00-02:00Z
    ny = make_provider("America/New_York", appointmentDuration=60,
                       weeklySchedule={"sunday": [{"start": "20:00", "end": "22:00"}]})
    # Monday 00:30-01:30 in Tokyo is Sunday 15:30-16:30Z
    tokyo = make_provider("Asia/Tokyo", weeklySchedule={"monday": [{"start": "00:30", "end": "01:30"}]})
    j = team_ok([ny, tokyo], date=str(mon))
    assert flatten(j) == {(iso_z(utc(mon, "00:00")), iso_z(utc(mon, "01:00"))): [ny],
                          (iso_z(utc(mon, "01:00")), iso_z(utc(mon, "02:00"))): [ny]}, j
    j = team_ok([ny, tokyo], date=str(sun))
    assert list(j["dates"]) == [str(sun)], j
    assert flatten(j) == {(iso_z(utc(sun, "15:30")), iso_z(utc(sun, "16:00"))): [tokyo],
                          (iso_z(utc(sun, "16:00")), iso_z(utc(sun, "16:30"))): [tokyo]}, j
    j = team_ok([ny, tokyo], startDate=str(sun), endDate=str(mon))
    assert list(j["dates"]) == [str(sun), str(mon)] and len(flatten(j)) == 4, j
    # dates without entries are absent; a date with no slot at all gives an empty object
    assert team_ok([ny, tokyo], date=str(mon + dt.timedelta(days=2)))["dates"] == {}
    # a slot starting exactly at endDate + 1 00:00Z is outside; one at startDate 00:00Z inside
    utc_p = make_provider("UTC", weeklySchedule={"monday": [{"start": "00:00", "end": "01:00"}],
                                                 "sunday": [{"start": "23:00", "end": "24:00"}]})
    got = flatten(team_ok([utc_p], date=str(sun)))
    assert sorted(got) == [(iso_z(utc(sun, "23:00")), iso_z(utc(sun, "23:30"))),
                           (iso_z(utc(sun, "23:30")), iso_z(utc(mon, "00:00")))], got
    got = flatten(team_ok([utc_p], date=str(mon)))
    assert min(got)[0] == iso_z(utc(mon, "00:00")), got


def test_31_dates_at_most():
    pid = make_provider("UTC")
    d = future_date()
    j = team_ok([pid], startDate=str(d), endDate=str(d + dt.timedelta(days=30)))
    assert len(j["dates"]) == 31, list(j["dates"])
    assert all(len(v) == 48 for v in j["dates"].values())
    err = check_error(team([pid], startDate=str(d), endDate=str(d + dt.timedelta(days=31))),
                      422, "VALIDATION_ERROR", field="endDate")
    assert err["details"]["endDate"] == ["must be at most 30 days after startDate"], err
    check_error(team([pid], startDate=str(d), endDate=str(d - dt.timedelta(days=1))),
                422, "VALIDATION_ERROR", field="endDate")


def test_malformed_queries_are_422():
    pid = make_provider("UTC")
    d = str(future_date())
    for bad in (None, [], [""], ["not-a-uuid"], [pid, pid], [pid, pid.upper()], [pid, ""],
                [pid + "0"], [uuid4() for _ in range(51)]):
        check_error(team(bad, date=d), 422, "VALIDATION_ERROR", field="providerIds")
    check_error(get("/api/availability?providerIds=%s,&date=%s" % (pid, d)), 422,
                "VALIDATION_ERROR", field="providerIds")
    for bad in ("Yoga", "-x", "yo_ga", "a" * 64, ""):
        check_error(team([pid], date=d, service=bad), 422, "VALIDATION_ERROR", field="service")
    check_error(team([pid]), 422, "VALIDATION_ERROR", field="date")
    check_error(team([pid], date="2028-02-30"), 422, "VALIDATION_ERROR", field="date")
    check_error(team([pid], date=d, startDate=d, endDate=d), 422, "VALIDATION_ERROR", field="date")
    check_error(team([pid], startDate=d), 422, "VALIDATION_ERROR", field="endDate")
    # malformed before unknown: a query naming an unknown provider badly is 422
    check_error(team([uuid4(), "x"], date=d), 422, "VALIDATION_ERROR", field="providerIds")
    # upper-case UUIDs are UUIDs; the answer names them in lower case
    j = team_ok([pid.upper()], date=d)
    assert all(x["providerIds"] == [pid] for v in j["dates"].values() for x in v), j


def test_404_names_the_first_offending_provider():
    d = str(future_date())
    good = make_provider("UTC")
    service(good, "consult", duration=45)
    no_svc = make_provider("UTC")
    retired = make_provider("UTC")
    service(retired, "consult", duration=45)
    expect(svc_delete(retired, "consult"), 200)
    u1, u2 = uuid4(), uuid4()
    for order, first in (([good, u1, u2], u1), ([good, u2, u1], u2), ([good, no_svc, u1], no_svc),
                         ([u1, no_svc], u1), ([good, retired, no_svc], retired),
                         ([no_svc, good, retired], no_svc)):
        err = check_error(team(order, date=d, service="consult"), 404, "NOT_FOUND")
        assert first in err["message"], (order, first, err)
        assert not any(p in err["message"] for p in order if p != first), err
    # default is every provider's
    team_ok([good, no_svc, retired], date=d)
    err = check_error(team([good, u1], date=d), 404, "NOT_FOUND")
    assert u1 in err["message"], err
    j = team_ok([good], date=d, service="consult")
    assert all(x["endTime"] > x["startTime"] for v in j["dates"].values() for x in v)


def test_seats_and_holds_respected():
    d = future_date()
    a = make_provider("UTC", weeklySchedule=week(d.strftime("%A").lower()))
    b = make_provider("UTC", weeklySchedule=week(d.strftime("%A").lower()))
    for pid in (a, b):
        service(pid, "class", duration=60, slotInterval=60, capacity=2)
    nine = (iso_z(utc(d, "09:00")), iso_z(utc(d, "10:00")))
    ten = (iso_z(utc(d, "10:00")), iso_z(utc(d, "11:00")))
    assert flatten(team_ok([a, b], date=str(d), service="class")) == {nine: [a, b], ten: [a, b]}
    booked(a, utc(d, "09:00"), "class")  # one seat of two: still offered
    assert flatten(team_ok([a, b], date=str(d), service="class"))[nine] == [a, b]
    booked(a, utc(d, "09:00"), "class")  # full: a drops out of that entry only
    got = flatten(team_ok([a, b], date=str(d), service="class"))
    assert got == {nine: [b], ten: [a, b]}, got
    held(b, utc(d, "10:00"), "class")
    held(b, utc(d, "10:00"), "class")  # two live holds fill b's 10:00 session
    got = flatten(team_ok([a, b], date=str(d), service="class"))
    assert got == {nine: [b], ten: [a]}, got
    # a default booking of b conflicts with its 09:00 class session too
    expect(book_svc(b, utc(d, "09:30")), 201)
    got = flatten(team_ok([a, b], date=str(d), service="class"))
    assert got == {ten: [a]}, got
    assert got == expected([a, b], d, d, "class")


def test_agrees_with_each_providers_own_route():
    mon = future_date("monday")
    pids = [make_provider("America/Los_Angeles", weeklySchedule=week("monday")),
            make_provider("Pacific/Auckland", appointmentDuration=45,
                          weeklySchedule={"tuesday": [{"start": "08:00", "end": "12:00"}]}),
            make_provider("Asia/Kathmandu", slotInterval=15, weeklySchedule=week("monday")),
            make_provider("UTC", bufferAfter=15, weeklySchedule=week("monday"))]
    booked(pids[0], local_dt("America/Los_Angeles", mon, "09:30"))
    booked(pids[3], utc(mon, "10:00"))
    expect(book_svc(pids[2], local_dt("Asia/Kathmandu", mon, "09:15")), 201)
    for sid in (None, "consult"):
        if sid:
            for i, pid in enumerate(pids):
                service(pid, sid, duration=20 + 10 * i, bufferBefore=5)
        params = {"startDate": str(mon - dt.timedelta(days=1)), "endDate": str(mon + dt.timedelta(days=1))}
        if sid:
            params["service"] = sid
        got = flatten(team_ok(pids, **params))
        want = expected(pids, mon - dt.timedelta(days=1), mon + dt.timedelta(days=1), sid)
        assert got == want, (sid, sorted(set(got) ^ set(want)))
        assert got, "no slots at all"
        # a repeat (served by the worker's cache) is the same answer
        assert flatten(team_ok(pids, **params)) == got


def test_a_booking_shows_at_once():
    d = future_date()
    a = make_provider("UTC", weeklySchedule=week(d.strftime("%A").lower()))
    b = make_provider("UTC", weeklySchedule=week(d.strftime("%A").lower()))
    slot = (iso_z(utc(d, "09:00")), iso_z(utc(d, "09:30")))
    for _ in range(3):  # warm every worker's cache
        assert flatten(team_ok([a, b], date=str(d)))[slot] == [a, b]
    booked(b, utc(d, "09:00"))
    for _ in range(6):
        assert flatten(team_ok([a, b], date=str(d)))[slot] == [a]


def test_fifty_providers():
    d = future_date("wednesday")
    pids = [make_provider(("UTC", "Europe/Berlin", "America/New_York")[i % 3],
                          appointmentDuration=(30, 60)[i % 2], weeklySchedule=week("wednesday"))
            for i in range(50)]
    booked(pids[7], local_dt("Europe/Berlin", d, "09:00"))
    j = team_ok(pids, startDate=str(d - dt.timedelta(days=3)), endDate=str(d + dt.timedelta(days=3)))
    got = flatten(j)
    # the same local hours in three zones and two durations: 4 + 2 distinct (start, end) per zone
    assert len(got) == 3 * 6, sorted(got)
    for (s, e), who in got.items():
        assert who == [p for p in pids if p in who], "providerIds not in query order"
    berlin9 = (iso_z(local_dt("Europe/Berlin", d, "09:00")), iso_z(local_dt("Europe/Berlin", d, "10:00")))
    assert pids[7] not in got[berlin9] and len(got[berlin9]) == 8, got[berlin9]
    # every provider is named somewhere, by its own slots only
    assert set(p for who in got.values() for p in who) == set(pids)
    check_error(team(pids + [uuid4()], date=str(d)), 422, "VALIDATION_ERROR", field="providerIds")
