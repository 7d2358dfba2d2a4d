"""Team booking: POST /api/appointments with providerIds ("any available
provider"). Bad bodies are 422 (providerIds; providerId with or without it);
the first unknown provider, or one without the service active, is the 404's;
the appointment goes to the provider with the fewest sessions with seats
(live holds included, any service) in the local ISO week of startTime, ties
to the earliest in providerIds; 409 when none offers it; a live hold among
the providers converts at its own provider."""

import datetime as dt

from lib import (cancel, check_error, expect, future_date, iso_z, local_dt, make_provider, patient, post,
                 sql_value, q, uuid4)
from test_holds import held, hold_row
from test_service_booking import book_svc, service
from test_services import svc_delete


def team(pids, start, sid=None, patient_id=None, hold_id=None, **kw):
    """POST /api/appointments naming providerIds (fields left out when None)."""
    body = {"patientId": patient_id or patient(), "providerIds": list(pids),
            "startTime": start if isinstance(start, str) else iso_z(start)}
    if sid is not None:
        body["serviceId"] = sid
    if hold_id is not None:
        body["holdId"] = hold_id
    return post("/api/appointments", body, **kw)


def chosen(pids, start, sid=None, **kw):
    """The providerId a 201 team booking names (it must be one of pids)."""
    j = expect(team(pids, start, sid, **kw), 201)
    assert j["providerId"] in pids, j
    return j["providerId"]


def utc(d, hhmm):
    return local_dt("UTC", d, hhmm)


def load(pid, *starts, sid=None):
    for st in starts:
        expect(book_svc(pid, st, sid), 201)


def test_422_for_malformed_provider_ids_and_both_or_neither():
    p = make_provider("UTC")
    st = iso_z(utc(future_date("monday"), "10:00"))
    for bad in ([], [uuid4() for _ in range(51)], [p, p], [p, p.upper()], ["not-a-uuid"], [p, 7],
                "%s" % p, {"a": p}, 3):
        check_error(team([], st) if bad == [] else post("/api/appointments", {
            "patientId": "x", "providerIds": bad, "startTime": st}), 422, "VALIDATION_ERROR",
            field="providerIds")
    # both, and neither: 422 at providerId
    r = post("/api/appointments", {"patientId": "x", "providerId": p, "providerIds": [p], "startTime": st})
    check_error(r, 422, "VALIDATION_ERROR", field="providerId")
    check_error(post("/api/appointments", {"patientId": "x", "startTime": st}), 422,
                "VALIDATION_ERROR", field="providerId")
    # 50 distinct is the most allowed: those unknown are then 404, not 422
    many = [p] + [uuid4() for _ in range(49)]
    err = check_error(team(many, st), 404, "NOT_FOUND")
    assert many[1] in err["message"], err
    # a null providerIds is absent
    assert expect(post("/api/appointments", {"patientId": "x", "providerId": p, "providerIds": None,
                                             "startTime": st}), 201)["providerId"] == p
    assert int(sql_value("SELECT count(*) FROM appointments WHERE provider_id = %s" % q(p))) == 1


def test_404_names_the_first_bad_provider_in_the_order_given():
    a, b, c = (make_provider("UTC") for _ in range(3))
    st = iso_z(utc(future_date("tuesday"), "10:00"))
    u1, u2 = uuid4(), uuid4()
    err = check_error(team([a, u1, b, u2], st), 404, "NOT_FOUND")
    assert u1 in err["message"] and u2 not in err["message"], err
    err = check_error(team([u2, a, u1], st), 404, "NOT_FOUND")
    assert u2 in err["message"], err
    # the service: b lacks it, c has it retired; a has it
    service(a, "consult", duration=30)
    service(c, "consult", duration=30)
    assert svc_delete(c, "consult").status == 200
    err = check_error(team([a, b, c], st, "consult"), 404, "NOT_FOUND")
    assert b in err["message"] and c not in err["message"], err
    err = check_error(team([c, a, b], st, "consult"), 404, "NOT_FOUND")
    assert c in err["message"], err
    err = check_error(team([a, c, u1], st, "consult"), 404, "NOT_FOUND")
    assert c in err["message"], err
    # nothing was written
    for p in (a, b, c):
        assert int(sql_value("SELECT count(*) FROM appointments WHERE provider_id = %s" % q(p))) == 0
    assert chosen([a], st, "consult") == a


