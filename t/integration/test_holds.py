"""Holds (contract, "Holds"): the 201 shape and expiresAt = min(now + ttl,
startTime), GET while live, DELETE for every state, 422 at each field, 404 and
409 cases, scopes, a held capacity-1 slot gone from availability and back when
released or expired (a worker's cached read included), seats and limits,
conversion with holdId (the hold's end and buffers whatever changed; a
mismatch is 422; an ended or unknown hold books as if none were named), the
Idempotency-Key replay, the patient's 10 live holds over all providers, holds
absent from lists, the event feed and calendars, reschedules refused into a
held slot, retiring a service releasing its holds, and the relay pruning ended
holds. Every test makes its own provider; a wait for an expiry sleeps only
until expiresAt."""

import datetime as dt
import os
import signal
import time

from lib import (VAR, check_error, create_key, delete, expect, future_date, get, iso_offset,
                 iso_z, local_dt, make_provider, minutes, now_utc, outbox, parse_instant, patient,
                 post, post_schedule, q, reschedule, schedule_body, sql, sql_value, uuid4, wait_until)
from test_service_booking import book_svc, offered, row, service
from test_services import svc_delete

HOLD_KEYS = {"holdId", "providerId", "serviceId", "startTime", "endTime", "expiresAt", "patientId"}
RELEASED = {"message": "Hold released."}


# ------------------------------------------------------------------ helpers
def hold(pid, start, sid=None, patient_id=None, ttl=None, **kw):
    """POST /api/holds; fields left out when None."""
    body = {"providerId": pid, "startTime": start if isinstance(start, str) else iso_z(start)}
    if sid is not None:
        body["serviceId"] = sid
    if patient_id is not None:
        body["patientId"] = patient_id
    if ttl is not None:
        body["ttlSeconds"] = ttl
    return post("/api/holds", body, **kw)


def held(pid, start, sid=None, patient_id=None, ttl=None):
    j = expect(hold(pid, start, sid, patient_id, ttl), 201)
    assert set(j) == HOLD_KEYS, j
    return j


def convert(pid, start, hold_id, patient_id=None, sid=None, **kw):
    body = {"patientId": patient_id or patient(), "providerId": pid,
            "startTime": start if isinstance(start, str) else iso_z(start), "holdId": hold_id}
    if sid is not None:
        body["serviceId"] = sid
    return post("/api/appointments", body, **kw)


def utc(d, hhmm):
    return local_dt("UTC", d, hhmm)


def wait_past(instant):
    """Sleeps until just after an instant (a returned ISO string): no longer."""
    left = (parse_instant(instant) - now_utc()).total_seconds()
    if left > 0:
        time.sleep(left + 0.05)


def hold_row(hid):
    r = sql("SELECT ended_at IS NOT NULL, coalesce(appointment_id::text, ''), api_key_id::text "
            "FROM holds WHERE id = %s" % q(hid))
    return r[0] if r else None


