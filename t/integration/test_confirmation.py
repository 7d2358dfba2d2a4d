"""Confirmation and attendance: PENDING bookings of a service with
requiresConfirmation, POST .../confirm, .../decline and .../attendance,
each transition with its event (exact payload, serviceId and status
included), the no-op 200s that write nothing, the 400s whose message names
the state, 404s, 422s at `reason` and `attendance` (the body checked before
the state), declineReason, a PENDING seat blocking the slot for every
service and a declined or cancelled one freeing it, the list's status
filter, the calendar's TENTATIVE and CANCELLED, webhooks filtering on the
new event types, and Idempotency-Key replays.

Attendance needs an appointment that has started: one is booked ahead and
then moved into the past (or a few seconds ahead) in SQL, so no test waits
for the wall clock longer than two seconds."""

import time
import urllib.parse

from lib import (cancel, check_error, create_key, expect, future_date, get, iso_z, make_provider,
                 outbox, outbox_count, parse_instant, patient, post, q, request, reschedule, sql,
                 sql_value, uuid4)
from receiver import Receiver
from test_appointments import check_envelope
from test_calendar import by_uid, feed_ok, one
from test_service_booking import book_svc, offered, service, utc
from test_services import svc_delete
from test_webhooks import Hooks, check_arrival, feed_event, ok_ids

NEW_TYPES = ["APPOINTMENT_REQUESTED", "APPOINTMENT_DECLINED", "APPOINTMENT_ATTENDANCE_RECORDED"]
APPT_KEYS = {"appointmentId", "status", "patientId", "providerId", "startTime", "endTime",
             "createdAt", "updatedAt", "cancellationReason", "version", "serviceId", "attendance",
             "declineReason"}


# ------------------------------------------------------------------ helpers
def act(aid, what, body=None, key=None, **kw):
    """POST /api/appointments/{aid}/{what}; key: another API key than the suite's."""
    if key is not None:
        kw["headers"] = dict(kw.get("headers") or {}, Authorization="Bearer " + key)
    return post("/api/appointments/%s/%s" % (aid, what), body, **kw)


def confirm(aid, **kw):
    return act(aid, "confirm", **kw)


def decline(aid, reason=None, **kw):
    return act(aid, "decline", None if reason is None else {"reason": reason}, **kw)


def attend(aid, value, **kw):
    return act(aid, "attendance", {"attendance": value}, **kw)


def setup(capacity=1, **provider_fields):
    """A UTC provider with service `req` (30 min, requiresConfirmation) and a date next year."""
    pid = make_provider("UTC", **provider_fields)
    service(pid, "req", duration=30, capacity=capacity, requiresConfirmation=True)
    return pid, future_date()


def pending(pid, start, sid="req", patient_id=None):
    j = expect(book_svc(pid, start, sid, patient_id), 201)
    assert j["status"] == "PENDING" and j["serviceId"] == sid, j
    assert j["attendance"] is None and j["declineReason"] is None, j
    return j


def stored(aid):
    """(status, attendance, decline_reason, cancellation_reason) of the row; SQL NULL is ''."""
    r = sql("SELECT status, coalesce(attendance, ''), coalesce(decline_reason, ''), "
            "coalesce(cancellation_reason, '') FROM appointments WHERE id = %s" % q(aid))
    assert len(r) == 1, r
    return tuple(r[0])


def events(aid):
    """[(eventType, payload)] of one appointment, in commit order, envelopes checked."""
    return [(r["event_type"], check_envelope(r, r["event_type"], aid)) for r in outbox(aggregate_id=aid)]


def base_payload(a, status):
    return {"appointmentId": a["appointmentId"], "patientId": a["patientId"],
            "providerId": a["providerId"], "serviceId": a["serviceId"], "status": status,
            "appointmentTime": a["startTime"]}


def requested_payload(a):
    return dict(base_payload(a, "PENDING"), endTime=a["endTime"])