def test_the_fewest_sessions_of_the_week_wins_seats_and_holds_counted_once():
    a, b, c = (make_provider("UTC") for _ in range(3))
    for p in (a, b, c):
        service(p, "class", duration=60, capacity=3)
    mon = future_date("monday")
    target = utc(mon + dt.timedelta(days=3), "12:00")           # Thursday
    # a: 3 sessions this week
    load(a, utc(mon, "08:00"), utc(mon, "09:00"), utc(mon + dt.timedelta(days=6), "23:30"))
    # b: one 3-seat session (counts once) and a live hold (counts) = 2, plus sessions in the
    #    weeks before and after, which do not count
    load(b, utc(mon, "08:00"), utc(mon, "08:00"), utc(mon, "08:00"), sid="class")
    held(b, utc(mon + dt.timedelta(days=1), "08:00"))
    load(b, utc(mon - dt.timedelta(days=1), "23:30"), utc(mon + dt.timedelta(days=7), "00:00"))
    # c: 2 sessions, one of them a cancelled appointment's slot rebooked (the cancelled one is gone)
    load(c, utc(mon, "10:00"))
    aid = expect(book_svc(c, utc(mon, "11:00")), 201)["appointmentId"]
    expect(post("/api/appointments", {"patientId": "x", "providerId": c,
                                      "startTime": iso_z(utc(mon, "12:00"))}), 201)
    expect(cancel(aid), 200)
    # loads: a 3, b 2, c 2 -> the tie between b and c goes to the earlier in providerIds
    assert chosen([a, b, c], target) == b
    # now b has 3: c (2) wins whatever the order
    assert chosen([b, a, c], target + dt.timedelta(hours=1)) == c
    # a 3, b 3, c 3: ties to the first given
    assert chosen([c, b, a], target + dt.timedelta(hours=2)) == c
    assert chosen([b, a, c], target + dt.timedelta(hours=3)) == b
    assert chosen([a, b, c], target + dt.timedelta(hours=4)) == a


def test_ties_go_to_the_earliest_in_provider_ids():
    ps = [make_provider("UTC") for _ in range(4)]
    st = utc(future_date("wednesday"), "09:00")
    order = [ps[2], ps[0], ps[3], ps[1]]
    j = expect(team(order, st), 201)
    assert j["providerId"] == ps[2] and j["status"] == "CONFIRMED" and j["serviceId"] == "default", j
    got = expect(team([ps[0], ps[1]], st), 201)
    assert got["providerId"] == ps[0], got
    # the row and its event name the chosen provider
    assert sql_value("SELECT provider_id::text FROM appointments WHERE id = %s" % q(j["appointmentId"])) == ps[2]
    payload = sql_value("SELECT payload FROM outbox WHERE aggregate_id = %s AND event_type = "
                        "'APPOINTMENT_CONFIRMED'" % q(j["appointmentId"]))
    assert ps[2] in payload, payload


def test_a_provider_in_another_zone_counts_its_own_local_iso_week():
    """Monday 06:00 in Auckland (NZST, +12 in June) is Sunday 18:00 UTC: its local
    ISO week starts that Monday, while the UTC week of that instant started six days
    earlier. Two sessions on the local Sunday before (still that UTC week) do not count
    for the Auckland provider; one session earlier in the UTC week counts for the UTC
    provider. Counted in UTC weeks the UTC provider would win (1 < 2)."""
    u = make_provider("UTC")
    z = make_provider("Pacific/Auckland")
    mon = future_date("monday")
    target = local_dt("Pacific/Auckland", mon, "06:00")
    assert target.astimezone(dt.timezone.utc).weekday() == 6  # a UTC Sunday
    sunday_before = mon - dt.timedelta(days=1)
    load(z, local_dt("Pacific/Auckland", sunday_before, "10:00"), local_dt("Pacific/Auckland", sunday_before, "11:00"))
    load(u, utc(mon - dt.timedelta(days=3), "10:00"))  # Friday of the UTC week holding the target
    # u: 1 in its week; z: 0 in its local week (its 2 sessions are in the week before)
    assert chosen([u, z], target) == z
    # The other way round: z's sessions later in its local week count for it.
    u2 = make_provider("UTC")
    z2 = make_provider("Pacific/Auckland")
    load(z2, local_dt("Pacific/Auckland", mon + dt.timedelta(days=6), "10:00"))  # local Sunday: same local week
    # u2 has one session in the UTC week after (Monday 00:00 UTC = Monday 12:00 local): not in its week
    load(u2, utc(mon, "00:00"))
    assert chosen([z2, u2], target) == u2


