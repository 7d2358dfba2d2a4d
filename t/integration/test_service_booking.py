"""Booking with services: seats and sessions, conflicts with each entry's own
buffers (the asymmetric rule), provider and service limits per local day and
ISO week (DST days included), unknown/retired/ill-formed serviceIds, the
duration and buffers an appointment keeps, reschedule taking the service's
current values, serviceId in responses, lists and event payloads, and the
compat shape when no service is named. Every test makes its own provider;
expected slots are worked out by hand from "How slots are computed"."""

import datetime as dt
import urllib.parse

from lib import (availability, cancel, check_error, dst_days, expect, future_date, get, iso_z,
                 local_dt, make_provider, minutes, outbox, patient, post, post_schedule, q,
                 reschedule, schedule_body, sql)
from test_services import svc_delete, svc_put

COMPAT_KEYS = {"appointmentId", "status", "patientId", "providerId", "startTime", "endTime"}


# ------------------------------------------------------------------ helpers
def service(pid, sid, **fields):
    """Create or replace service sid (name defaults to sid); returns it."""
    body = {"name": sid}
    body.update(fields)
    r = svc_put(pid, sid, body)
    assert r.status in (200, 201), "service PUT failed: %r" % r
    return r.json


def book_svc(pid, start, sid=None, patient_id=None, **kw):
    """POST /api/appointments naming serviceId sid (none: the field is left out)."""
    body = {"patientId": patient_id or patient(), "providerId": pid,
            "startTime": start if isinstance(start, str) else iso_z(start)}
    if sid is not None:
        body["serviceId"] = sid
    return post("/api/appointments", body, **kw)


def booked(pid, start, sid=None):
    j = expect(book_svc(pid, start, sid), 201)
    assert j["status"] == "CONFIRMED", j
    assert j["serviceId"] == (sid or "default"), j
    return j


def refused(pid, start, sid=None):
    err = check_error(book_svc(pid, start, sid), 409, "CONFLICT")
    assert "not available" in err["message"], err
    return err


def offered(pid, d, sid=None):
    """{startTime (UTC ms string): seatsLeft} of local date d for service sid."""
    params = {"date": str(d)}
    if sid is not None:
        params["service"] = sid
    j = expect(availability(pid, **params), 200)
    assert len(j["slots"]) == len(j["availableSlots"]), j
    return {s["startTime"]: s["seatsLeft"] for s in j["slots"]}


def utc(d, hhmm):
    return local_dt("UTC", d, hhmm)


def grid(d, first, last, step):
    """UTC instants first..last (inclusive) on date d every `step` minutes."""
    out, t, end = [], utc(d, first), utc(d, last)
    while t <= end:
        out.append(t)
        t += minutes(step)
    return out


def row(aid):
    """(service_id, buffer_before, buffer_after, status, minutes of end - start) of one row."""
    r = sql("SELECT service_id, buffer_before, buffer_after, status, "
            "extract(epoch FROM end_at - start_at)::bigint / 60 FROM appointments WHERE id = %s" % q(aid))
    assert len(r) == 1, r
    return (r[0][0], int(r[0][1]), int(r[0][2]), r[0][3], int(r[0][4]))


def get_appt(aid):
    return expect(get("/api/appointments/%s" % aid), 200)


def list_appts(**params):
    return get("/api/appointments?" + urllib.parse.urlencode(params))


# ------------------------------------------------------------------ seats and sessions
def test_seats_fill_then_the_slot_disappears():
    pid = make_provider("UTC")
    service(pid, "class", duration=60, capacity=3)
    d = future_date()
    st = iso_z(utc(d, "10:00"))
    assert offered(pid, d, "class")[st] == 3
    a = []
    for left in (2, 1):
        a.append(booked(pid, st, "class"))
        assert offered(pid, d, "class")[st] == left
    a.append(booked(pid, st, "class"))
    assert st not in offered(pid, d, "class")
    refused(pid, st, "class")
    # every seat is its own appointment of the one session, same times
    assert len({x["appointmentId"] for x in a}) == 3
    assert {(x["startTime"], x["endTime"]) for x in a} == {(st, iso_z(utc(d, "11:00")))}
    rows = sql("SELECT service_id, count(*) FROM appointments WHERE provider_id = %s "
               "AND status = 'CONFIRMED' GROUP BY service_id" % q(pid))
    assert rows == [["class", "3"]], rows
    # a cancel frees a seat at once
    expect(cancel(a[1]["appointmentId"]), 200)
    assert offered(pid, d, "class")[st] == 1
    booked(pid, st, "class")
    assert st not in offered(pid, d, "class")
    refused(pid, st, "class")


