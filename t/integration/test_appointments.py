"""POST/PUT/DELETE/GET /api/appointments and the outbox events they write."""

import datetime as dt
import re
import urllib.parse

from lib import (CANCEL_OK, assert_utc_ms, book, book_ok, cancel, check_error, delete, expect,
                 future_date, get, iso_offset, iso_z, local_dt, make_provider, minutes,
                 now_utc, outbox, outbox_count, patient, post, put, request, reschedule, slots_on,
                 uuid4)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_appt(j, pid=None, patient_id=None, start=None, duration=30, status="CONFIRMED"):
    for k in ("appointmentId", "status", "patientId", "providerId", "startTime", "endTime"):
        assert k in j, "missing %s: %r" % (k, j)
    assert UUID_RE.match(j["appointmentId"]), j
    assert j["status"] == status, j
    assert_utc_ms(j["startTime"], "startTime")
    assert_utc_ms(j["endTime"], "endTime")
    if pid is not None:
        assert j["providerId"] == pid, j
    if patient_id is not None:
        assert j["patientId"] == patient_id, j
    if start is not None:
        assert j["startTime"] == (start if isinstance(start, str) else iso_z(start)), (start, j)
    s = dt.datetime.fromisoformat(j["startTime"].replace("Z", "+00:00"))
    e = dt.datetime.fromisoformat(j["endTime"].replace("Z", "+00:00"))
    assert e - s == minutes(duration), j


def get_appt(aid):
    j = expect(get("/api/appointments/%s" % aid), 200)
    check_appt(j, status=j.get("status"))
    assert_utc_ms(j.get("createdAt"), "createdAt")
    assert_utc_ms(j.get("updatedAt"), "updatedAt")
    return j


def day_at(d, hm):
    return "%sT%s:00.000Z" % (d, hm)


# ------------------------------------------------------------------ booking
def test_book_201_shape_with_offset():
    tz = "Europe/Berlin"
    pid = make_provider(tz, weeklySchedule={"monday": {"start": "09:00", "end": "12:00"}})
    d = future_date("monday")
    start = local_dt(tz, d, "10:00")
    p = patient()
    r = book(pid, iso_offset(start, 5 * 60 + 45), p)  # e.g. 2027-06-07T13:45:00+05:45
    assert "+05:45" in iso_offset(start, 345)
    j = expect(r, 201)
    check_appt(j, pid, p, start)
    assert j["endTime"] == iso_z(start + minutes(30)), j
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    # negative offset and Z are equally fine
    j2 = expect(book(pid, iso_offset(local_dt(tz, d, "11:00"), -180)), 201)
    check_appt(j2, pid, start=local_dt(tz, d, "11:00"))
    # the slot is gone from availability
    labels, _ = slots_on(pid, d)
    assert "10:00" not in labels and "11:00" not in labels and "09:00" in labels, labels


def test_book_start_time_format_rules():
    pid = make_provider("UTC")
    d = future_date()
    for bad in ("%sT10:00:00" % d, "%s 10:00:00" % d, str(d), "10:00", "", "yesterday",
                "%sT25:00:00Z" % d, "%s-02-30T10:00:00Z" % d.year, 1234567890, None):
        r = post("/api/appointments", {"patientId": patient(), "providerId": pid, "startTime": bad})
        check_error(r, 422, "VALIDATION_ERROR", field="startTime")
    r = post("/api/appointments", {"patientId": patient(), "providerId": pid})
    check_error(r, 422, "VALIDATION_ERROR", field="startTime")