def test_409_when_no_provider_offers_the_time():
    closed = {"monday": [{"start": "09:00", "end": "12:00"}]}
    a = make_provider("UTC", weeklySchedule=closed)
    b = make_provider("UTC", weeklySchedule=closed)
    tue = future_date("tuesday")
    check_error(team([a, b], utc(tue, "10:00")), 409, "CONFLICT")
    check_error(team([a, b], iso_z(utc(tue, "10:00")).replace(":00.000Z", ":30.000Z")), 409, "CONFLICT")
    mon = future_date("monday")
    st = utc(mon, "10:00")
    load(a, st)
    load(b, st)
    check_error(team([a, b], st), 409, "CONFLICT")
    c = make_provider("UTC")
    assert chosen([a, b, c], st) == c
    check_error(team([a, b, c], st), 409, "CONFLICT")
    for p in (a, b):
        assert int(sql_value("SELECT count(*) FROM appointments WHERE provider_id = %s" % q(p))) == 1


def test_a_live_hold_among_the_providers_is_honoured():
    a, b, c = (make_provider("UTC") for _ in range(3))
    st = utc(future_date("friday"), "10:00")
    load(a, utc(future_date("friday"), "12:00"))  # a would otherwise lose to b
    h = held(c, st, patient_id="pat-h")
    # without the hold, c's only seat is taken: b (0 sessions) gets it
    # with it, the hold's provider, c, gets it: whatever the loads, never 409
    j = expect(team([a, b, c], st, patient_id="pat-h", hold_id=h["holdId"]), 201)
    assert j["providerId"] == c, j
    assert list(hold_row(h["holdId"])[:2]) == ["t", j["appointmentId"]], hold_row(h["holdId"])
    # a hold whose provider is not among them, or of another patient: 422 at holdId
    h2 = held(a, utc(future_date("friday"), "14:00"), patient_id="pat-h")
    check_error(team([b, c], h2["startTime"], patient_id="pat-h", hold_id=h2["holdId"]), 422,
                "VALIDATION_ERROR", field="holdId")
    check_error(team([a, b], h2["startTime"], patient_id="other", hold_id=h2["holdId"]), 422,
                "VALIDATION_ERROR", field="holdId")
    j = expect(team([b, a], h2["startTime"], patient_id="pat-h", hold_id=h2["holdId"]), 201)
    assert j["providerId"] == a, j
    # a converted (or unknown) hold: booked as if no holdId were given
    j = expect(team([c, b], st, hold_id=h["holdId"]), 201)
    assert j["providerId"] == b, j
    j = expect(team([a, c], utc(future_date("friday"), "16:00"), hold_id=uuid4()), 201)
    assert j["providerId"] == c, j  # a has 2 sessions that week, c 1


def test_fairness_30_bookings_over_3_equally_free_providers_split_10_10_10():
    ps = [make_provider("UTC") for _ in range(3)]
    mon = future_date("monday", month=7)
    starts = [utc(mon + dt.timedelta(days=k // 6), "%02d:00" % (8 + 2 * (k % 6))) for k in range(30)]
    got = [chosen(ps, st) for st in starts]
    assert got == ps * 10, got  # the fewest each time; ties to the order given: round robin
    for p in ps:
        assert int(sql_value("SELECT count(*) FROM appointments WHERE provider_id = %s" % q(p))) == 10