def test_sessions_that_would_overlap_conflict():
    pid = make_provider("UTC", slotInterval=30)
    service(pid, "group", duration=60, capacity=3)
    d = future_date()
    booked(pid, utc(d, "10:00"), "group")
    got = offered(pid, d, "group")
    # 09:30 and 10:30 would be other sessions overlapping 10:00-11:00
    assert iso_z(utc(d, "09:30")) not in got and iso_z(utc(d, "10:30")) not in got, got
    assert got[iso_z(utc(d, "10:00"))] == 2 and got[iso_z(utc(d, "09:00"))] == 3, got
    assert got[iso_z(utc(d, "11:00"))] == 3, got
    refused(pid, utc(d, "10:30"), "group")
    refused(pid, utc(d, "09:30"), "group")
    # another service at the very same start is another session: conflict
    refused(pid, utc(d, "10:00"))
    service(pid, "other", duration=60, capacity=3)
    refused(pid, utc(d, "10:00"), "other")
    booked(pid, utc(d, "11:00"), "group")  # back to back, no buffers
    booked(pid, utc(d, "10:00"), "group")  # the first session still takes seats
    n = sql("SELECT count(DISTINCT start_at), count(*) FROM appointments WHERE provider_id = %s "
            "AND status = 'CONFIRMED'" % q(pid))
    assert n == [["2", "3"]], n


def test_buffers_apply_asymmetrically():
    """Step 4: X=[a,b) with Xb, Xa conflicts with candidate s (D, Sb, Sa) when
    s < b + Xa + Sb and a < s + D + Sa + Xb."""
    pid = make_provider("UTC", slotInterval=15,
                        weeklySchedule={d: {"start": "08:00", "end": "14:00"} for d in
                                        ("monday", "tuesday", "wednesday", "thursday", "friday",
                                         "saturday", "sunday")})
    service(pid, "after30", duration=30, bufferAfter=30)
    service(pid, "before15", duration=30, bufferBefore=15)
    d = future_date()
    day = grid(d, "08:00", "13:30", 15)

    def check(sid, blocked):
        """blocked: open ranges (lo, hi) of starts worked out by hand."""
        want = [t for t in day if not any(utc(d, lo) < t < utc(d, hi) for lo, hi in blocked)]
        got = offered(pid, d, sid)
        assert list(got) == [iso_z(t) for t in want], (sid, sorted(got), [iso_z(t) for t in want])

    x = booked(pid, utc(d, "10:00"), "after30")  # [10:00, 10:30), Xb 0, Xa 30
    assert row(x["appointmentId"])[:3] == ("after30", 0, 30)
    # default (0, 0, 30): s < 10:30+30+0 = 11:00 and 10:00 < s+30 -> (09:30, 11:00)
    check(None, [("09:30", "11:00")])
    # before15 (Sb 15): s < 10:30+30+15 = 11:15 and 10:00 < s+30 -> (09:30, 11:15)
    check("before15", [("09:30", "11:15")])
    # after30 (Sa 30): s < 11:00 and 10:00 < s+30+30 -> (09:00, 11:00); 10:00 is full
    check("after30", [("09:00", "11:00")])

    y = booked(pid, utc(d, "12:00"), "before15")  # [12:00, 12:30), Yb 15, Ya 0
    assert row(y["appointmentId"])[:3] == ("before15", 15, 0)
    # default: Y blocks s < 12:30 and 12:00 < s+30+0+15 -> (11:15, 12:30)
    check(None, [("09:30", "11:00"), ("11:15", "12:30")])
    # before15: Y blocks s < 12:30+0+15 and 12:00 < s+30+15 -> (11:15, 12:45)
    check("before15", [("09:30", "11:15"), ("11:15", "12:45")])
    # after30: Y blocks s < 12:30 and 12:00 < s+30+30+15 -> (10:45, 12:30)
    check("after30", [("09:00", "11:00"), ("10:45", "12:30")])

    # bookings follow the same rule, at the edges
    refused(pid, utc(d, "11:00"), "before15")
    refused(pid, utc(d, "12:15"), "after30")
    refused(pid, utc(d, "12:30"), "before15")
    refused(pid, utc(d, "09:45"))
    b = booked(pid, utc(d, "11:00"))  # default fits exactly between X's and Y's buffers
    assert row(b["appointmentId"])[:3] == ("default", 0, 0)
    booked(pid, utc(d, "12:45"), "before15")
    booked(pid, utc(d, "09:00"), "after30")  # ends 09:30 + 30 = X's start