def to_past(aid, minutes_ago=120):
    """Moves the appointment (keeping its length) to start minutes_ago minutes ago."""
    sql("UPDATE appointments SET start_at = now() - %d * interval '1 minute', "
        "end_at = now() - %d * interval '1 minute' + (end_at - start_at) WHERE id = %s"
        % (minutes_ago, minutes_ago, q(aid)))
    return expect(get("/api/appointments/%s" % aid), 200)


def check_appt_shape(j):
    assert set(j) == APPT_KEYS, sorted(set(j) ^ APPT_KEYS)


def state_400(r, *words):
    err = check_error(r, 400, "BAD_REQUEST")
    low = err["message"].lower()
    assert all(w.lower() in low for w in words), "message %r should name %r" % (err["message"], words)
    return err


# ------------------------------------------------------------------ booking PENDING
def test_booking_a_confirmation_service_is_pending_with_requested_event():
    pid, d = setup()
    p = patient()
    a = pending(pid, utc(d, "10:00"), patient_id=p)
    assert a["startTime"] == iso_z(utc(d, "10:00")) and a["endTime"] == iso_z(utc(d, "10:30")), a
    g = expect(get("/api/appointments/%s" % a["appointmentId"]), 200)
    check_appt_shape(g)
    assert g["status"] == "PENDING" and g["attendance"] is None and g["declineReason"] is None, g
    assert stored(a["appointmentId"]) == ("PENDING", "", "", "")
    assert events(a["appointmentId"]) == [("APPOINTMENT_REQUESTED", requested_payload(a))]
    # a service without requiresConfirmation still books CONFIRMED with APPOINTMENT_CONFIRMED
    c = expect(book_svc(pid, utc(d, "12:00")), 201)
    assert c["status"] == "CONFIRMED" and c["attendance"] is None and c["declineReason"] is None, c
    assert [t for t, _ in events(c["appointmentId"])] == ["APPOINTMENT_CONFIRMED"]
    # turning confirmation off changes no existing appointment
    service(pid, "req", duration=30, requiresConfirmation=False)
    assert expect(get("/api/appointments/%s" % a["appointmentId"]), 200)["status"] == "PENDING"
    b = expect(book_svc(pid, utc(d, "14:00"), "req"), 201)
    assert b["status"] == "CONFIRMED", b


# ------------------------------------------------------------------ confirm
def test_confirm_pending_then_noop():
    pid, d = setup()
    a = pending(pid, utc(d, "10:00"))
    aid = a["appointmentId"]
    j = expect(confirm(aid), 200)
    check_appt_shape(j)
    assert j["status"] == "CONFIRMED" and j["version"] == a["version"] + 1, j
    assert j["startTime"] == a["startTime"] and j["endTime"] == a["endTime"], j
    assert stored(aid) == ("CONFIRMED", "", "", "")
    want = [("APPOINTMENT_REQUESTED", requested_payload(a)),
            ("APPOINTMENT_CONFIRMED", dict(base_payload(a, "CONFIRMED"), endTime=a["endTime"]))]
    assert events(aid) == want
    # confirming a confirmed one: 200, unchanged, no event
    again = expect(confirm(aid), 200)
    assert again == j, (again, j)
    assert events(aid) == want
    # a confirmed appointment of a service without confirmation is confirmable as a no-op too
    c = expect(book_svc(pid, utc(d, "12:00")), 201)
    assert expect(confirm(c["appointmentId"]), 200)["status"] == "CONFIRMED"
    assert outbox_count(c["appointmentId"]) == 1


def test_confirm_refuses_cancelled_and_declined():
    pid, d = setup()
    a = pending(pid, utc(d, "10:00"))
    expect(cancel(a["appointmentId"]), 200)
    state_400(confirm(a["appointmentId"]), "cancelled")
    b = pending(pid, utc(d, "11:00"))
    expect(decline(b["appointmentId"]), 200)
    state_400(confirm(b["appointmentId"]), "declined")
    assert stored(a["appointmentId"])[0] == "CANCELLED" and stored(b["appointmentId"])[0] == "DECLINED"
    assert [t for t, _ in events(a["appointmentId"])] == ["APPOINTMENT_REQUESTED", "APPOINTMENT_CANCELLED"]
    assert [t for t, _ in events(b["appointmentId"])] == ["APPOINTMENT_REQUESTED", "APPOINTMENT_DECLINED"]


