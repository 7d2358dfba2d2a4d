"""Cancellation and reschedule policies: a service's cancellationNotice and
rescheduleNotice refuse a key of scope booking (409 POLICY_VIOLATION) when
the appointment starts sooner than the notice, allow it otherwise; admin keys
are exempt; the notices are the service's current values; `default` has
none. And the order of checks: PUT 404, 400, the same-time 200,
POLICY_VIOLATION, then the new slot's 409; DELETE 404, the 200 for a
cancelled one, 400, POLICY_VIOLATION. Each order case is built so that two
checks apply and the test asserts which one wins.

Appointments are booked next year, months ahead, so a notice of 525600
minutes (the maximum, a year) is always "inside" and a notice a few minutes
shorter than the time left is always "outside": no test depends on the
clock's exact reading."""

import datetime as dt

from lib import (cancel, check_error, create_key, expect, future_date, get, iso_z, make_provider,
                 minutes, now_utc, outbox_count, parse_instant, q, reschedule, sql, uuid4)
from test_confirmation import attend, confirm, decline, pending, to_past
from test_service_booking import book_svc, service, utc
from test_services import svc_delete

YEAR = 525600

_booking_key = []


def booking_key():
    """One booking-scope key for the module."""
    if not _booking_key:
        _booking_key.append(create_key("booking", "policies")[1])
    return _booking_key[0]


def as_booking():
    return {"headers": {"Authorization": "Bearer " + booking_key()}}


def setup(cancellation=0, reschedule_=0, **fields):
    pid = make_provider("UTC")
    service(pid, "strict", duration=30, cancellationNotice=cancellation, rescheduleNotice=reschedule_, **fields)
    return pid, future_date()


def set_notices(pid, cancellation, reschedule_, **fields):
    service(pid, "strict", duration=30, cancellationNotice=cancellation, rescheduleNotice=reschedule_, **fields)


def booked(pid, start, sid="strict"):
    return expect(book_svc(pid, start, sid), 201)


def violation(r, what):
    err = check_error(r, 409, "POLICY_VIOLATION")
    assert what in err["message"].lower(), err
    return err


def status_of(aid):
    return sql("SELECT status, to_char(start_at AT TIME ZONE 'UTC', 'HH24:MI') FROM appointments "
               "WHERE id = %s" % q(aid))[0]


def minutes_left(a):
    return (parse_instant(a["startTime"]) - now_utc()) / dt.timedelta(minutes=1)


# ------------------------------------------------------------------ the rule
def test_booking_key_inside_notice_is_policy_violation():
    pid, d = setup(cancellation=YEAR, reschedule_=YEAR)
    a = booked(pid, utc(d, "10:00"))
    aid = a["appointmentId"]
    violation(cancel(aid, **as_booking()), "cancel")
    violation(reschedule(aid, utc(d, "12:00"), **as_booking()), "reschedul")
    assert status_of(aid) == ["CONFIRMED", "10:00"] and outbox_count(aid) == 1
    # the admin key is exempt from both
    expect(reschedule(aid, utc(d, "12:00")), 200)
    expect(cancel(aid), 200)
    assert status_of(aid) == ["CANCELLED", "12:00"] and outbox_count(aid) == 3


def test_each_notice_governs_its_own_action():
    pid, d = setup(cancellation=YEAR, reschedule_=0)
    a = booked(pid, utc(d, "10:00"))
    aid = a["appointmentId"]
    expect(reschedule(aid, utc(d, "11:00"), **as_booking()), 200)
    violation(cancel(aid, **as_booking()), "cancel")
    set_notices(pid, 0, YEAR)
    violation(reschedule(aid, utc(d, "12:00"), **as_booking()), "reschedul")
    expect(cancel(aid, **as_booking()), 200)


def test_outside_the_notice_is_allowed_in_minutes():
    """The notice is in minutes and the rule is startTime - now < notice."""
    pid, d = setup()
    a = booked(pid, utc(d, "10:00"))
    aid = a["appointmentId"]
    left = minutes_left(a)
    inside, outside = int(left) + 2, int(left) - 2
    set_notices(pid, inside, inside)
    violation(reschedule(aid, utc(d, "11:00"), **as_booking()), "reschedul")
    violation(cancel(aid, **as_booking()), "cancel")
    set_notices(pid, outside, outside)
    b = expect(reschedule(aid, utc(d, "09:00"), **as_booking()), 200)
    # 09:00 is an hour earlier: the reschedule notice now measures from the new start
    set_notices(pid, 0, int(minutes_left(b)) + 2)
    violation(reschedule(aid, utc(d, "11:00"), **as_booking()), "reschedul")
    set_notices(pid, int(minutes_left(b)) - 2, int(minutes_left(b)) - 2)
    expect(cancel(aid, **as_booking()), 200)