def test_buffers_reach_outside_working_hours():
    pid = make_provider("UTC", slotInterval=30,
                        weeklySchedule={d: [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "15:00"}]
                                        for d in ("monday", "tuesday", "wednesday", "thursday", "friday",
                                                  "saturday", "sunday")})
    service(pid, "wide", duration=30, bufferBefore=60, bufferAfter=90)
    d = future_date()
    # the buffers of a candidate may lie outside the intervals: 09:00 and 14:30 are offered
    got = offered(pid, d, "wide")
    assert list(got) == [iso_z(t) for t in grid(d, "09:00", "11:30", 30) + grid(d, "13:00", "14:30", 30)], got
    x = booked(pid, utc(d, "11:30"), "wide")  # [11:30, 12:00), after-buffer to 13:30 across the break
    assert row(x["appointmentId"])[:3] == ("wide", 60, 90)
    # default: s < 12:00+90 = 13:30 and 11:30 < s+30+60 -> (10:00, 13:30)
    assert list(offered(pid, d)) == [iso_z(t) for t in
                                     [utc(d, "09:00"), utc(d, "09:30"), utc(d, "10:00"), utc(d, "13:30"),
                                      utc(d, "14:00"), utc(d, "14:30")]]
    # wide: s < 12:00+90+60 = 14:30 and 11:30 < s+30+90+60 -> (08:30, 14:30)
    assert list(offered(pid, d, "wide")) == [iso_z(utc(d, "14:30"))]
    refused(pid, utc(d, "13:00"))
    refused(pid, utc(d, "14:00"), "wide")
    booked(pid, utc(d, "13:30"))  # [13:30, 14:00), no buffers of its own
    # wide's own before-buffer (60) now reaches back into that default: s < 14:00 + 0 + 60
    assert offered(pid, d, "wide") == {}
    refused(pid, utc(d, "14:30"), "wide")


# ------------------------------------------------------------------ limits
def test_provider_per_day_limit():
    body = schedule_body("UTC", limits={"perDay": 3})
    pid = make_provider("UTC", limits={"perDay": 3})
    service(pid, "class", duration=60, capacity=3)
    d = future_date()
    c1 = booked(pid, utc(d, "09:00"), "class")
    booked(pid, utc(d, "11:00"))
    d12 = booked(pid, utc(d, "12:00"))
    # three sessions: nothing new opens that day, whatever the service
    assert offered(pid, d) == {}
    assert offered(pid, d, "class") == {iso_z(utc(d, "09:00")): 2}
    refused(pid, utc(d, "14:00"))
    refused(pid, utc(d, "15:00"), "class")
    # a seat in the existing session does not count again
    c2 = booked(pid, utc(d, "09:00"), "class")
    # other days are untouched
    nxt = d + dt.timedelta(days=1)
    assert len(offered(pid, nxt)) == 48
    booked(pid, utc(nxt, "11:00"))
    # lowering the limit closes no existing session
    expect(post_schedule(pid, dict(body, limits={"perDay": 1})), 200)
    c3 = booked(pid, utc(d, "09:00"), "class")
    refused(pid, utc(d, "14:00"))
    expect(post_schedule(pid, body), 200)
    # a cancel reopens the day
    expect(cancel(d12["appointmentId"]), 200)
    assert len(offered(pid, d)) > 0
    booked(pid, utc(d, "14:00"))
    assert offered(pid, d) == {}
    # cancelling some seats of a session keeps it counted; the last one frees it
    expect(cancel(c1["appointmentId"]), 200)
    expect(cancel(c2["appointmentId"]), 200)
    refused(pid, utc(d, "16:00"))
    expect(cancel(c3["appointmentId"]), 200)
    booked(pid, utc(d, "16:00"))
    refused(pid, utc(d, "18:00"))