def test_unknown_or_ill_formed_ids_are_404():
    for what, body in (("confirm", None), ("decline", None), ("decline", {"reason": "x"}),
                       ("attendance", {"attendance": "ATTENDED"})):
        for aid in (uuid4(), "nope", "1234"):
            check_error(act(aid, what, body), 404, "NOT_FOUND")


# ------------------------------------------------------------------ decline
def test_decline_with_reason_then_first_reason_kept():
    pid, d = setup()
    a = pending(pid, utc(d, "10:00"))
    aid = a["appointmentId"]
    j = expect(decline(aid, "fully booked that week"), 200)
    check_appt_shape(j)
    assert j["status"] == "DECLINED" and j["declineReason"] == "fully booked that week", j
    assert j["cancellationReason"] is None and j["attendance"] is None, j
    assert stored(aid) == ("DECLINED", "", "fully booked that week", "")
    want = [("APPOINTMENT_REQUESTED", requested_payload(a)),
            ("APPOINTMENT_DECLINED", dict(base_payload(a, "DECLINED"), reason="fully booked that week"))]
    assert events(aid) == want
    # declining again: 200, unchanged, the first reason kept, no event
    for again in (decline(aid, "another reason"), decline(aid), act(aid, "decline", {})):
        assert expect(again, 200) == j, (again, j)
    assert events(aid) == want
    assert expect(get("/api/appointments/%s" % aid), 200)["declineReason"] == "fully booked that week"


def test_decline_reason_absent_empty_or_null_is_null():
    pid, d = setup()
    bodies = [None, {}, {"reason": ""}, {"reason": None}, "raw-null"]
    for i, body in enumerate(bodies):
        a = pending(pid, utc(d, "%02d:00" % (8 + i)))
        aid = a["appointmentId"]
        if body == "raw-null":
            r = act(aid, "decline", raw="null", headers={"Content-Type": "application/json"})
        else:
            r = act(aid, "decline", body)
        j = expect(r, 200)
        assert j["status"] == "DECLINED" and j["declineReason"] is None, (body, j)
        assert stored(aid) == ("DECLINED", "", "", ""), body
        assert events(aid)[-1] == ("APPOINTMENT_DECLINED", dict(base_payload(a, "DECLINED"), reason=None)), body


def test_decline_reason_rules_422_and_nothing_changes():
    pid, d = setup()
    a = pending(pid, utc(d, "10:00"))
    aid = a["appointmentId"]
    for body in ({"reason": "r" * 501}, {"reason": "bad\u0001"}, {"reason": "tab\there"},
                 {"reason": "new\nline"}, {"reason": "del\u007f"}, {"reason": 5}, {"reason": ["x"]},
                 {"reason": True}):
        check_error(act(aid, "decline", body), 422, "VALIDATION_ERROR", field="reason")
    check_error(act(aid, "decline", [1]), 422, "VALIDATION_ERROR", field="body")
    check_error(act(aid, "decline", raw="{", headers={"Content-Type": "application/json"}), 400, "BAD_REQUEST")
    check_error(act(aid, "decline", raw='{"reason":"x"}', headers={"Content-Type": "text/plain"}),
                415, "UNSUPPORTED_MEDIA_TYPE")
    # the body is checked before the state: a cancelled one still answers 422 for a bad reason
    c = pending(pid, utc(d, "12:00"))
    expect(cancel(c["appointmentId"]), 200)
    check_error(decline(c["appointmentId"], "r" * 501), 422, "VALIDATION_ERROR", field="reason")
    assert stored(aid) == ("PENDING", "", "", "") and outbox_count(aid) == 1
    # 500 characters, counted as characters (not bytes), are accepted
    long_reason = "\u00e9" * 499 + "\U0001F600"
    j = expect(decline(aid, long_reason), 200)
    assert j["declineReason"] == long_reason, j
    assert events(aid)[-1][1]["reason"] == long_reason