# ------------------------------------------------------------------ shape and reads
def test_create_shape_expiry_and_get():
    pid = make_provider("UTC")
    d = future_date()
    st = utc(d, "10:00")
    t0 = now_utc()
    j = held(pid, st, patient_id="p-shape")
    t1 = now_utc()
    assert j["providerId"] == pid and j["serviceId"] == "default" and j["patientId"] == "p-shape", j
    assert j["startTime"] == iso_z(st) and j["endTime"] == iso_z(st + minutes(30)), j
    exp = parse_instant(j["expiresAt"])
    # default ttl 300 s, counted from the request's time
    assert t0 + dt.timedelta(seconds=299) <= exp <= t1 + dt.timedelta(seconds=301), (t0, j)
    assert j["expiresAt"].endswith("Z") and len(j["expiresAt"]) == 24, j
    assert expect(get("/api/holds/" + j["holdId"]), 200) == j
    # ttlSeconds and no patient: patientId null
    k = held(pid, utc(d, "11:00"), ttl=30)
    assert k["patientId"] is None, k
    assert abs((parse_instant(k["expiresAt"]) - now_utc()).total_seconds() - 30) < 5, k
    assert expect(get("/api/holds/" + k["holdId"]), 200)["patientId"] is None
    # unknown or ill-formed ids
    check_error(get("/api/holds/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12), 404, "NOT_FOUND")
    check_error(get("/api/holds/not-a-uuid"), 404, "NOT_FOUND")
    check_error(delete("/api/holds/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12), 404, "NOT_FOUND")
    check_error(delete("/api/holds/not-a-uuid"), 404, "NOT_FOUND")
    # who made it is recorded
    assert hold_row(j["holdId"])[2], hold_row(j["holdId"])


def test_expires_at_is_start_time_when_sooner():
    """A slot starting within the ttl: the hold lives until the slot starts."""
    pid = make_provider("UTC", appointmentDuration=5, slotInterval=5)
    t = now_utc() + dt.timedelta(minutes=2)
    st = t.replace(minute=t.minute - t.minute % 5, second=0, microsecond=0) + minutes(5)
    j = held(pid, st, ttl=1800)
    assert j["expiresAt"] == iso_z(st) == j["startTime"], j


def test_validation_422_at_each_field():
    pid = make_provider("UTC")
    st = iso_z(utc(future_date(), "10:00"))
    ok = {"providerId": pid, "startTime": st}
    cases = [
        ({"startTime": st}, "providerId"),
        (dict(ok, providerId="nope"), "providerId"),
        (dict(ok, providerId=7), "providerId"),
        ({"providerId": pid}, "startTime"),
        (dict(ok, startTime="2027-06-01T10:00:00"), "startTime"),
        (dict(ok, startTime="tomorrow"), "startTime"),
        (dict(ok, serviceId="Bad_Id"), "serviceId"),
        (dict(ok, serviceId=5), "serviceId"),
        (dict(ok, patientId=""), "patientId"),
        (dict(ok, patientId=12), "patientId"),
        (dict(ok, patientId="x" * 129), "patientId"),
        (dict(ok, ttlSeconds=29), "ttlSeconds"),
        (dict(ok, ttlSeconds=1801), "ttlSeconds"),
        (dict(ok, ttlSeconds=30.5), "ttlSeconds"),
        (dict(ok, ttlSeconds="60"), "ttlSeconds"),
    ]
    for body, field in cases:
        check_error(post("/api/holds", body), 422, "VALIDATION_ERROR", field=field)
    check_error(post("/api/holds", [ok]), 422, "VALIDATION_ERROR", field="body")
    check_error(post("/api/holds", raw="{", headers={"Content-Type": "application/json"}), 400,
                "BAD_REQUEST")
    # bounds and nulls are fine
    for body in (dict(ok, ttlSeconds=30), dict(ok, ttlSeconds=1800, startTime=iso_z(utc(future_date(), "11:00"))),
                 dict(ok, patientId=None, serviceId=None, ttlSeconds=None,
                      startTime=iso_z(utc(future_date(), "12:00")))):
        expect(post("/api/holds", body), 201)
    # several at once: each path
    err = check_error(post("/api/holds", {"providerId": "x", "ttlSeconds": 0}), 422, "VALIDATION_ERROR")
    assert {"providerId", "startTime", "ttlSeconds"} <= set(err["details"]), err
    # booking's holdId must be a UUID
    for bad in ("nope", 5, ""):
        check_error(post("/api/appointments", {"patientId": "p", "providerId": pid, "startTime": st,
                                               "holdId": bad}), 422, "VALIDATION_ERROR", field="holdId")


def test_unknown_provider_or_service_404_and_unoffered_409():
    pid = make_provider("UTC")
    d = future_date()
    err = check_error(hold(uuid4(), utc(d, "10:00")), 404, "NOT_FOUND")
    assert err["message"] == "Provider not found.", err
    err = check_error(hold(pid, utc(d, "10:00"), "nosuch"), 404, "NOT_FOUND")
    assert err["message"] == "Service not found.", err
    service(pid, "gone", duration=30)
    expect(svc_delete(pid, "gone"), 200)
    err = check_error(hold(pid, utc(d, "10:00"), "gone"), 404, "NOT_FOUND")
    assert err["message"] == "Service not found.", err
    for st in (utc(d, "10:10"), now_utc().replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)):
        err = check_error(hold(pid, st), 409, "CONFLICT")
        assert "not available" in err["message"], err
    near = make_provider("UTC", bookingHorizonDays=30)
    err = check_error(hold(near, utc(d, "10:00")), 409, "CONFLICT")
    assert "not available" in err["message"], err
    # a taken slot, by an appointment or a hold
    expect(book_svc(pid, utc(d, "10:00")), 201)
    check_error(hold(pid, utc(d, "10:00")), 409, "CONFLICT")
    held(pid, utc(d, "11:00"))
    check_error(hold(pid, utc(d, "11:00")), 409, "CONFLICT")
    check_error(hold(pid, utc(d, "11:00")), 409, "CONFLICT")


def test_scopes():
    pid = make_provider("UTC")
    d = future_date()
    _, read_key = create_key("read", "holds read")
    _, booking_key = create_key("booking", "holds booking")
    rk = {"Authorization": "Bearer " + read_key}
    bk = {"Authorization": "Bearer " + booking_key}
    check_error(hold(pid, utc(d, "10:00"), headers=rk), 403, "FORBIDDEN")
    j = expect(hold(pid, utc(d, "10:00"), headers=bk), 201)
    expect(get("/api/holds/" + j["holdId"], headers=rk), 200)
    expect(get("/api/holds/" + j["holdId"], headers=bk), 200)
    check_error(delete("/api/holds/" + j["holdId"], headers=rk), 403, "FORBIDDEN")
    check_error(get("/api/holds/" + j["holdId"], auth=False), 401, "UNAUTHORIZED")
    check_error(hold(pid, utc(d, "11:00"), auth=False), 401, "UNAUTHORIZED")
    assert expect(delete("/api/holds/" + j["holdId"], headers=bk), 200) == RELEASED
    # other methods: 405 with Allow
    r = post("/api/holds/" + j["holdId"], {})
    assert r.status == 405 and set(r.headers["allow"].replace(" ", "").split(",")) == {"GET", "DELETE"}, r
    r = get("/api/holds")
    assert r.status == 405 and r.headers["allow"].replace(" ", "") == "POST", r


# ------------------------------------------------------------------ the slot while held
def test_held_slot_disappears_and_comes_back_when_released():
    pid = make_provider("UTC")
    d = future_date()
    st = utc(d, "10:00")
    assert iso_z(st) in offered(pid, d)
    j = held(pid, st, patient_id="p-rel")
    assert iso_z(st) not in offered(pid, d)
    assert iso_z(utc(d, "10:30")) in offered(pid, d)
    check_error(book_svc(pid, st), 409, "CONFLICT")
    assert expect(delete("/api/holds/" + j["holdId"]), 200) == RELEASED
    assert iso_z(st) in offered(pid, d)
    check_error(get("/api/holds/" + j["holdId"]), 404, "NOT_FOUND")
    # released again: still 200
    assert expect(delete("/api/holds/" + j["holdId"]), 200) == RELEASED
    a = expect(book_svc(pid, st), 201)
    # a released hold named by a booking: booked as if none were named (here: taken, 409)
    check_error(convert(pid, st, j["holdId"], "p-rel"), 409, "CONFLICT")
    expect(cancel_appt(a["appointmentId"]), 200)
    expect(convert(pid, st, j["holdId"], "p-rel"), 201)


def cancel_appt(aid):
    return delete("/api/appointments/" + aid)


def test_hold_expiry_frees_the_slot_without_a_write():
    """ttlSeconds = 30: from expiresAt on the hold counts nowhere, even in a
    worker's cached read (a hold's expiry writes nothing)."""
    pid = make_provider("UTC")
    d = future_date()
    st = utc(d, "10:00")
    j = held(pid, st, ttl=30)
    # warm every worker's cache with the held state
    for _ in range(12):
        assert iso_z(st) not in offered(pid, d)
    check_error(book_svc(pid, st), 409, "CONFLICT")
    wait_past(j["expiresAt"])
    # the very next requests: the slot is offered, the hold is gone
    for _ in range(12):
        assert iso_z(st) in offered(pid, d)
    check_error(get("/api/holds/" + j["holdId"]), 404, "NOT_FOUND")
    assert hold_row(j["holdId"])[0] == "f"  # nothing wrote it
    assert expect(delete("/api/holds/" + j["holdId"]), 200) == RELEASED
    assert hold_row(j["holdId"])[0] == "f"  # an expired hold is not written either
    # an expired hold named by a booking: booked as if none were named
    a = expect(convert(pid, st, j["holdId"]), 201)
    assert hold_row(j["holdId"])[1] == ""
    assert iso_z(st) not in offered(pid, d)
    expect(get("/api/appointments/" + a["appointmentId"]), 200)


def test_holds_take_seats_and_count_for_limits():
    pid = make_provider("UTC", limits={"perDay": 1})
    service(pid, "class", duration=60, capacity=3)
    d = future_date()
    st = utc(d, "10:00")
    assert offered(pid, d, "class")[iso_z(st)] == 3
    h1 = held(pid, st, "class")
    assert offered(pid, d, "class")[iso_z(st)] == 2
    # the hold opened the day's one session: nothing else of the day is offered
    assert set(offered(pid, d, "class")) == {iso_z(st)}
    assert offered(pid, d) == {}
    check_error(book_svc(pid, utc(d, "12:00"), "class"), 409, "CONFLICT")
    check_error(hold(pid, utc(d, "12:00"), "class"), 409, "CONFLICT")
    held(pid, st, "class")
    expect(book_svc(pid, st, "class"), 201)
    assert iso_z(st) not in offered(pid, d, "class")
    check_error(hold(pid, st, "class"), 409, "CONFLICT")
    check_error(book_svc(pid, st, "class"), 409, "CONFLICT")
    expect(delete("/api/holds/" + h1["holdId"]), 200)
    assert offered(pid, d, "class")[iso_z(st)] == 1
    # a hold conflicts with another service's times with its own buffers
    service(pid, "other", duration=30)
    assert not any(s.startswith(str(d)) for s in offered(pid, d, "other"))


def test_reschedule_into_a_held_slot_is_refused():
    pid = make_provider("UTC")
    d = future_date()
    a = expect(book_svc(pid, utc(d, "09:00")), 201)
    j = held(pid, utc(d, "10:00"))
    check_error(reschedule(a["appointmentId"], iso_z(utc(d, "10:00"))), 409, "CONFLICT")
    expect(delete("/api/holds/" + j["holdId"]), 200)
    expect(reschedule(a["appointmentId"], iso_z(utc(d, "10:00"))), 200)


# ------------------------------------------------------------------ conversion
def test_conversion_keeps_the_holds_end_and_buffers_after_the_service_changed():
    pid = make_provider("UTC")
    service(pid, "consult", duration=60, bufferBefore=10, bufferAfter=20)
    d = future_date()
    st = utc(d, "10:00")
    j = held(pid, st, "consult", "p-conv")
    assert j["endTime"] == iso_z(st + minutes(60)), j
    # the service and the schedule change; the hour is not even offered any more
    service(pid, "consult", duration=30, bufferBefore=0, bufferAfter=0)
    post_schedule(pid, schedule_body("UTC", weeklySchedule={
        day: [{"start": "12:00", "end": "18:00"}] for day in
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}))
    n_events = len(outbox(aggregate_id=None, like=pid))
    a = expect(convert(pid, st, j["holdId"], "p-conv", "consult"), 201)
    assert a["startTime"] == iso_z(st) and a["endTime"] == iso_z(st + minutes(60)), a
    assert a["serviceId"] == "consult" and a["patientId"] == "p-conv", a
    assert row(a["appointmentId"])[:3] == ("consult", 10, 20), row(a["appointmentId"])
    ended, appt_id, _ = hold_row(j["holdId"])
    assert ended == "t" and appt_id == a["appointmentId"], hold_row(j["holdId"])
    check_error(get("/api/holds/" + j["holdId"]), 404, "NOT_FOUND")
    assert expect(delete("/api/holds/" + j["holdId"]), 200) == RELEASED
    expect(get("/api/appointments/" + a["appointmentId"]), 200)  # untouched by the DELETE
    assert get("/api/appointments/" + a["appointmentId"]).json["status"] == a["status"]
    # exactly the booking's event
    assert len(outbox(aggregate_id=None, like=pid)) == n_events + 1
    # a converted hold named again: booked as if none were named (the hour is not offered)
    check_error(convert(pid, st, j["holdId"], "p-conv", "consult"), 409, "CONFLICT")


def test_conversion_matching_rules():
    pid = make_provider("UTC")
    other = make_provider("UTC")
    service(pid, "consult", duration=30)
    d = future_date()
    st = utc(d, "10:00")
    j = held(pid, st, patient_id="p-owner")
    for body in ({"patientId": "p-else"},
                 {"startTime": iso_z(utc(d, "10:30"))},
                 {"serviceId": "consult"},
                 {"providerId": other}):
        b = {"patientId": "p-owner", "providerId": pid, "startTime": iso_z(st), "holdId": j["holdId"]}
        b.update(body)
        check_error(post("/api/appointments", b), 422, "VALIDATION_ERROR", field="holdId")
    expect(get("/api/holds/" + j["holdId"]), 200)  # still live
    # the same instant with another offset matches
    a = expect(post("/api/appointments", {"patientId": "p-owner", "providerId": pid,
                                          "startTime": iso_offset(st, 120), "holdId": j["holdId"]}), 201)
    assert a["startTime"] == iso_z(st), a
    # a hold without a patient matches any patient
    k = held(pid, utc(d, "11:00"))
    expect(convert(pid, utc(d, "11:00"), k["holdId"], "anyone"), 201)
    # an unknown hold: booked as if none were named
    expect(convert(pid, utc(d, "12:00"), uuid4()), 201)
    check_error(convert(pid, utc(d, "12:00"), uuid4()), 409, "CONFLICT")


def test_idempotent_replay_of_post_and_delete():
    pid = make_provider("UTC")
    d = future_date()
    key = {"Idempotency-Key": "hold-" + uuid4()}
    r1 = hold(pid, utc(d, "10:00"), headers=key)
    j = expect(r1, 201)
    r2 = hold(pid, utc(d, "10:00"), headers=key)
    assert r2.status == 201 and r2.json == j and r2.headers.get("idempotent-replayed") == "true", r2
    assert int(sql_value("SELECT count(*) FROM holds WHERE provider_id = %s" % q(pid))) == 1
    check_error(hold(pid, utc(d, "11:00"), headers=key), 422, "IDEMPOTENCY_KEY_REUSED")
    # a remembered 409 is replayed too
    key2 = {"Idempotency-Key": "hold-" + uuid4()}
    check_error(hold(pid, utc(d, "10:00"), headers=key2), 409, "CONFLICT")
    dkey = {"Idempotency-Key": "rel-" + uuid4()}
    assert expect(delete("/api/holds/" + j["holdId"], headers=dkey), 200) == RELEASED
    r = delete("/api/holds/" + j["holdId"], headers=dkey)
    assert r.status == 200 and r.headers.get("idempotent-replayed") == "true", r
    r = hold(pid, utc(d, "10:00"), headers=key2)
    assert r.status == 409 and r.headers.get("idempotent-replayed") == "true", r


def test_patient_hold_limit_is_ten_over_all_providers():
    pids = [make_provider("UTC") for _ in range(3)]
    d = future_date()
    p = "p-limit-" + uuid4()
    mine = []
    for i in range(10):
        mine.append(held(pids[i % 3], utc(d, "%02d:00" % (8 + i // 3)), patient_id=p))
    err = check_error(hold(pids[0], utc(d, "15:00"), patient_id=p), 409, "CONFLICT")
    assert "hold limit" in err["message"], err
    check_error(hold(pids[2], utc(d, "16:00"), patient_id=p), 409, "CONFLICT")
    # others are not affected
    held(pids[0], utc(d, "15:00"), patient_id=p + "-other")
    held(pids[0], utc(d, "16:00"))
    # bookings are not limited
    expect(book_svc(pids[1], utc(d, "17:00"), None, p), 201)
    # a converted or released one frees a place
    expect(delete("/api/holds/" + mine[0]["holdId"]), 200)
    held(pids[1], utc(d, "18:00"), patient_id=p)
    check_error(hold(pids[1], utc(d, "19:00"), patient_id=p), 409, "CONFLICT")
    expect(convert(pids[1], mine[1]["startTime"], mine[1]["holdId"], p), 201)
    held(pids[1], utc(d, "19:00"), patient_id=p)
    assert int(sql_value("SELECT count(*) FROM holds WHERE patient_id = %s AND ended_at IS NULL" % q(p))) == 10


def test_holds_are_absent_from_lists_feed_and_calendar():
    pid = make_provider("UTC")
    d = future_date()
    events = len(outbox(like=pid))
    j = held(pid, utc(d, "10:00"), patient_id="p-hidden")
    assert expect(get("/api/appointments?providerId=" + pid), 200)["appointments"] == []
    assert expect(get("/api/appointments?patientId=p-hidden"), 200)["appointments"] == []
    r = get("/api/providers/%s/calendar.ics" % pid)
    assert r.status == 200 and "BEGIN:VEVENT" not in r.text, r
    expect(delete("/api/holds/" + j["holdId"]), 200)
    assert len(outbox(like=pid)) == events
    assert not outbox(like=j["holdId"])


def test_retiring_a_service_releases_its_holds():
    pid = make_provider("UTC")
    service(pid, "class", duration=60, capacity=2)
    d = future_date()
    st = utc(d, "10:00")
    j = held(pid, st, "class")
    k = held(pid, utc(d, "12:00"))  # default: not touched
    expect(svc_delete(pid, "class"), 200)
    check_error(get("/api/holds/" + j["holdId"]), 404, "NOT_FOUND")
    assert hold_row(j["holdId"])[0] == "t"
    expect(get("/api/holds/" + k["holdId"]), 200)
    service(pid, "class", duration=60, capacity=2)
    assert offered(pid, d, "class")[iso_z(st)] == 2
    # the released hold named by a booking: booked as if none were named
    a = expect(convert(pid, st, j["holdId"], sid="class"), 201)
    assert offered(pid, d, "class")[iso_z(st)] == 1, a


def test_relay_prunes_holds_ended_a_day_ago():
    pid = make_provider("UTC")
    d = future_date()
    old = held(pid, utc(d, "10:00"))
    recent = held(pid, utc(d, "11:00"))
    live = held(pid, utc(d, "12:00"))
    expect(delete("/api/holds/" + recent["holdId"]), 200)
    sql("UPDATE holds SET ended_at = now() - interval '25 hours', expires_at = now() - interval '24 hours 55 minutes'"
        " WHERE id = %s" % q(old["holdId"]))
    with open(os.path.join(VAR, "run", "appointd-relay.pid")) as f:
        relay = int(f.read().split()[0])

    def pruned():
        os.kill(relay, signal.SIGHUP)
        return wait_until(lambda: hold_row(old["holdId"]) is None, 1)
    assert wait_until(pruned, 10, 0), "an old hold was not pruned"
    assert hold_row(recent["holdId"]) is not None and hold_row(live["holdId"]) is not None
    expect(get("/api/holds/" + live["holdId"]), 200)