def test_provider_per_week_in_local_iso_week_east_of_utc():
    """Asia/Tokyo: local Monday 00:00 is Sunday 15:00Z, so the UTC week would be wrong."""
    tz = "Asia/Tokyo"
    pid = make_provider(tz, limits={"perWeek": 2})
    sun = future_date("sunday")
    mon = sun + dt.timedelta(days=1)
    booked(pid, local_dt(tz, sun, "22:00"))
    booked(pid, local_dt(tz, sun, "23:00"))
    refused(pid, local_dt(tz, sun, "20:00"))
    assert offered(pid, sun) == {} and offered(pid, sun - dt.timedelta(days=6)) == {}
    m0 = local_dt(tz, mon, "00:00")
    assert m0 == dt.datetime.combine(sun, dt.time(15, 0), tzinfo=dt.timezone.utc), m0
    assert len(offered(pid, mon)) == 48
    booked(pid, m0)
    booked(pid, local_dt(tz, mon, "01:00"))
    refused(pid, local_dt(tz, mon, "03:00"))
    assert offered(pid, mon) == {} and offered(pid, mon + dt.timedelta(days=6)) == {}
    assert len(offered(pid, mon + dt.timedelta(days=7))) == 48


def test_provider_per_week_in_local_iso_week_west_of_utc():
    """America/New_York: local Sunday 21:00 is Monday 01:00Z, still the old local week."""
    tz = "America/New_York"
    pid = make_provider(tz, limits={"perWeek": 2})
    sun = future_date("sunday")
    booked(pid, local_dt(tz, sun - dt.timedelta(days=1), "10:00"))
    booked(pid, local_dt(tz, sun - dt.timedelta(days=1), "11:00"))
    late = local_dt(tz, sun, "21:00")
    assert late.weekday() == 0, late
    refused(pid, late)
    assert offered(pid, sun) == {}
    booked(pid, local_dt(tz, sun + dt.timedelta(days=1), "00:00"))


def test_service_limits_count_only_that_service():
    pid = make_provider("UTC")
    service(pid, "lim", duration=30, limits={"perDay": 2, "perWeek": 3})
    service(pid, "free", duration=30)
    mon = future_date("monday")
    tue = mon + dt.timedelta(days=1)
    for h in ("09:00", "10:00", "11:00"):
        booked(pid, utc(mon, h))  # default sessions do not count for lim
    booked(pid, utc(mon, "12:00"), "lim")
    booked(pid, utc(mon, "13:00"), "lim")
    refused(pid, utc(mon, "14:00"), "lim")
    assert offered(pid, mon, "lim") == {}
    # lim's limits bind nobody else
    booked(pid, utc(mon, "15:00"))
    booked(pid, utc(mon, "16:00"), "free")
    assert len(offered(pid, mon, "free")) > 0
    # the week: one more on Tuesday, then the week is full
    booked(pid, utc(tue, "09:00"), "lim")
    refused(pid, utc(tue, "10:00"), "lim")
    assert offered(pid, tue, "lim") == {} and offered(pid, mon + dt.timedelta(days=6), "lim") == {}
    booked(pid, utc(tue, "10:00"), "free")
    booked(pid, utc(mon + dt.timedelta(days=7), "09:00"), "lim")


def test_per_day_on_23_hour_day():
    """Europe/Berlin spring-forward: the local date runs 23:00Z (day before) to 22:00Z."""
    tz = "Europe/Berlin"
    spring, _ = dst_days(tz)
    pid = make_provider(tz, appointmentDuration=60, limits={"perDay": 3})
    assert len(offered(pid, spring)) == 23
    first = local_dt(tz, spring, "00:00")
    assert first.date() == spring - dt.timedelta(days=1), first  # a UTC date earlier
    booked(pid, first)
    booked(pid, local_dt(tz, spring, "01:00"))
    booked(pid, local_dt(tz, spring, "23:00"))
    refused(pid, local_dt(tz, spring, "12:00"))
    assert offered(pid, spring) == {}
    # the neighbouring local dates are other days, though they share UTC dates
    booked(pid, local_dt(tz, spring - dt.timedelta(days=1), "23:00"))
    nxt = local_dt(tz, spring + dt.timedelta(days=1), "00:00")
    assert nxt.date() == spring, nxt
    booked(pid, nxt)