def test_decline_refuses_confirmed_and_cancelled():
    pid, d = setup()
    a = pending(pid, utc(d, "10:00"))
    expect(confirm(a["appointmentId"]), 200)
    state_400(decline(a["appointmentId"], "too late"), "confirmed")
    b = pending(pid, utc(d, "11:00"))
    expect(cancel(b["appointmentId"]), 200)
    state_400(decline(b["appointmentId"]), "cancelled")
    c = expect(book_svc(pid, utc(d, "13:00")), 201)          # a service without confirmation
    state_400(decline(c["appointmentId"]), "confirmed")
    assert stored(a["appointmentId"]) == ("CONFIRMED", "", "", "")
    assert stored(b["appointmentId"])[:3] == ("CANCELLED", "", "")
    assert outbox_count(a["appointmentId"]) == 2 and outbox_count(b["appointmentId"]) == 2
    assert outbox_count(c["appointmentId"]) == 1


# ------------------------------------------------------------------ seats
def test_pending_blocks_the_slot_for_every_service():
    """The anchors' bug: a pending booking blocked only its own event type."""
    pid, d = setup()
    service(pid, "other", duration=60)
    st = utc(d, "10:00")
    a = pending(pid, st)
    for sid in ("req", None, "other"):
        err = check_error(book_svc(pid, st, sid), 409, "CONFLICT")
        assert "not available" in err["message"], err
        assert iso_z(st) not in offered(pid, d, sid), sid
    # an overlapping start of another service is refused too
    check_error(book_svc(pid, utc(d, "09:30"), "other"), 409, "CONFLICT")
    # two pending requests for one capacity-1 slot: the second never exists to be confirmed
    assert int(sql_value("SELECT count(*) FROM appointments WHERE provider_id = %s" % q(pid))) == 1
    # declining frees the seat at once, for any service
    expect(decline(a["appointmentId"]), 200)
    assert iso_z(st) in offered(pid, d) and iso_z(st) in offered(pid, d, "other")
    b = expect(book_svc(pid, st), 201)
    assert b["status"] == "CONFIRMED", b
    # cancelling a pending one frees it too
    c = pending(pid, utc(d, "14:00"))
    check_error(book_svc(pid, utc(d, "14:00")), 409, "CONFLICT")
    expect(cancel(c["appointmentId"]), 200)
    expect(book_svc(pid, utc(d, "14:00"), "other"), 201)
    # a pending appointment also stands in the way of a reschedule
    e = pending(pid, utc(d, "16:00"))
    check_error(reschedule(b["appointmentId"], utc(d, "16:00")), 409, "CONFLICT")
    expect(decline(e["appointmentId"]), 200)
    expect(reschedule(b["appointmentId"], utc(d, "16:00")), 200)


def test_pending_seats_count_toward_capacity_and_limits():
    pid, d = setup(capacity=2, limits={"perDay": 2})
    st = utc(d, "10:00")
    a = pending(pid, st)
    assert offered(pid, d, "req")[iso_z(st)] == 1
    b = pending(pid, st)
    assert iso_z(st) not in offered(pid, d, "req")
    check_error(book_svc(pid, st, "req"), 409, "CONFLICT")
    # both seats of one session can be confirmed
    for x in (a, b):
        assert expect(confirm(x["appointmentId"]), 200)["status"] == "CONFIRMED"
    # a pending session counts toward the provider's day limit
    c = pending(pid, utc(d, "12:00"))
    check_error(book_svc(pid, utc(d, "14:00")), 409, "CONFLICT")
    assert offered(pid, d) == {}
    expect(decline(c["appointmentId"]), 200)
    expect(book_svc(pid, utc(d, "14:00")), 201)