def test_notices_are_the_services_current_values():
    pid, d = setup()
    a = booked(pid, utc(d, "10:00"))
    aid = a["appointmentId"]
    set_notices(pid, YEAR, YEAR)               # raised after booking: applies
    violation(cancel(aid, **as_booking()), "cancel")
    violation(reschedule(aid, utc(d, "11:00"), **as_booking()), "reschedul")
    set_notices(pid, 0, 0)                     # lowered again: allowed
    expect(reschedule(aid, utc(d, "11:00"), **as_booking()), 200)
    set_notices(pid, YEAR, 0)
    violation(cancel(aid, **as_booking()), "cancel")
    service(pid, "strict", duration=30)        # fields left out return to 0
    expect(cancel(aid, **as_booking()), 200)


def test_retired_service_keeps_its_notices():
    pid, d = setup(cancellation=YEAR, reschedule_=YEAR)
    a = booked(pid, utc(d, "10:00"))
    aid = a["appointmentId"]
    expect(svc_delete(pid, "strict"), 200)
    violation(cancel(aid, **as_booking()), "cancel")
    # POLICY_VIOLATION comes before the new slot's 409 (a retired service offers nothing)
    violation(reschedule(aid, utc(d, "11:00"), **as_booking()), "reschedul")
    check_error(reschedule(aid, utc(d, "11:00")), 409, "CONFLICT")
    expect(cancel(aid), 200)


def test_default_service_has_no_notice():
    pid = make_provider("UTC", slotInterval=5)
    start = (now_utc() + minutes(20)).replace(second=0, microsecond=0)
    start += minutes((5 - start.minute % 5) % 5)
    a = expect(book_svc(pid, start), 201)
    b = expect(reschedule(a["appointmentId"], start + minutes(10), **as_booking()), 200)
    assert b["serviceId"] == "default", b
    expect(cancel(a["appointmentId"], **as_booking()), 200)
    r = expect(get("/api/providers/%s/services/default" % pid), 200)
    assert r["cancellationNotice"] == 0 and r["rescheduleNotice"] == 0, r


def test_pending_appointments_follow_the_policy():
    pid, d = setup(cancellation=YEAR, reschedule_=YEAR, requiresConfirmation=True)
    a = pending(pid, utc(d, "10:00"), "strict")
    aid = a["appointmentId"]
    violation(cancel(aid, **as_booking()), "cancel")
    violation(reschedule(aid, utc(d, "11:00"), **as_booking()), "reschedul")
    # confirm and decline are no cancellation: no policy
    expect(confirm(aid, **as_booking()), 200)
    b = pending(pid, utc(d, "12:00"), "strict")
    expect(decline(b["appointmentId"], **as_booking()), 200)
    # the admin reschedules: the status is kept (CONFIRMED, or PENDING)
    j = expect(reschedule(aid, utc(d, "14:00")), 200)
    assert j["status"] == "CONFIRMED", j
    c = pending(pid, utc(d, "16:00"), "strict")
    j = expect(reschedule(c["appointmentId"], utc(d, "17:00")), 200)
    assert j["status"] == "PENDING", j


# ------------------------------------------------------------------ order: PUT
def test_put_order_404_first():
    check_error(reschedule(uuid4(), iso_z(utc(future_date(), "10:00")), **as_booking()), 404, "NOT_FOUND")


def test_put_order_400_before_policy():
    pid, d = setup(cancellation=0, reschedule_=YEAR, requiresConfirmation=True)
    x = pending(pid, utc(d, "08:00"), "strict")
    expect(cancel(x["appointmentId"]), 200)
    err = check_error(reschedule(x["appointmentId"], utc(d, "11:00"), **as_booking()), 400, "BAD_REQUEST")
    assert "cancelled" in err["message"].lower(), err
    y = pending(pid, utc(d, "09:00"), "strict")
    expect(decline(y["appointmentId"]), 200)
    err = check_error(reschedule(y["appointmentId"], utc(d, "11:00"), **as_booking()), 400, "BAD_REQUEST")
    assert "declined" in err["message"].lower(), err
    z = pending(pid, utc(d, "10:00"), "strict")
    expect(confirm(z["appointmentId"]), 200)
    to_past(z["appointmentId"])
    expect(attend(z["appointmentId"], "NO_SHOW"), 200)
    err = check_error(reschedule(z["appointmentId"], utc(d, "11:00"), **as_booking()), 400, "BAD_REQUEST")
    assert "attendance" in err["message"].lower(), err
    # the admin gets the same 400s
    for w in (x, y, z):
        check_error(reschedule(w["appointmentId"], utc(d, "11:00")), 400, "BAD_REQUEST")