def test_per_day_on_25_hour_day():
    tz = "Europe/Berlin"
    _, fall = dst_days(tz)
    pid = make_provider(tz, appointmentDuration=60, limits={"perDay": 3})
    slots = list(offered(pid, fall))
    assert len(slots) == 25, slots
    booked(pid, slots[0])    # 00:00 CEST, the day before in UTC
    booked(pid, slots[2])    # the first 02:00
    booked(pid, slots[-1])   # 23:00 CET
    refused(pid, slots[3])   # the second 02:00
    assert offered(pid, fall) == {}
    booked(pid, local_dt(tz, fall + dt.timedelta(days=1), "00:00"))
    booked(pid, local_dt(tz, fall - dt.timedelta(days=1), "23:00"))


# ------------------------------------------------------------------ unknown, retired, ill-formed
def test_unknown_service_is_404():
    pid = make_provider("UTC")
    other = make_provider("UTC")
    service(other, "theirs", duration=30)
    d = future_date()
    for sid in ("nope", "theirs"):
        err = check_error(availability(pid, date=str(d), service=sid), 404, "NOT_FOUND")
        assert err["message"] == "Service not found.", err
        err = check_error(book_svc(pid, utc(d, "10:00"), sid), 404, "NOT_FOUND")
        assert err["message"] == "Service not found.", err
    assert sql("SELECT count(*) FROM appointments WHERE provider_id = %s" % q(pid)) == [["0"]]


def test_retired_service():
    pid = make_provider("UTC")
    service(pid, "old", duration=45)
    d = future_date()
    a1 = booked(pid, utc(d, "10:00"), "old")
    a2 = booked(pid, utc(d, "12:00"), "old")
    expect(svc_delete(pid, "old"), 200)
    err = check_error(availability(pid, date=str(d), service="old"), 404, "NOT_FOUND")
    assert err["message"] == "Service not found.", err
    err = check_error(book_svc(pid, utc(d, "14:00"), "old"), 404, "NOT_FOUND")
    assert err["message"] == "Service not found.", err
    check_error(reschedule(a1["appointmentId"], utc(d, "16:00")), 409, "CONFLICT")
    g = get_appt(a1["appointmentId"])
    assert (g["startTime"], g["endTime"], g["serviceId"], g["status"]) == \
        (a1["startTime"], a1["endTime"], "old", "CONFIRMED"), g
    # its appointments still block the calendar and can be cancelled
    refused(pid, utc(d, "10:00"))
    expect(cancel(a2["appointmentId"]), 200)
    g = get_appt(a2["appointmentId"])
    assert g["status"] == "CANCELLED" and g["serviceId"] == "old", g
    ev = [e["envelope"]["payload"] for e in outbox(aggregate_id=a2["appointmentId"])]
    assert ev[-1]["serviceId"] == "old" and ev[-1]["status"] == "CANCELLED", ev
    booked(pid, utc(d, "12:00"))


def test_service_id_outside_pattern_is_422():
    pid = make_provider("UTC")
    d = future_date()
    for bad in ("Yoga", "DEFAULT", "-x", "yo_ga", "yo ga", "a" * 64, "", "\u00e9t\u00e9", 5, True, ["x"]):
        check_error(book_svc(pid, utc(d, "10:00"), bad), 422, "VALIDATION_ERROR", field="serviceId")
    for bad in ("Yoga", "DEFAULT", "-x", "yo_ga", "a" * 64, "yoga/x", ""):
        check_error(availability(pid, date=str(d), service=bad), 422, "VALIDATION_ERROR", field="service")
    check_error(list_appts(providerId=pid, serviceId="Bad_id"), 422, "VALIDATION_ERROR", field="serviceId")
    assert sql("SELECT count(*) FROM appointments WHERE provider_id = %s" % q(pid)) == [["0"]]