# ------------------------------------------------------------------ attendance
def test_attendance_records_and_changes_emit_same_value_does_not():
    pid, d = setup()
    a = pending(pid, utc(d, "10:00"))
    aid = a["appointmentId"]
    expect(confirm(aid), 200)
    state_400(attend(aid, "ATTENDED"), "not started yet")
    g = to_past(aid)
    n = outbox_count(aid)
    j = expect(attend(aid, "ATTENDED"), 200)
    check_appt_shape(j)
    assert j["attendance"] == "ATTENDED" and j["status"] == "CONFIRMED", j
    assert j["startTime"] == g["startTime"], j
    rec = lambda v: ("APPOINTMENT_ATTENDANCE_RECORDED",
                     dict(base_payload(g, "CONFIRMED"), attendance=v))
    assert events(aid)[n:] == [rec("ATTENDED")]
    assert expect(attend(aid, "ATTENDED"), 200)["attendance"] == "ATTENDED"
    assert events(aid)[n:] == [rec("ATTENDED")]
    assert expect(attend(aid, "NO_SHOW"), 200)["attendance"] == "NO_SHOW"
    assert expect(attend(aid, "NO_SHOW"), 200)["attendance"] == "NO_SHOW"
    assert expect(attend(aid, "ATTENDED"), 200)["attendance"] == "ATTENDED"
    assert events(aid)[n:] == [rec("ATTENDED"), rec("NO_SHOW"), rec("ATTENDED")]
    assert stored(aid) == ("CONFIRMED", "ATTENDED", "", "")
    assert expect(get("/api/appointments/%s" % aid), 200)["attendance"] == "ATTENDED"
    # confirm stays a no-op on it
    assert expect(confirm(aid), 200)["attendance"] == "ATTENDED"
    assert len(events(aid)) == n + 3


def test_attendance_only_once_started():
    """The boundary: startTime <= now. The appointment is put 2 s ahead in SQL."""
    pid = make_provider("UTC")
    a = expect(book_svc(pid, utc(future_date(), "10:00")), 201)
    aid = a["appointmentId"]
    err = state_400(attend(aid, "NO_SHOW"), "not started yet")
    sql("UPDATE appointments SET start_at = now() + interval '2 seconds', "
        "end_at = now() + interval '32 minutes' WHERE id = %s" % q(aid))
    start = parse_instant(expect(get("/api/appointments/%s" % aid), 200)["startTime"])
    state_400(attend(aid, "NO_SHOW"), "not started yet")
    assert outbox_count(aid) == 1
    db_now = parse_instant(sql_value("SELECT to_char(now() AT TIME ZONE 'UTC', "
                                     "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"))
    time.sleep(max(0.0, (start - db_now).total_seconds()) + 0.3)
    assert expect(attend(aid, "NO_SHOW"), 200)["attendance"] == "NO_SHOW"
    assert outbox_count(aid) == 2
    assert err["message"]


def test_attendance_refused_unless_confirmed():
    pid, d = setup()
    p = pending(pid, utc(d, "08:00"))
    state_400(attend(p["appointmentId"], "ATTENDED"), "pending")
    to_past(p["appointmentId"], 600)
    state_400(attend(p["appointmentId"], "ATTENDED"), "pending")       # started, still pending
    x = pending(pid, utc(d, "09:00"))
    expect(decline(x["appointmentId"]), 200)
    to_past(x["appointmentId"], 500)
    state_400(attend(x["appointmentId"], "ATTENDED"), "declined")
    c = expect(book_svc(pid, utc(d, "10:00")), 201)
    to_past(c["appointmentId"], 400)
    expect(cancel(c["appointmentId"]), 200)
    state_400(attend(c["appointmentId"], "NO_SHOW"), "cancelled")
    for y in (p, x, c):
        assert stored(y["appointmentId"])[1] == "", y
        assert "APPOINTMENT_ATTENDANCE_RECORDED" not in [t for t, _ in events(y["appointmentId"])]