def test_book_other_field_rules():
    pid = make_provider("UTC")
    st = day_at(future_date(), "10:00")
    for body, field in (({"providerId": pid, "startTime": st}, "patientId"),
                        ({"patientId": "", "providerId": pid, "startTime": st}, "patientId"),
                        ({"patientId": "x" * 129, "providerId": pid, "startTime": st}, "patientId"),
                        ({"patientId": "a\u0007b", "providerId": pid, "startTime": st}, "patientId"),
                        ({"patientId": "a\nb", "providerId": pid, "startTime": st}, "patientId"),
                        ({"patientId": "\u0000", "providerId": pid, "startTime": st}, "patientId"),
                        ({"patientId": 42, "providerId": pid, "startTime": st}, "patientId"),
                        ({"patientId": "p", "startTime": st}, "providerId"),
                        ({"patientId": "p", "providerId": "nope", "startTime": st}, "providerId"),
                        ({"patientId": "p", "providerId": 7, "startTime": st}, "providerId")):
        check_error(post("/api/appointments", body), 422, "VALIDATION_ERROR", field=field)
    # 128 printable characters, including non-ASCII, are fine
    p = "é" + "x" * 126 + "ü"
    j = expect(post("/api/appointments", {"patientId": p, "providerId": pid, "startTime": st}), 201)
    assert j["patientId"] == p, j
    assert get_appt(j["appointmentId"])["patientId"] == p
    j = book_ok(pid, day_at(future_date(), "11:00"), "p 1 with spaces")
    assert j["patientId"] == "p 1 with spaces"


def test_book_request_rules():
    r = request("POST", "/api/appointments", raw='{"patientId": ', headers={"Content-Type": "application/json"})
    check_error(r, 400, "BAD_REQUEST")
    r = request("POST", "/api/appointments", raw='{"patientId": "p"}', headers={"Content-Type": "text/plain"})
    check_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    r = request("PUT", "/api/appointments")
    check_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers.get("allow"), r.headers


def test_book_not_a_slot_start_409():
    pid = make_provider("UTC", weeklySchedule={"monday": {"start": "09:00", "end": "12:00"}})
    d = future_date("monday")
    for hm in ("09:10", "09:15", "09:29"):
        err = check_error(book(pid, day_at(d, hm)), 409, "CONFLICT")
        assert "not available" in err["message"].lower(), err
    check_error(book(pid, "%sT09:00:30.000Z" % d), 409, "CONFLICT")
    check_error(book(pid, "%sT09:00:00.001Z" % d), 409, "CONFLICT")
    book_ok(pid, day_at(d, "09:00"))