# ------------------------------------------------------------------ what an appointment keeps
def test_response_and_get_carry_service_id_and_duration():
    pid = make_provider("UTC")
    service(pid, "long", duration=75, bufferBefore=10, bufferAfter=20)
    d = future_date()
    a = booked(pid, utc(d, "08:00"), "long")
    assert a["endTime"] == iso_z(utc(d, "09:15")), a
    assert COMPAT_KEYS <= set(a), a
    g = get_appt(a["appointmentId"])
    assert g["serviceId"] == "long" and g["endTime"] == a["endTime"], g
    assert row(a["appointmentId"]) == ("long", 10, 20, "CONFIRMED", 75)
    b = booked(pid, utc(d, "12:00"))
    assert b["endTime"] == iso_z(utc(d, "12:30")), b
    assert row(b["appointmentId"]) == ("default", 0, 0, "CONFIRMED", 30)
    # explicit "default" is the same as none
    c = booked(pid, utc(d, "14:00"), "default")
    assert c["endTime"] == iso_z(utc(d, "14:30")), c


def test_service_change_keeps_existing_appointments():
    pid = make_provider("UTC", slotInterval=30)
    service(pid, "s", duration=60, bufferAfter=0)
    d = future_date()
    a = booked(pid, utc(d, "10:00"), "s")
    service(pid, "s", duration=90, bufferAfter=30)
    g = get_appt(a["appointmentId"])
    assert g["endTime"] == iso_z(utc(d, "11:00")), g
    assert row(a["appointmentId"]) == ("s", 0, 0, "CONFIRMED", 60)
    # a keeps Xa = 0: default can start right at 11:00
    assert iso_z(utc(d, "11:00")) in offered(pid, d)
    # new bookings take the new values; s itself sees its Sa = 30 before a
    b = booked(pid, utc(d, "13:00"), "s")
    assert b["endTime"] == iso_z(utc(d, "14:30")), b
    assert row(b["appointmentId"]) == ("s", 0, 30, "CONFIRMED", 90)
    # s: a blocks s < 11:00 and 10:00 < s+90+30 -> (08:00, 11:00)
    got = offered(pid, d, "s")
    assert iso_z(utc(d, "08:00")) in got and iso_z(utc(d, "08:30")) not in got, got
    # reschedule takes the current duration and buffers
    r = expect(reschedule(a["appointmentId"], utc(d, "16:00")), 200)
    assert r["endTime"] == iso_z(utc(d, "17:30")) and r["serviceId"] == "s", r
    assert row(a["appointmentId"]) == ("s", 0, 30, "CONFIRMED", 90)
    # and it counts itself absent: moving it by 30 minutes works
    r = expect(reschedule(a["appointmentId"], utc(d, "16:30")), 200)
    assert r["endTime"] == iso_z(utc(d, "18:00")), r


def test_schedule_change_keeps_default_appointments_buffers():
    body = schedule_body("UTC", slotInterval=30)
    pid = make_provider("UTC", slotInterval=30)
    d = future_date()
    a = booked(pid, utc(d, "10:00"))
    expect(post_schedule(pid, dict(body, appointmentDuration=60, bufferAfter=60)), 200)
    assert row(a["appointmentId"]) == ("default", 0, 0, "CONFIRMED", 30)
    assert get_appt(a["appointmentId"])["endTime"] == iso_z(utc(d, "10:30"))
    # candidate (D 60, Sa 60): a blocks s < 10:30 and 10:00 < s+60+60 -> (08:00, 10:30)
    got = offered(pid, d)
    assert iso_z(utc(d, "10:30")) in got and iso_z(utc(d, "08:00")) in got, got
    assert iso_z(utc(d, "08:30")) not in got and iso_z(utc(d, "10:00")) not in got, got
    b = booked(pid, utc(d, "10:30"))
    assert b["endTime"] == iso_z(utc(d, "11:30")), b
    assert row(b["appointmentId"]) == ("default", 0, 60, "CONFIRMED", 60)