def test_attendance_body_rules_checked_before_state():
    pid, d = setup()
    a = pending(pid, utc(d, "10:00"))
    aid = a["appointmentId"]
    expect(confirm(aid), 200)
    to_past(aid)
    c = expect(book_svc(pid, utc(d, "12:00")), 201)
    expect(cancel(c["appointmentId"]), 200)
    p = pending(pid, utc(d, "14:00"))
    for target in (aid, c["appointmentId"], p["appointmentId"]):
        for body in ({}, {"attendance": None}, {"attendance": "attended"}, {"attendance": "MAYBE"},
                     {"attendance": 1}, {"attendance": ["ATTENDED"]}, {"other": "ATTENDED"}):
            check_error(act(target, "attendance", body), 422, "VALIDATION_ERROR", field="attendance")
        check_error(act(target, "attendance", [1]), 422, "VALIDATION_ERROR", field="body")
    # the body is required (JSON)
    check_error(act(aid, "attendance"), 415, "UNSUPPORTED_MEDIA_TYPE")
    check_error(act(aid, "attendance", raw="{", headers={"Content-Type": "application/json"}),
                400, "BAD_REQUEST")
    assert stored(aid)[1] == "" and outbox_count(aid) == 2


def test_retired_service_appointments_are_answered():
    pid, d = setup()
    a = pending(pid, utc(d, "08:00"))
    b = pending(pid, utc(d, "10:00"))
    c = pending(pid, utc(d, "12:00"))
    expect(svc_delete(pid, "req"), 200)
    assert expect(confirm(a["appointmentId"]), 200)["status"] == "CONFIRMED"
    assert expect(decline(b["appointmentId"], "retired"), 200)["status"] == "DECLINED"
    expect(cancel(c["appointmentId"]), 200)
    to_past(a["appointmentId"])
    assert expect(attend(a["appointmentId"], "ATTENDED"), 200)["attendance"] == "ATTENDED"


# ------------------------------------------------------------------ scopes and methods
def test_scopes_and_methods():
    pid, d = setup()
    a = pending(pid, utc(d, "10:00"))
    aid = a["appointmentId"]
    _, read = create_key("read", "confirmation read")
    _, booking = create_key("booking", "confirmation booking")
    for what, body in (("confirm", None), ("decline", None), ("attendance", {"attendance": "ATTENDED"})):
        check_error(act(aid, what, body, key=read), 403, "FORBIDDEN")
        r = request("POST", "/api/appointments/%s/%s" % (aid, what), body=body, auth=False)
        check_error(r, 401, "UNAUTHORIZED")
        for m in ("GET", "PUT", "DELETE", "PATCH"):
            r = request(m, "/api/appointments/%s/%s" % (aid, what))
            check_error(r, 405, "METHOD_NOT_ALLOWED")
            assert r.headers.get("allow") == "POST", r.headers
    assert outbox_count(aid) == 1
    assert expect(confirm(aid, key=booking), 200)["status"] == "CONFIRMED"
    b = pending(pid, utc(d, "12:00"))
    assert expect(decline(b["appointmentId"], key=booking), 200)["status"] == "DECLINED"
    to_past(aid)
    assert expect(attend(aid, "NO_SHOW", key=booking), 200)["attendance"] == "NO_SHOW"


# ------------------------------------------------------------------ list and calendar
def test_list_filters_by_the_four_statuses():
    pid, d = setup()
    p = pending(pid, utc(d, "08:00"))
    x = pending(pid, utc(d, "09:00"))
    expect(decline(x["appointmentId"]), 200)
    c = pending(pid, utc(d, "10:00"))
    expect(confirm(c["appointmentId"]), 200)
    k = pending(pid, utc(d, "11:00"))
    expect(cancel(k["appointmentId"]), 200)
    want = {"PENDING": p, "DECLINED": x, "CONFIRMED": c, "CANCELLED": k}
    for status, a in want.items():
        j = expect(get("/api/appointments?" + urllib.parse.urlencode({"providerId": pid, "status": status})), 200)
        assert [y["appointmentId"] for y in j["appointments"]] == [a["appointmentId"]], (status, j)
        assert all(y["status"] == status for y in j["appointments"]), j
    j = expect(get("/api/appointments?providerId=%s" % pid), 200)
    assert [y["status"] for y in j["appointments"]] == ["PENDING", "DECLINED", "CONFIRMED", "CANCELLED"], j
    assert j["appointments"][1]["declineReason"] is None
    for bad in ("pending", "DONE", "NO_SHOW", ""):
        check_error(get("/api/appointments?" + urllib.parse.urlencode({"providerId": pid, "status": bad})),
                    422, "VALIDATION_ERROR", field="status")