def test_book_taken_outside_past_409():
    pid = make_provider("UTC", weeklySchedule={"monday": {"start": "09:00", "end": "12:00"}})
    d = future_date("monday")
    book_ok(pid, day_at(d, "09:30"))
    err = check_error(book(pid, day_at(d, "09:30")), 409, "CONFLICT")
    assert "not available" in err["message"].lower(), err
    check_error(book(pid, day_at(d, "12:00")), 409, "CONFLICT")       # end of hours
    check_error(book(pid, day_at(d, "11:45")), 409, "CONFLICT")       # would run past 12:00
    check_error(book(pid, day_at(d, "08:30")), 409, "CONFLICT")       # before hours
    check_error(book(pid, day_at(d + dt.timedelta(days=1), "09:00")), 409, "CONFLICT")  # day off
    # in the past, on a provider working all day
    pid2 = make_provider("UTC")
    y = now_utc().date() - dt.timedelta(days=1)
    check_error(book(pid2, day_at(y, "10:00")), 409, "CONFLICT")
    check_error(book(pid2, day_at(dt.date(2020, 1, 6), "10:00")), 409, "CONFLICT")
    # today's slot that has just started
    n = now_utc()
    past_slot = n.replace(minute=(n.minute // 30) * 30, second=0, microsecond=0)
    check_error(book(pid2, past_slot), 409, "CONFLICT")


def test_book_unknown_provider_404():
    check_error(book(uuid4(), day_at(future_date(), "10:00")), 404, "NOT_FOUND")


def test_get_appointment():
    pid = make_provider("UTC")
    p = patient()
    j = book_ok(pid, day_at(future_date(), "10:00"), p)
    g = get_appt(j["appointmentId"])
    for k in ("appointmentId", "status", "patientId", "providerId", "startTime", "endTime"):
        assert g[k] == j[k], (k, j, g)
    assert g["createdAt"] == g["updatedAt"] or g["updatedAt"] >= g["createdAt"], g
    check_error(get("/api/appointments/%s" % uuid4()), 404, "NOT_FOUND")
    for bad in ("123", "not-a-uuid", "%s0" % uuid4()):
        check_error(get("/api/appointments/%s" % bad), 404, "NOT_FOUND")
        check_error(reschedule(bad, day_at(future_date(), "10:00")), 404, "NOT_FOUND")
        check_error(cancel(bad), 404, "NOT_FOUND")


# ------------------------------------------------------------------ reschedule
def test_reschedule_200_and_frees_old_slot():
    pid = make_provider("UTC", weeklySchedule={"tuesday": {"start": "09:00", "end": "12:00"}})
    d = future_date("tuesday")
    p = patient()
    j = book_ok(pid, day_at(d, "09:00"), p)
    aid = j["appointmentId"]
    r = reschedule(aid, iso_offset(dt.datetime.fromisoformat("%sT10:00:00+00:00" % d), 330))
    u = expect(r, 200)
    check_appt(u, pid, p, day_at(d, "10:00"))
    assert u["appointmentId"] == aid, u
    g = get_appt(aid)
    assert g["startTime"] == day_at(d, "10:00") and g["status"] == "CONFIRMED", g
    assert g["createdAt"] == get_appt(aid)["createdAt"]
    labels, _ = slots_on(pid, d)
    assert "09:00" in labels and "10:00" not in labels, labels
    book_ok(pid, day_at(d, "09:00"))


def test_reschedule_into_own_time():
    pid = make_provider("UTC", slotInterval=15,
                        weeklySchedule={"tuesday": {"start": "09:00", "end": "12:00"}})
    d = future_date("tuesday")
    a = book_ok(pid, day_at(d, "10:00"))
    u = expect(reschedule(a["appointmentId"], day_at(d, "10:15")), 200)
    check_appt(u, start=day_at(d, "10:15"))
    u = expect(reschedule(a["appointmentId"], day_at(d, "10:00")), 200)
    check_appt(u, start=day_at(d, "10:00"))
    # blocked by a neighbour
    book_ok(pid, day_at(d, "10:30"))
    check_error(reschedule(a["appointmentId"], day_at(d, "10:15")), 409, "CONFLICT")
    assert get_appt(a["appointmentId"])["startTime"] == day_at(d, "10:00")


def test_reschedule_same_time_is_noop():
    pid = make_provider("UTC")
    d = future_date()
    a = book_ok(pid, day_at(d, "10:00"))
    aid = a["appointmentId"]
    before = get_appt(aid)
    n = outbox_count(aid)
    assert n == 1, outbox(aggregate_id=aid)
    u = expect(reschedule(aid, day_at(d, "10:00")), 200)
    check_appt(u, start=day_at(d, "10:00"))
    u = expect(reschedule(aid, "%sT12:00:00+02:00" % d), 200)
    check_appt(u, start=day_at(d, "10:00"))
    assert outbox_count(aid) == n, outbox(aggregate_id=aid)
    after = get_appt(aid)
    assert after["updatedAt"] == before["updatedAt"], (before, after)


def test_reschedule_errors():
    pid = make_provider("UTC", weeklySchedule={"tuesday": {"start": "09:00", "end": "12:00"}})
    d = future_date("tuesday")
    a = book_ok(pid, day_at(d, "09:00"))
    b = book_ok(pid, day_at(d, "10:00"))
    check_error(reschedule(a["appointmentId"], day_at(d, "10:00")), 409, "CONFLICT")   # taken
    check_error(reschedule(a["appointmentId"], day_at(d, "13:00")), 409, "CONFLICT")   # outside
    check_error(reschedule(a["appointmentId"], day_at(d, "09:10")), 409, "CONFLICT")   # not a start
    check_error(reschedule(a["appointmentId"], day_at(dt.date(2020, 1, 7), "09:00")), 409, "CONFLICT")
    check_error(reschedule(a["appointmentId"], "%sT11:00:00" % d), 422, "VALIDATION_ERROR", field="startTime")
    check_error(put("/api/appointments/%s" % a["appointmentId"], {}), 422, "VALIDATION_ERROR", field="startTime")
    check_error(reschedule(uuid4(), day_at(d, "11:00")), 404, "NOT_FOUND")
    expect(cancel(b["appointmentId"]), 200)
    err = check_error(reschedule(b["appointmentId"], day_at(d, "11:00")), 400, "BAD_REQUEST")
    assert err
    g = get_appt(b["appointmentId"])
    assert g["status"] == "CANCELLED" and g["startTime"] == day_at(d, "10:00"), g
    # the cancelled appointment's time is free for a
    u = expect(reschedule(a["appointmentId"], day_at(d, "10:00")), 200)
    assert u["startTime"] == day_at(d, "10:00")
    assert outbox_count(a["appointmentId"]) == 2


# ------------------------------------------------------------------ cancel
def test_cancel_default_reason():
    pid = make_provider("UTC")
    d = future_date()
    a = book_ok(pid, day_at(d, "10:00"))
    r = cancel(a["appointmentId"])
    assert r.status == 200 and r.json == CANCEL_OK, r
    g = get_appt(a["appointmentId"])
    assert g["status"] == "CANCELLED", g
    assert g.get("cancellationReason") == "CLIENT_REQUEST", g
    assert g["startTime"] == day_at(d, "10:00"), g


def test_cancel_with_reason_and_limits():
    pid = make_provider("UTC")
    d = future_date()
    a = book_ok(pid, day_at(d, "10:00"))
    check_error(cancel(a["appointmentId"], "x" * 501), 422, "VALIDATION_ERROR")
    assert get_appt(a["appointmentId"])["status"] == "CONFIRMED"
    assert outbox_count(a["appointmentId"]) == 1
    reason = "Patient moved to Zürich & can't come"
    r = cancel(a["appointmentId"], reason)
    assert r.status == 200 and r.json == CANCEL_OK, r
    assert get_appt(a["appointmentId"])["cancellationReason"] == reason
    b = book_ok(pid, day_at(d, "11:00"))
    expect(cancel(b["appointmentId"], "y" * 500), 200)
    assert get_appt(b["appointmentId"])["cancellationReason"] == "y" * 500


def test_cancel_twice_one_event():
    pid = make_provider("UTC")
    a = book_ok(pid, day_at(future_date(), "10:00"))
    aid = a["appointmentId"]
    r1 = cancel(aid, "first")
    r2 = cancel(aid, "second")
    assert r1.status == 200 and r1.json == CANCEL_OK, r1
    assert r2.status == 200 and r2.json == CANCEL_OK, r2
    rows = outbox(aggregate_id=aid)
    assert [x["event_type"] for x in rows] == ["APPOINTMENT_CONFIRMED", "APPOINTMENT_CANCELLED"], rows
    assert get_appt(aid)["cancellationReason"] == "first"


def test_cancel_unknown_404():
    check_error(cancel(uuid4()), 404, "NOT_FOUND")
    check_error(delete("/api/appointments/%s?reason=x" % uuid4()), 404, "NOT_FOUND")


def test_rebook_cancelled_slot():
    pid = make_provider("UTC", weeklySchedule={"monday": {"start": "09:00", "end": "10:00"}})
    d = future_date("monday")
    a = book_ok(pid, day_at(d, "09:00"))
    check_error(book(pid, day_at(d, "09:00")), 409, "CONFLICT")
    expect(cancel(a["appointmentId"]), 200)
    labels, _ = slots_on(pid, d)
    assert labels == ["09:00", "09:30"], labels
    b = book_ok(pid, day_at(d, "09:00"))
    assert b["appointmentId"] != a["appointmentId"]


def test_schedule_update_does_not_touch_appointments():
    pid = make_provider("UTC", weeklySchedule={"monday": {"start": "09:00", "end": "10:00"}})
    d = future_date("monday")
    a = book_ok(pid, day_at(d, "09:00"))
    make_provider("UTC", provider_id=pid, appointmentDuration=60,
                  weeklySchedule={"friday": {"start": "09:00", "end": "10:00"}})
    g = get_appt(a["appointmentId"])
    assert g["status"] == "CONFIRMED" and g["startTime"] == a["startTime"] and g["endTime"] == a["endTime"], g
    expect(cancel(a["appointmentId"]), 200)


# ------------------------------------------------------------------ events
def check_envelope(row, event_type, aid=None):
    assert row["event_type"] == event_type, row
    env = row["envelope"]
    assert isinstance(env, dict), "payload is not JSON: %r" % row
    assert env.get("eventType") == event_type, env
    assert isinstance(env.get("eventId"), str) and re.match(r"^evt_[0-9a-f-]{36}$", env["eventId"]), env
    assert env["eventId"] in (row["event_id"], "evt_" + row["event_id"]), (row["event_id"], env)
    assert_utc_ms(env.get("timestamp"), "envelope timestamp")
    p = env.get("payload")
    assert isinstance(p, dict), env
    if aid is not None:
        assert p.get("appointmentId") == aid, env
    return p


def test_outbox_events_for_lifecycle():
    pid = make_provider("UTC", weeklySchedule={"monday": {"start": "09:00", "end": "12:00"}})
    d = future_date("monday")
    p = patient()
    a = book_ok(pid, day_at(d, "09:00"), p)
    aid = a["appointmentId"]
    expect(reschedule(aid, day_at(d, "10:00")), 200)
    # rejected requests write nothing
    check_error(reschedule(aid, day_at(d, "10:10")), 409, "CONFLICT")
    check_error(book(pid, day_at(d, "10:00")), 409, "CONFLICT")
    check_error(book(pid, day_at(d, "10:00"), "bad\u0001"), 422, "VALIDATION_ERROR")
    expect(cancel(aid, "sick"), 200)
    check_error(reschedule(aid, day_at(d, "11:00")), 400, "BAD_REQUEST")
    expect(cancel(aid), 200)
    rows = outbox(aggregate_id=aid)
    assert [r["event_type"] for r in rows] == ["APPOINTMENT_CONFIRMED", "APPOINTMENT_RESCHEDULED",
                                               "APPOINTMENT_CANCELLED"], rows
    c = check_envelope(rows[0], "APPOINTMENT_CONFIRMED", aid)
    assert c.get("patientId") == p and c.get("providerId") == pid, c
    assert c.get("appointmentTime") == day_at(d, "09:00") and c.get("endTime") == day_at(d, "09:30"), c
    r = check_envelope(rows[1], "APPOINTMENT_RESCHEDULED", aid)
    assert r.get("patientId") == p and r.get("providerId") == pid, r
    assert r.get("newAppointmentTime") == day_at(d, "10:00"), r
    assert r.get("previousAppointmentTime") == day_at(d, "09:00"), r
    assert r.get("endTime") == day_at(d, "10:30"), r
    x = check_envelope(rows[2], "APPOINTMENT_CANCELLED", aid)
    assert x.get("reason") == "sick" and x.get("patientId") == p and x.get("providerId") == pid, x
    assert x.get("appointmentTime") == day_at(d, "10:00"), x
    ids = [r["envelope"]["eventId"] for r in rows]
    assert len(set(ids)) == 3, ids
    # nothing else mentions this provider except its own schedule event
    others = [r for r in outbox(like=pid) if r["aggregate_id"] not in (aid, pid)]
    assert others == [], others


def test_outbox_cancel_default_reason_in_event():
    pid = make_provider("UTC")
    a = book_ok(pid, day_at(future_date(), "10:00"))
    expect(cancel(a["appointmentId"]), 200)
    rows = outbox(aggregate_id=a["appointmentId"])
    assert len(rows) == 2, rows
    assert check_envelope(rows[1], "APPOINTMENT_CANCELLED", a["appointmentId"]).get("reason") == "CLIENT_REQUEST"


# ------------------------------------------------------------------ list
def list_appts(**params):
    return get("/api/appointments?" + urllib.parse.urlencode(params))


def sort_key(a):
    return (a["startTime"], a["appointmentId"])


def test_list_filters():
    pid = make_provider("UTC", weeklySchedule={"monday": {"start": "09:00", "end": "12:00"}})
    other = make_provider("UTC", weeklySchedule={"monday": {"start": "09:00", "end": "12:00"}})
    d = future_date("monday")
    p1, p2 = patient(), patient()
    a1 = book_ok(pid, day_at(d, "09:00"), p1)
    a2 = book_ok(pid, day_at(d, "09:30"), p2)
    a3 = book_ok(pid, day_at(d, "10:00"), p1)
    a4 = book_ok(other, day_at(d, "09:00"), p1)
    expect(cancel(a3["appointmentId"]), 200)

    j = expect(list_appts(providerId=pid), 200)
    assert set(j) == {"appointments", "nextCursor"} and j["nextCursor"] is None, j
    assert [a["appointmentId"] for a in j["appointments"]] == [a1["appointmentId"], a2["appointmentId"],
                                                                a3["appointmentId"]], j
    for a in j["appointments"]:
        check_appt(a, pid, status=a["status"])
    j = expect(list_appts(patientId=p1), 200)
    assert sorted(a["appointmentId"] for a in j["appointments"]) == sorted(
        [a1["appointmentId"], a3["appointmentId"], a4["appointmentId"]]), j
    assert [sort_key(a) for a in j["appointments"]] == sorted(sort_key(a) for a in j["appointments"]), j
    j = expect(list_appts(providerId=pid, status="CANCELLED"), 200)
    assert [a["appointmentId"] for a in j["appointments"]] == [a3["appointmentId"]], j
    assert j["appointments"][0]["status"] == "CANCELLED"
    j = expect(list_appts(providerId=pid, status="CONFIRMED"), 200)
    assert [a["appointmentId"] for a in j["appointments"]] == [a1["appointmentId"], a2["appointmentId"]], j
    j = expect(list_appts(providerId=pid, patientId=p1, status="CONFIRMED"), 200)
    assert [a["appointmentId"] for a in j["appointments"]] == [a1["appointmentId"]], j
    # [from, to) half-open, any offset accepted
    j = expect(list_appts(providerId=pid, **{"from": day_at(d, "09:30"), "to": day_at(d, "10:00")}), 200)
    assert [a["appointmentId"] for a in j["appointments"]] == [a2["appointmentId"]], j
    j = expect(list_appts(providerId=pid, **{"from": "%sT11:30:00+02:00" % d}), 200)
    assert [a["appointmentId"] for a in j["appointments"]] == [a2["appointmentId"], a3["appointmentId"]], j
    j = expect(list_appts(providerId=pid, to=day_at(d, "09:30")), 200)
    assert [a["appointmentId"] for a in j["appointments"]] == [a1["appointmentId"]], j
    j = expect(list_appts(providerId=uuid4()), 200)
    assert j == {"appointments": [], "nextCursor": None}, j


def test_list_validation():
    pid = make_provider("UTC")
    for params in ({"limit": "0"}, {"limit": "501"}, {"limit": "-1"}, {"limit": "abc"}, {"limit": "5.5"},
                   {"status": "FOO"}, {"from": "yesterday"}, {"to": "2027-01-01T00:00:00"},
                   {"providerId": "not-a-uuid"}, {"cursor": "garbage"}):
        params = dict(params)
        params.setdefault("providerId", pid)
        check_error(list_appts(**params), 422, "VALIDATION_ERROR")
    expect(list_appts(providerId=pid, limit="500"), 200)
    expect(list_appts(providerId=pid, limit="1"), 200)


def test_list_default_limit_50():
    pid = make_provider("UTC", weeklySchedule={"monday": {"start": "00:00", "end": "24:00"}},
                        appointmentDuration=15)
    d = future_date("monday")
    t = dt.datetime.fromisoformat("%sT00:00:00+00:00" % d)
    for i in range(52):
        book_ok(pid, t + minutes(15 * i))
    j = expect(list_appts(providerId=pid), 200)
    assert len(j["appointments"]) == 50 and j["nextCursor"], (len(j["appointments"]), j["nextCursor"])
    j2 = expect(list_appts(providerId=pid, cursor=j["nextCursor"]), 200)
    assert len(j2["appointments"]) == 2 and j2["nextCursor"] is None, j2


def test_list_ordering_ties_by_id():
    d = future_date("wednesday")
    p = patient()
    ids = []
    for _ in range(6):
        pid = make_provider("UTC", weeklySchedule={"wednesday": {"start": "09:00", "end": "12:00"}})
        ids.append(book_ok(pid, day_at(d, "10:00"), p)["appointmentId"])
        ids.append(book_ok(pid, day_at(d, "09:00"), p)["appointmentId"])
    j = expect(list_appts(patientId=p), 200)
    got = [sort_key(a) for a in j["appointments"]]
    assert len(got) == 12 and got == sorted(got), got
    # paging with ties keeps the order and visits each once
    seen = []
    cursor = None
    for _ in range(20):
        params = {"patientId": p, "limit": "5"}
        if cursor:
            params["cursor"] = cursor
        page = expect(list_appts(**params), 200)
        seen += [sort_key(a) for a in page["appointments"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == got, (seen, got)


def test_cursor_paging_visits_each_once():
    pid = make_provider("UTC", weeklySchedule={"monday": {"start": "00:00", "end": "24:00"}})
    d = future_date("monday")
    t = dt.datetime.fromisoformat("%sT08:00:00+00:00" % d)
    ids = [book_ok(pid, t + minutes(30 * i))["appointmentId"] for i in range(23)]
    seen = []
    cursor = None
    pages = 0
    while True:
        params = {"providerId": pid, "limit": "5"}
        if cursor is not None:
            params["cursor"] = cursor
        page = expect(list_appts(**params), 200)
        pages += 1
        assert len(page["appointments"]) <= 5, page
        seen += [a["appointmentId"] for a in page["appointments"]]
        cursor = page["nextCursor"]
        assert cursor is None or isinstance(cursor, str) and cursor, page
        if cursor is None or pages > 10:
            break
    assert seen == ids, (len(seen), len(ids))
    assert pages in (5, 6), pages
    # a cursor stays valid while data changes: inserting before the position does not repeat rows
    first = expect(list_appts(providerId=pid, limit="5"), 200)
    book_ok(pid, t - minutes(60))
    rest = expect(list_appts(providerId=pid, limit="500", cursor=first["nextCursor"]), 200)
    assert [a["appointmentId"] for a in rest["appointments"]] == ids[5:], rest


def test_forged_cursor_422():
    pid = make_provider("UTC")
    d = future_date()
    t = dt.datetime.fromisoformat("%sT08:00:00+00:00" % d)
    for i in range(3):
        book_ok(pid, t + minutes(30 * i))
    page = expect(list_appts(providerId=pid, limit="1"), 200)
    c = page["nextCursor"]
    assert isinstance(c, str) and c, page
    expect(list_appts(providerId=pid, limit="1", cursor=c), 200)
    # A different digit, not another case of the same one (a UUID's hex
    # digits are case-insensitive: "a" -> "A" would be the same cursor).
    i = len(c) // 2
    forged = c[:i] + ("0" if c[i] != "0" else "1") + c[i + 1:]
    check_error(list_appts(providerId=pid, limit="1", cursor=forged), 422, "VALIDATION_ERROR")
    check_error(list_appts(providerId=pid, limit="1", cursor=c + "x"), 422, "VALIDATION_ERROR")
    check_error(list_appts(providerId=pid, limit="1", cursor="eyJzdGFydCI6IjIwMjcifQ"), 422,
                "VALIDATION_ERROR")


def test_version_grows_with_changes():
    """[ext] version, when present, grows with each committed change only."""
    pid = make_provider("UTC")
    d = future_date()
    a = book_ok(pid, day_at(d, "10:00"))
    aid = a["appointmentId"]
    v0 = get_appt(aid)["version"]
    assert isinstance(v0, int), g0
    expect(reschedule(aid, day_at(d, "11:00")), 200)
    v1 = get_appt(aid)["version"]
    assert v1 > v0, (v0, v1)
    expect(reschedule(aid, day_at(d, "11:00")), 200)
    assert get_appt(aid)["version"] == v1
    expect(cancel(aid), 200)
    v2 = get_appt(aid)["version"]
    assert v2 > v1, (v1, v2)
    expect(cancel(aid), 200)
    assert get_appt(aid)["version"] == v2


def test_db_row_matches_api():
    pid = make_provider("Asia/Kathmandu")
    d = future_date()
    start = local_dt("Asia/Kathmandu", d, "10:00")
    p = patient()
    a = book_ok(pid, start, p)
    from lib import sql
    rows = sql("SELECT provider_id::text, patient_id, extract(epoch FROM start_at)::bigint, "
               "extract(epoch FROM end_at)::bigint, status FROM appointments WHERE id = '%s'" % a["appointmentId"])
    assert rows == [[pid, p, str(int(start.timestamp())), str(int(start.timestamp()) + 1800), "CONFIRMED"]], rows


def test_nul_inside_strings_rejected():
    pid = make_provider("UTC")
    d = future_date()
    r = book(pid, day_at(d, "10:00"), "a\u0000b")
    check_error(r, 422, "VALIDATION_ERROR", field="patientId")
    r = book(pid, day_at(d, "11:00") + "\u0000junk")
    check_error(r, 422, "VALIDATION_ERROR", field="startTime")
    r = post("/api/appointments", {"patientId": "p", "providerId": pid + "\u0000x", "startTime": day_at(d, "12:00")})
    check_error(r, 422, "VALIDATION_ERROR", field="providerId")
    assert expect(get("/api/appointments?providerId=%s" % pid), 200)["appointments"] == []


def test_start_time_must_be_exact_slot_start():
    """Sub-millisecond digits are part of the instant: 10:00:00.0001 is not 10:00."""
    pid = make_provider("UTC")
    d = future_date()
    check_error(book(pid, "%sT10:00:00.5Z" % d), 409, "CONFLICT")
    for frac in ("0001", "000001", "000000001"):
        r = book(pid, "%sT10:00:00.%sZ" % (d, frac))
        # not the slot start: 409 (or 422 if finer than milliseconds is refused), never booked
        if r.status == 422:
            check_error(r, 422, "VALIDATION_ERROR", field="startTime")
        else:
            check_error(r, 409, "CONFLICT")
    for frac in ("", ".0", ".000", ".000000"):
        j = expect(book(pid, "%sT1%d:00:00%sZ" % (d, len(frac), frac)), 201)
        assert j["startTime"] == day_at(d, "1%d:00" % len(frac)), j


def test_reschedule_same_time_after_schedule_change():
    """Same time as now is 200 and unchanged even if that time is no longer offered."""
    pid = make_provider("UTC", weeklySchedule={"monday": {"start": "09:00", "end": "10:00"}})
    d = future_date("monday")
    a = book_ok(pid, day_at(d, "09:00"))
    make_provider("UTC", provider_id=pid, weeklySchedule={"monday": {"start": "13:00", "end": "14:00"}})
    n = outbox_count(a["appointmentId"])
    u = expect(reschedule(a["appointmentId"], day_at(d, "09:00")), 200)
    assert u["startTime"] == day_at(d, "09:00") and u["status"] == "CONFIRMED", u
    assert outbox_count(a["appointmentId"]) == n
    check_error(reschedule(a["appointmentId"], day_at(d, "09:30")), 409, "CONFLICT")
    expect(reschedule(a["appointmentId"], day_at(d, "13:00")), 200)