def test_event_payloads_carry_service_id_and_status():
    pid = make_provider("UTC")
    service(pid, "yoga", duration=60)
    d = future_date()
    a = booked(pid, utc(d, "10:00"), "yoga")
    aid = a["appointmentId"]
    expect(reschedule(aid, utc(d, "12:00")), 200)
    expect(cancel(aid, "gone"), 200)
    b = booked(pid, utc(d, "15:00"))
    ev = [e["envelope"] for e in outbox(aggregate_id=aid)]
    assert [e["eventType"] for e in ev] == ["APPOINTMENT_CONFIRMED", "APPOINTMENT_RESCHEDULED",
                                           "APPOINTMENT_CANCELLED"], ev
    p = [e["payload"] for e in ev]
    assert all(x["serviceId"] == "yoga" for x in p), p
    assert [x["status"] for x in p] == ["CONFIRMED", "CONFIRMED", "CANCELLED"], p
    assert p[0]["endTime"] == iso_z(utc(d, "11:00")), p[0]
    assert p[1]["newAppointmentTime"] == iso_z(utc(d, "12:00")) and p[1]["endTime"] == iso_z(utc(d, "13:00")), p[1]
    assert p[2]["reason"] == "gone" and p[2]["appointmentTime"] == iso_z(utc(d, "12:00")), p[2]
    pb = [e["envelope"]["payload"] for e in outbox(aggregate_id=b["appointmentId"])]
    assert len(pb) == 1 and pb[0]["serviceId"] == "default" and pb[0]["status"] == "CONFIRMED", pb


def test_list_filters_by_service_id():
    pid = make_provider("UTC")
    service(pid, "a", duration=30)
    service(pid, "b", duration=30)
    d = future_date()
    ids = {"a": [booked(pid, utc(d, "09:00"), "a")["appointmentId"],
                 booked(pid, utc(d, "11:00"), "a")["appointmentId"]],
           "b": [booked(pid, utc(d, "10:00"), "b")["appointmentId"]],
           "default": [booked(pid, utc(d, "12:00"))["appointmentId"]]}
    for sid, want in ids.items():
        j = expect(list_appts(providerId=pid, serviceId=sid), 200)
        assert [x["appointmentId"] for x in j["appointments"]] == want, (sid, j)
        assert all(x["serviceId"] == sid for x in j["appointments"]), j
    j = expect(list_appts(providerId=pid), 200)
    assert len(j["appointments"]) == 4, j
    assert expect(list_appts(providerId=pid, serviceId="nothing-here"), 200)["appointments"] == []
    for bad in ("A", "a_b", "-a", "a" * 64):
        check_error(list_appts(providerId=pid, serviceId=bad), 422, "VALIDATION_ERROR", field="serviceId")


def test_no_service_named_is_as_before():
    tz = "Europe/Berlin"
    pid = make_provider(tz, weeklySchedule={"monday": {"start": "09:00", "end": "11:00"}})
    d = future_date("monday")
    j = expect(availability(pid, date=str(d)), 200)
    assert set(j) == {"providerId", "date", "availableSlots", "timezone", "slots"}, j
    assert j["availableSlots"] == ["09:00", "09:30", "10:00", "10:30"], j
    assert all(set(s) == {"startTime", "endTime", "seatsLeft"} and s["seatsLeft"] == 1 for s in j["slots"]), j
    assert expect(availability(pid, date=str(d), service="default"), 200) == j
    a = booked(pid, local_dt(tz, d, "09:30"))
    assert a["endTime"] == iso_z(local_dt(tz, d, "10:00")) and a["serviceId"] == "default", a
    assert COMPAT_KEYS <= set(a), a
    assert offered(pid, d) == {iso_z(local_dt(tz, d, h)): 1 for h in ("09:00", "10:00", "10:30")}
    r = expect(availability(pid, startDate=str(d), endDate=str(d)), 200)
    assert r == {str(d): ["09:00", "10:00", "10:30"]}, r
    ev = outbox(aggregate_id=a["appointmentId"])[0]["envelope"]["payload"]
    assert ev["serviceId"] == "default" and ev["status"] == "CONFIRMED", ev
    assert ev["appointmentTime"] == a["startTime"] and ev["endTime"] == a["endTime"], ev