def test_put_order_same_time_before_policy():
    pid, d = setup(reschedule_=YEAR)
    a = booked(pid, utc(d, "10:00"))
    n = outbox_count(a["appointmentId"])
    j = expect(reschedule(a["appointmentId"], "%sT12:00:00+02:00" % d, **as_booking()), 200)
    assert j["startTime"] == a["startTime"] and j["version"] == a["version"], j
    assert outbox_count(a["appointmentId"]) == n


def test_put_order_policy_before_409():
    pid, d = setup(reschedule_=YEAR)
    a = booked(pid, utc(d, "10:00"))
    booked(pid, utc(d, "12:00"))
    aid = a["appointmentId"]
    violation(reschedule(aid, utc(d, "12:00"), **as_booking()), "reschedul")     # taken
    violation(reschedule(aid, utc(d, "12:07"), **as_booking()), "reschedul")     # not a slot start
    violation(reschedule(aid, "%sT10:00:00Z" % (d - dt.timedelta(days=800)), **as_booking()), "reschedul")
    check_error(reschedule(aid, utc(d, "12:00")), 409, "CONFLICT")               # admin: the slot's 409
    # a bad body is 422 before any of it
    check_error(reschedule(aid, "tomorrow", **as_booking()), 422, "VALIDATION_ERROR", field="startTime")
    assert status_of(aid) == ["CONFIRMED", "10:00"]


# ------------------------------------------------------------------ order: DELETE
def test_delete_order_404_then_cancelled_200_before_policy():
    check_error(cancel(uuid4(), **as_booking()), 404, "NOT_FOUND")
    pid, d = setup(cancellation=YEAR)
    a = booked(pid, utc(d, "10:00"))
    expect(cancel(a["appointmentId"]), 200)              # the admin cancels inside the notice
    n = outbox_count(a["appointmentId"])
    expect(cancel(a["appointmentId"], **as_booking()), 200)   # a cancelled one: 200, not the policy
    assert outbox_count(a["appointmentId"]) == n


def test_delete_order_400_before_policy():
    pid, d = setup(cancellation=YEAR, requiresConfirmation=True)
    y = pending(pid, utc(d, "09:00"), "strict")
    expect(decline(y["appointmentId"]), 200)
    err = check_error(cancel(y["appointmentId"], **as_booking()), 400, "BAD_REQUEST")
    assert "declined" in err["message"].lower(), err
    z = pending(pid, utc(d, "10:00"), "strict")
    expect(confirm(z["appointmentId"]), 200)
    to_past(z["appointmentId"])
    expect(attend(z["appointmentId"], "ATTENDED"), 200)
    err = check_error(cancel(z["appointmentId"], **as_booking()), 400, "BAD_REQUEST")
    assert "attendance" in err["message"].lower(), err
    for w in (y, z):
        check_error(cancel(w["appointmentId"]), 400, "BAD_REQUEST")
    assert status_of(y["appointmentId"])[0] == "DECLINED" and status_of(z["appointmentId"])[0] == "CONFIRMED"


def test_policy_violation_is_replayed_with_its_idempotency_key():
    pid, d = setup(cancellation=YEAR)
    a = booked(pid, utc(d, "10:00"))
    k = "policy-" + a["appointmentId"]
    hdr = {"Authorization": "Bearer " + booking_key(), "Idempotency-Key": k}
    violation(cancel(a["appointmentId"], headers=hdr), "cancel")
    set_notices(pid, 0, 0)
    r = cancel(a["appointmentId"], headers=hdr)
    assert r.status == 409 and r.headers.get("idempotent-replayed") == "true", r
    assert status_of(a["appointmentId"])[0] == "CONFIRMED"
    expect(cancel(a["appointmentId"], **as_booking()), 200)