def test_calendar_tentative_and_cancelled():
    pid, d = setup()
    p = pending(pid, utc(d, "08:00"))
    x = pending(pid, utc(d, "09:00"))
    c = pending(pid, utc(d, "10:00"))
    _, evs = feed_ok(pid)
    ev = by_uid(evs)
    assert {one(ev[a["appointmentId"]], "STATUS") for a in (p, x, c)} == {"TENTATIVE"}, evs
    seq0 = {a["appointmentId"]: int(one(ev[a["appointmentId"]], "SEQUENCE")) for a in (p, x, c)}
    expect(decline(x["appointmentId"], "no"), 200)
    expect(confirm(c["appointmentId"]), 200)
    _, evs = feed_ok(pid)
    ev = by_uid(evs)
    assert one(ev[p["appointmentId"]], "STATUS") == "TENTATIVE"
    assert one(ev[x["appointmentId"]], "STATUS") == "CANCELLED"
    assert one(ev[c["appointmentId"]], "STATUS") == "CONFIRMED"
    for a in (x, c):
        assert int(one(ev[a["appointmentId"]], "SEQUENCE")) > seq0[a["appointmentId"]], ev[a["appointmentId"]]
    assert int(one(ev[p["appointmentId"]], "SEQUENCE")) == seq0[p["appointmentId"]]


# ------------------------------------------------------------------ events, feed and webhooks
def hook_deliveries(wid, **params):
    """GET /api/webhooks/{wid}/deliveries (test_webhooks' helper knows only the older types)."""
    j = expect(get("/api/webhooks/%s/deliveries?%s" % (wid, urllib.parse.urlencode(params))), 200)
    return j["deliveries"]


def test_new_events_reach_the_feed_and_filtered_webhooks():
    pid, d = setup()
    pa = patient()
    with Receiver() as recv, Hooks(recv) as hooks:
        w = hooks.create("/new", eventTypes=NEW_TYPES)
        assert w["eventTypes"] == NEW_TYPES, w
        assert expect(get("/api/webhooks/%s" % w["id"]), 200)["eventTypes"] == NEW_TYPES
        wc = hooks.create("/conf", eventTypes=["APPOINTMENT_CONFIRMED"])
        a = pending(pid, utc(d, "10:00"), patient_id=pa)
        expect(decline(a["appointmentId"], "sorry"), 200)
        b = pending(pid, utc(d, "12:00"), patient_id=pa)
        expect(confirm(b["appointmentId"]), 200)
        to_past(b["appointmentId"])
        expect(attend(b["appointmentId"], "ATTENDED"), 200)
        ea = {r["event_type"]: r["envelope"]["eventId"] for r in outbox(aggregate_id=a["appointmentId"])}
        eb = {r["event_type"]: r["envelope"]["eventId"] for r in outbox(aggregate_id=b["appointmentId"])}
        want = {ea["APPOINTMENT_REQUESTED"], ea["APPOINTMENT_DECLINED"], eb["APPOINTMENT_REQUESTED"],
                eb["APPOINTMENT_ATTENDANCE_RECORDED"]}
        assert recv.wait(lambda arr: ok_ids(arr) >= want, timeout=20, path="/new"), recv.arrivals(path="/new")
        assert recv.wait(lambda arr: eb["APPOINTMENT_CONFIRMED"] in ok_ids(arr), timeout=20, path="/conf")
        arr = recv.arrivals(path="/new", patient=pa)
        for x in arr:
            check_arrival(x, "/new")
        assert {x.webhook_id for x in arr} == want, arr
        # per-appointment order
        order_a = [x.event_type for x in arr if x.appointment_id == a["appointmentId"]]
        assert order_a == ["APPOINTMENT_REQUESTED", "APPOINTMENT_DECLINED"], order_a
        order_b = [x.event_type for x in arr if x.appointment_id == b["appointmentId"]]
        assert order_b == ["APPOINTMENT_REQUESTED", "APPOINTMENT_ATTENDANCE_RECORDED"], order_b
        assert {x.event_type for x in recv.arrivals(path="/conf", patient=pa)} == {"APPOINTMENT_CONFIRMED"}
        ds = [x for x in hook_deliveries(w["id"], limit=100) if x["eventId"] in want]
        assert sorted(x["eventType"] for x in ds) == sorted(
            ["APPOINTMENT_REQUESTED", "APPOINTMENT_REQUESTED", "APPOINTMENT_DECLINED",
             "APPOINTMENT_ATTENDANCE_RECORDED"]), ds
        f = hook_deliveries(w["id"], eventType="APPOINTMENT_DECLINED")
        assert [x["eventId"] for x in f] == [ea["APPOINTMENT_DECLINED"]], f
    # the feed carries the stored envelopes
    for eid in want:
        seq = int(sql_value("SELECT seq FROM outbox WHERE event_id::text = %s" % q(eid[4:])))
        fe = feed_event(seq)
        assert fe["eventId"] == eid and fe["eventType"] in NEW_TYPES, fe


# ------------------------------------------------------------------ idempotency
def test_idempotency_key_replays_confirm_decline_attendance():
    pid, d = setup()
    a = pending(pid, utc(d, "10:00"))
    aid = a["appointmentId"]
    k = {"Idempotency-Key": "confirm-" + uuid4()}
    first = confirm(aid, headers=k)
    j = expect(first, 200)
    assert first.headers.get("idempotent-replayed") is None, first.headers
    again = confirm(aid, headers=k)
    assert again.status == 200 and again.headers.get("idempotent-replayed") == "true", again
    assert again.body == first.body
    # still the first answer after the appointment moved on
    expect(cancel(aid), 200)
    late = confirm(aid, headers=k)
    assert late.status == 200 and late.json == j and late.headers.get("idempotent-replayed") == "true", late
    assert [t for t, _ in events(aid)] == ["APPOINTMENT_REQUESTED", "APPOINTMENT_CONFIRMED",
                                           "APPOINTMENT_CANCELLED"]
    # a confirm without the key now runs and is refused
    state_400(confirm(aid), "cancelled")

    b = pending(pid, utc(d, "12:00"))
    kd = {"Idempotency-Key": "decline-" + uuid4()}
    r1 = decline(b["appointmentId"], "one", headers=kd)
    expect(r1, 200)
    r2 = decline(b["appointmentId"], "one", headers=kd)
    assert r2.status == 200 and r2.body == r1.body and r2.headers.get("idempotent-replayed") == "true", r2
    check_error(decline(b["appointmentId"], "two", headers=kd), 422, "IDEMPOTENCY_KEY_REUSED")
    assert outbox_count(b["appointmentId"]) == 2

    c = expect(book_svc(pid, utc(d, "14:00")), 201)
    to_past(c["appointmentId"])
    ka = {"Idempotency-Key": "attend-" + uuid4()}
    x1 = attend(c["appointmentId"], "ATTENDED", headers=ka)
    expect(x1, 200)
    expect(attend(c["appointmentId"], "NO_SHOW"), 200)
    x2 = attend(c["appointmentId"], "ATTENDED", headers=ka)
    assert x2.status == 200 and x2.body == x1.body and x2.headers.get("idempotent-replayed") == "true", x2
    assert stored(c["appointmentId"])[1] == "NO_SHOW"
    assert outbox_count(c["appointmentId"]) == 3
    # a 400 is remembered and replayed too
    k4 = {"Idempotency-Key": "confirm400-" + uuid4()}
    r = confirm(b["appointmentId"], headers=k4)
    state_400(r, "declined")
    r = confirm(b["appointmentId"], headers=k4)
    assert r.status == 400 and r.headers.get("idempotent-replayed") == "true", r
