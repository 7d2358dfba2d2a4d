"""POST /api/providers/{id}/schedule and GET /api/providers/{id}, plus the
generic request rules (JSON, content type, size, methods, routes)."""

import json
import time

from lib import (SCHEDULE_OK, all_days, check_error, expect, future_date, get, interval,
                 make_provider, outbox, outbox_count, post, post_schedule, q, request,
                 schedule_body, sql_value, assert_utc_ms, uuid4, next_year)


def sched_path(pid):
    return "/api/providers/%s/schedule" % pid


def get_provider(pid):
    return expect(get("/api/providers/%s" % pid), 200)


def invalid(body, prefix=None, field=None, pid=None):
    r = post_schedule(pid or uuid4(), body)
    return check_error(r, 422, "VALIDATION_ERROR", field=field, prefix=prefix)


def accepted(body, pid=None):
    pid = pid or uuid4()
    r = post_schedule(pid, body)
    assert r.status == 200 and r.json == SCHEDULE_OK, "expected 200: %r (body %s)" % (r, body)
    return pid


# ------------------------------------------------------------------ upsert
def test_upsert_returns_exact_message():
    pid = uuid4()
    r = post_schedule(pid, schedule_body())
    assert r.status == 200, r
    assert r.json == {"message": "Provider schedule updated successfully."}, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    # and again (update of an existing provider)
    r = post_schedule(pid, schedule_body(appointmentDuration=45))
    assert r.status == 200 and r.json == SCHEDULE_OK, r


def test_get_provider_shape_with_defaults():
    pid = uuid4()
    body = {"timezone": "America/New_York", "appointmentDuration": 45,
            "weeklySchedule": {"monday": {"start": "09:00", "end": "17:00"},
                               "Tuesday": [{"start": "08:00", "end": "12:00"},
                                           {"start": "13:00", "end": "18:00"}]}}
    accepted(body, pid)
    j = get_provider(pid)
    assert j["providerId"] == pid, j
    assert j["timezone"] == "America/New_York", j
    assert j["appointmentDuration"] == 45, j
    assert j["weeklySchedule"] == {
        "monday": [{"start": "09:00", "end": "17:00"}],
        "tuesday": [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}],
    }, j["weeklySchedule"]
    for off in ("wednesday", "thursday", "friday", "saturday", "sunday"):
        assert off not in j["weeklySchedule"], j
    assert j["slotInterval"] == 45 and type(j["slotInterval"]) is int, j
    assert j["bufferBefore"] == 0 and j["bufferAfter"] == 0, j
    assert j["minimumNotice"] == 0, j
    assert "bookingHorizonDays" in j and j["bookingHorizonDays"] is None, j
    assert j["dateOverrides"] == {}, j
    assert_utc_ms(j["createdAt"], "createdAt")
    assert_utc_ms(j["updatedAt"], "updatedAt")
    assert j["updatedAt"] >= j["createdAt"], j


def test_get_provider_roundtrip_all_fields():
    y = next_year()
    body = {"timezone": "Europe/Berlin", "appointmentDuration": 30,
            "weeklySchedule": {"monday": [{"start": "09:00", "end": "17:00"}],
                               "sunday": [{"start": "00:00", "end": "24:00"}]},
            "slotInterval": 15, "bufferBefore": 5, "bufferAfter": 10, "minimumNotice": 120,
            "bookingHorizonDays": 400,
            "dateOverrides": {"%d-12-24" % y: [{"start": "09:00", "end": "12:00"}],
                              "%d-12-25" % y: []}}
    pid = accepted(body)
    j = get_provider(pid)
    for k in ("timezone", "appointmentDuration", "weeklySchedule", "slotInterval", "bufferBefore",
              "bufferAfter", "minimumNotice", "bookingHorizonDays", "dateOverrides"):
        assert j[k] == body[k], "%s: sent %r, got %r" % (k, body[k], j[k])


def test_replace_resets_omitted_fields():
    y = next_year()
    pid = accepted({"timezone": "Europe/Berlin", "appointmentDuration": 30,
                    "weeklySchedule": {"monday": {"start": "09:00", "end": "17:00"},
                                       "friday": {"start": "09:00", "end": "12:00"}},
                    "slotInterval": 10, "bufferBefore": 5, "bufferAfter": 10, "minimumNotice": 60,
                    "bookingHorizonDays": 30, "dateOverrides": {"%d-01-05" % y: []}})
    accepted({"timezone": "Asia/Tokyo", "appointmentDuration": 20,
              "weeklySchedule": {"wednesday": {"start": "10:00", "end": "11:00"}}}, pid)
    j = get_provider(pid)
    assert j["timezone"] == "Asia/Tokyo", j
    assert j["appointmentDuration"] == 20, j
    assert j["weeklySchedule"] == {"wednesday": [{"start": "10:00", "end": "11:00"}]}, j
    assert j["slotInterval"] == 20, j
    assert j["bufferBefore"] == 0 and j["bufferAfter"] == 0 and j["minimumNotice"] == 0, j
    assert j["bookingHorizonDays"] is None, j
    assert j["dateOverrides"] == {}, j


def test_upsert_writes_schedule_event():
    pid = make_provider()
    rows = outbox(aggregate_id=pid)
    assert len(rows) == 1, rows
    row = rows[0]
    assert row["event_type"] == "PROVIDER_SCHEDULE_UPDATED", row
    env = row["envelope"]
    assert isinstance(env, dict), row
    assert env.get("eventType") == "PROVIDER_SCHEDULE_UPDATED", env
    assert isinstance(env.get("eventId"), str) and env["eventId"].startswith("evt_"), env
    assert_utc_ms(env.get("timestamp"), "envelope timestamp")
    assert set(env) >= {"eventId", "eventType", "timestamp", "payload"}, env
    assert env.get("payload", {}).get("providerId") == pid, env
    # a real change writes one more
    r = post_schedule(pid, schedule_body(appointmentDuration=60))
    assert r.status == 200, r
    assert outbox_count(pid) == 2, outbox(aggregate_id=pid)


def test_identical_upsert_keeps_updated_at_and_writes_no_event():
    pid = uuid4()
    body = schedule_body(slotInterval=15, bufferAfter=5,
                         weeklySchedule={"monday": [interval("09:00", "12:00"), interval("13:00", "17:00")]})
    accepted(body, pid)
    before = get_provider(pid)
    n = outbox_count(pid)
    assert n == 1, n
    time.sleep(1.1)
    accepted(body, pid)
    after = get_provider(pid)
    assert after["updatedAt"] == before["updatedAt"], (before, after)
    assert after["createdAt"] == before["createdAt"], (before, after)
    assert outbox_count(pid) == n, "identical upsert wrote an event: %r" % outbox(aggregate_id=pid)
    # a real change moves updatedAt and writes an event
    body["bufferAfter"] = 10
    accepted(body, pid)
    changed = get_provider(pid)
    assert changed["updatedAt"] > before["updatedAt"], (before, changed)
    assert changed["createdAt"] == before["createdAt"], (before, changed)
    assert outbox_count(pid) == n + 1


def test_equivalent_upsert_spelling_is_no_change():
    """One interval as an object vs. an array of one, and upper-case day keys,
    are the same configuration."""
    pid = uuid4()
    accepted({"timezone": "UTC", "appointmentDuration": 30,
              "weeklySchedule": {"monday": {"start": "09:00", "end": "17:00"}}}, pid)
    before = get_provider(pid)
    n = outbox_count(pid)
    time.sleep(1.1)
    accepted({"timezone": "UTC", "appointmentDuration": 30,
              "weeklySchedule": {"MONDAY": [{"start": "09:00", "end": "17:00"}]}}, pid)
    after = get_provider(pid)
    assert after["updatedAt"] == before["updatedAt"], (before, after)
    assert outbox_count(pid) == n, outbox(aggregate_id=pid)


def test_schedule_change_visible_immediately():
    pid = make_provider(tz="UTC", weeklySchedule={"monday": interval("09:00", "10:00")})
    d = future_date("monday")
    for i in range(5):
        dur = [30, 20, 15, 60, 10][i]
        accepted(schedule_body("UTC", appointmentDuration=dur,
                               weeklySchedule={"monday": interval("09:00", "10:00")}), pid)
        j = expect(get("/api/providers/%s/availability?date=%s" % (pid, d)), 200)
        assert len(j["availableSlots"]) == 60 // dur, (dur, j)


# ------------------------------------------------------------------ validation
def test_timezone_rules():
    invalid({"appointmentDuration": 30, "weeklySchedule": all_days()}, field="timezone")
    for tz in ("EST", "CET", "EST5EDT", "+02:00", "Mars/Base", "", "europe/nowhere", "GMT+5"):
        invalid(schedule_body(tz), field="timezone")
    invalid(schedule_body(5), field="timezone")
    invalid(schedule_body(None), field="timezone")
    for tz in ("UTC", "Europe/Berlin", "Etc/GMT+5", "America/Argentina/Buenos_Aires",
               "Pacific/Kiritimati", "Asia/Kathmandu"):
        pid = accepted(schedule_body(tz))
        assert get_provider(pid)["timezone"] == tz


def test_appointment_duration_bounds():
    invalid({"timezone": "UTC", "weeklySchedule": all_days()}, field="appointmentDuration")
    for bad in (4, 1441, 0, -30, "30", 30.5, True, None, [30]):
        invalid(schedule_body("UTC", appointmentDuration=bad), field="appointmentDuration")
    for good in (5, 1440):
        pid = accepted(schedule_body("UTC", appointmentDuration=good))
        assert get_provider(pid)["appointmentDuration"] == good


def test_weekly_schedule_shape_rules():
    invalid({"timezone": "UTC", "appointmentDuration": 30}, field="weeklySchedule")
    invalid(schedule_body("UTC", weeklySchedule={}), prefix="weeklySchedule")
    invalid(schedule_body("UTC", weeklySchedule=[]), prefix="weeklySchedule")
    invalid(schedule_body("UTC", weeklySchedule="monday"), prefix="weeklySchedule")
    invalid(schedule_body("UTC", weeklySchedule={"funday": interval("09:00", "10:00")}),
            prefix="weeklySchedule")
    invalid(schedule_body("UTC", weeklySchedule={"monday": interval("09:00", "10:00"),
                                                 "mon": interval("09:00", "10:00")}),
            prefix="weeklySchedule")
    invalid(schedule_body("UTC", weeklySchedule={"monday": "09:00-17:00"}),
            prefix="weeklySchedule.monday")
    invalid(schedule_body("UTC", weeklySchedule={"monday": [{"start": "09:00"}]}),
            prefix="weeklySchedule.monday.0")


def test_day_keys_case_insensitive():
    pid = accepted(schedule_body("UTC", weeklySchedule={"MONDAY": interval("09:00", "10:00"),
                                                        "Friday": [interval("11:00", "12:00")]}))
    j = get_provider(pid)
    assert j["weeklySchedule"] == {"monday": [interval("09:00", "10:00")],
                                   "friday": [interval("11:00", "12:00")]}, j
    # and the slots really are on mondays
    d = future_date("monday")
    a = expect(get("/api/providers/%s/availability?date=%s" % (pid, d)), 200)
    assert a["availableSlots"] == ["09:00", "09:30"], a


def test_interval_time_rules():
    def wk(*ivs):
        return schedule_body("UTC", weeklySchedule={"monday": list(ivs)})

    invalid(wk(interval("10:00", "10:00")), prefix="weeklySchedule.monday.0")
    invalid(wk(interval("11:00", "10:00")), prefix="weeklySchedule.monday.0")
    invalid(wk(interval("09:00", "24:30")), prefix="weeklySchedule.monday.0")
    invalid(wk(interval("9:00", "10:00")), prefix="weeklySchedule.monday.0")
    invalid(wk(interval("09:00", "10:60")), prefix="weeklySchedule.monday.0")
    invalid(wk(interval("25:00", "26:00")), prefix="weeklySchedule.monday.0")
    invalid(wk(interval("24:00", "24:00")), prefix="weeklySchedule.monday.0")
    invalid(wk(interval("09:00:00", "10:00")), prefix="weeklySchedule.monday.0")
    invalid(wk({"start": 900, "end": "10:00"}), prefix="weeklySchedule.monday.0")
    # the exact offending field is named
    invalid(wk(interval("09:00", "24:30")), field="weeklySchedule.monday.0.end")
    invalid(wk(interval("9:00", "10:00")), field="weeklySchedule.monday.0.start")
    # second interval bad
    invalid(wk(interval("08:00", "09:00"), interval("10:00", "25:00")),
            field="weeklySchedule.monday.1.end")
    # the extremes are fine
    accepted(wk(interval("00:00", "24:00")))
    accepted(wk(interval("23:55", "24:00")))


def test_overlapping_intervals_rejected():
    body = schedule_body("UTC", weeklySchedule={"monday": interval("09:00", "10:00"),
                                                "tuesday": [interval("08:00", "12:00"),
                                                            interval("11:00", "13:00")]})
    err = invalid(body, prefix="weeklySchedule.tuesday.")
    assert any(k.startswith("weeklySchedule.tuesday.1") or k.startswith("weeklySchedule.tuesday.0")
               for k in err["details"]), err
    # contained interval
    invalid(schedule_body("UTC", weeklySchedule={"friday": [interval("08:00", "18:00"),
                                                            interval("09:00", "10:00")]}),
            prefix="weeklySchedule.friday.")
    # adjacent intervals do not overlap
    pid = accepted(schedule_body("UTC", weeklySchedule={"tuesday": [interval("08:00", "12:00"),
                                                                    interval("12:00", "13:00")]}))
    assert len(get_provider(pid)["weeklySchedule"]["tuesday"]) == 2


def test_optional_number_bounds():
    for field, bad, good in (
        ("slotInterval", [4, 1441, 0, "15", 15.5, True], [5, 1440]),
        ("bufferBefore", [-1, 1441, "5", 2.5, False], [0, 1440]),
        ("bufferAfter", [-1, 1441, "5", 2.5, False], [0, 1440]),
        ("minimumNotice", [-1, "10", 1.5, True], [0, 10080]),
        ("bookingHorizonDays", [0, -1, "30", 1.5, True], [1, 365, None]),
    ):
        for b in bad:
            invalid(schedule_body("UTC", **{field: b}), field=field)
        for g in good:
            pid = accepted(schedule_body("UTC", **{field: g}))
            assert get_provider(pid)[field] == g, (field, g)


def test_limits_field():
    """limits: null or {perDay, perWeek}, each 1..10000 or null; always shown with both keys."""
    pid = accepted(schedule_body("UTC"))
    assert get_provider(pid)["limits"] == {"perDay": None, "perWeek": None}
    for good, shown in ((None, (None, None)), ({}, (None, None)), ({"perDay": 1}, (1, None)),
                        ({"perWeek": 10000, "perDay": None}, (None, 10000)),
                        ({"perDay": 8, "perWeek": 30}, (8, 30))):
        pid = accepted(schedule_body("UTC", limits=good))
        assert get_provider(pid)["limits"] == {"perDay": shown[0], "perWeek": shown[1]}, good
    for bad in ([], 3, "x", True):
        invalid(schedule_body("UTC", limits=bad), field="limits")
    for key in ("perDay", "perWeek"):
        for b in (0, -1, 10001, 2.5, "3", True, [], {}):
            invalid(schedule_body("UTC", limits={key: b}), field="limits." + key)
    invalid(schedule_body("UTC", limits={"perday": 3}), field="limits.perday")


def test_no_limits_stored_as_before():
    """A configuration without limits is stored exactly as before limits existed,
    so an unchanged older schedule re-posted is still no change; setting them is one."""
    pid = accepted(schedule_body("UTC", limits={"perDay": None, "perWeek": None}))
    assert sql_value("SELECT config ? 'limits' FROM providers WHERE id = %s" % q(pid)) == "f"
    before = get_provider(pid)
    n = outbox_count(pid)
    time.sleep(1.1)
    accepted(schedule_body("UTC"), pid)
    accepted(schedule_body("UTC", limits=None), pid)
    assert get_provider(pid)["updatedAt"] == before["updatedAt"]
    assert outbox_count(pid) == n, outbox(aggregate_id=pid)
    accepted(schedule_body("UTC", limits={"perWeek": 5}), pid)
    assert outbox_count(pid) == n + 1
    assert sql_value("SELECT config->'limits'->>'perWeek' FROM providers WHERE id = %s" % q(pid)) == "5"
    accepted(schedule_body("UTC", limits={"perWeek": 5}), pid)
    assert outbox_count(pid) == n + 1


def test_date_overrides_rules():
    y = next_year()
    for bad_date in ("%d-02-30" % y, "%d-13-01" % y, "%d-1-05" % y, "tomorrow", "%d-04-31" % y):
        invalid(schedule_body("UTC", dateOverrides={bad_date: []}), prefix="dateOverrides")
    invalid(schedule_body("UTC", dateOverrides=[]), prefix="dateOverrides")
    invalid(schedule_body("UTC", dateOverrides={"%d-03-01" % y: interval("09:00", "08:00")}),
            prefix="dateOverrides")
    invalid(schedule_body("UTC", dateOverrides={"%d-03-01" % y: [interval("09:00", "08:00")]}),
            prefix="dateOverrides.%d-03-01" % y)
    invalid(schedule_body("UTC", dateOverrides={"%d-03-01" % y: [interval("09:00", "12:00"),
                                                                  interval("11:00", "13:00")]}),
            prefix="dateOverrides.%d-03-01" % y)
    invalid(schedule_body("UTC", dateOverrides={"%d-03-01" % y: "closed"}),
            prefix="dateOverrides.%d-03-01" % y)
    # leap day exists in a leap year
    leap = next(yy for yy in range(y, y + 8) if yy % 4 == 0 and (yy % 100 or yy % 400 == 0))
    pid = accepted(schedule_body("UTC", dateOverrides={"%d-02-29" % leap: []}))
    assert get_provider(pid)["dateOverrides"] == {"%d-02-29" % leap: []}


def test_validation_reports_every_field():
    r = post_schedule(uuid4(), {"timezone": "EST", "appointmentDuration": 4,
                                "weeklySchedule": {"monday": [interval("9:00", "10:00")]}})
    err = check_error(r, 422, "VALIDATION_ERROR", field="timezone")
    assert "appointmentDuration" in err["details"], err
    assert any(k.startswith("weeklySchedule.monday.0") for k in err["details"]), err


def test_body_not_an_object_is_422():
    for raw in ("[]", "42", '"x"', "null"):
        r = request("POST", sched_path(uuid4()), raw=raw, headers={"Content-Type": "application/json"})
        check_error(r, 422, "VALIDATION_ERROR")


# ------------------------------------------------------------------ request rules
def test_non_uuid_provider_id_is_404():
    for bad in ("123", "not-a-uuid", "0000000-0000-0000-0000-000000000000",
                "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"):
        check_error(post_schedule(bad, schedule_body()), 404, "NOT_FOUND")
        check_error(get("/api/providers/%s" % bad), 404, "NOT_FOUND")
        check_error(get("/api/providers/%s/availability?date=%s" % (bad, future_date())), 404,
                    "NOT_FOUND")


def test_unknown_provider_is_404():
    check_error(get("/api/providers/%s" % uuid4()), 404, "NOT_FOUND")


def test_upper_case_uuid_is_same_provider():
    pid = make_provider()
    r = get("/api/providers/%s" % pid.upper())
    assert r.status == 200 and r.json["providerId"] == pid, r


def test_malformed_json_is_400():
    for raw in ('{"timezone": "UTC",', "{bad json}", "", '{"timezone": "UTC"} trailing',
                "{'timezone': 'UTC'}"):
        r = request("POST", sched_path(uuid4()), raw=raw, headers={"Content-Type": "application/json"})
        check_error(r, 400, "BAD_REQUEST")


def test_invalid_utf8_is_400():
    raw = b'{"timezone": "Europe/Berlin\xff", "appointmentDuration": 30, "weeklySchedule": {"monday": {"start": "09:00", "end": "10:00"}}}'
    r = request("POST", sched_path(uuid4()), raw=raw, headers={"Content-Type": "application/json"})
    check_error(r, 400, "BAD_REQUEST")


def test_content_type_rules():
    raw = json.dumps(schedule_body())
    r = request("POST", sched_path(uuid4()), raw=raw)
    check_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    for ct in ("text/plain", "application/x-www-form-urlencoded", "application/jsonx"):
        r = request("POST", sched_path(uuid4()), raw=raw, headers={"Content-Type": ct})
        check_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    for ct in ("application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8"):
        r = request("POST", sched_path(uuid4()), raw=raw, headers={"Content-Type": ct})
        assert r.status == 200 and r.json == SCHEDULE_OK, (ct, r)


def test_body_over_64k_is_413():
    big = json.dumps({"timezone": "UTC", "appointmentDuration": 30, "weeklySchedule": all_days(),
                      "padding": "x" * (70 * 1024)})
    r = request("POST", sched_path(uuid4()), raw=big, headers={"Content-Type": "application/json"})
    check_error(r, 413, "PAYLOAD_TOO_LARGE")
    r = request("POST", "/api/appointments", raw="[" + "1," * (40 * 1024) + "1]",
                headers={"Content-Type": "application/json"})
    check_error(r, 413, "PAYLOAD_TOO_LARGE")


def test_wrong_method_is_405_with_allow():
    pid = make_provider()
    for method, path, must in (("GET", sched_path(pid), "POST"),
                               ("DELETE", sched_path(pid), "POST"),
                               ("POST", "/api/providers/%s" % pid, "GET"),
                               ("DELETE", "/api/providers/%s/availability" % pid, "GET")):
        r = request(method, path)
        check_error(r, 405, "METHOD_NOT_ALLOWED")
        allow = r.headers.get("allow")
        assert allow, "no Allow header: %r %r" % (r, r.headers)
        assert must in [a.strip().upper() for a in allow.split(",")], (method, path, allow)


def test_unknown_route_is_404_json():
    for path in ("/api/nope", "/nope", "/api/providers", "/api/providers/%s/nope" % uuid4(),
                 "/api/appointments/%s/extra" % uuid4()):
        check_error(get(path), 404, "NOT_FOUND")
    check_error(post("/api/nope", {"a": 1}), 404, "NOT_FOUND")


def test_body_size_boundary_64k():
    body = json.dumps(schedule_body("UTC"))
    exact = body[:-1] + " " * (65536 - len(body)) + "}"
    assert len(exact.encode()) == 65536
    r = request("POST", sched_path(uuid4()), raw=exact, headers={"Content-Type": "application/json"})
    assert r.status == 200 and r.json == SCHEDULE_OK, r
    over = body[:-1] + " " * (65537 - len(body)) + "}"
    r = request("POST", sched_path(uuid4()), raw=over, headers={"Content-Type": "application/json"})
    check_error(r, 413, "PAYLOAD_TOO_LARGE")


def test_chunked_request_body():
    from lib import connection, auth_headers
    body = json.dumps(schedule_body("UTC")).encode()
    pid = uuid4()
    c = connection(10)
    try:
        hdrs = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        hdrs.update(auth_headers())
        c.request("POST", sched_path(pid), body=iter([body[:20], body[20:]]), headers=hdrs,
                  encode_chunked=True)
        r = c.getresponse()
        data = r.read()
        assert r.status == 200 and json.loads(data) == SCHEDULE_OK, (r.status, data)
    finally:
        c.close()
    assert get_provider(pid)["timezone"] == "UTC"
    # a chunked body over 64 KiB is refused too
    big = json.dumps(schedule_body("UTC", padding="x" * 70000)).encode()
    c = connection(10)
    try:
        hdrs = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
        hdrs.update(auth_headers())
        c.request("POST", sched_path(uuid4()), body=iter([big[i:i + 8192] for i in range(0, len(big), 8192)]),
                  headers=hdrs, encode_chunked=True)
        r = c.getresponse()
        data = r.read()
        assert r.status == 413, (r.status, data)
        assert json.loads(data)["error"]["code"] == "PAYLOAD_TOO_LARGE", data
    finally:
        c.close()


def test_nul_inside_strings_rejected():
    """A JSON string with an escaped NUL is not its prefix: "UTC\\u0000x" is no zone."""
    def wk(**kw):
        b = {"timezone": "Europe/Berlin", "appointmentDuration": 30,
             "weeklySchedule": {"monday": {"start": "09:00", "end": "10:00"}}}
        b.update(kw)
        return b
    invalid(wk(timezone="UTC\u0000x"), field="timezone")
    invalid(wk(timezone="Europe/Berlin\u0000"), field="timezone")
    invalid(wk(weeklySchedule={"monday\u0000x": {"start": "09:00", "end": "10:00"}}), prefix="weeklySchedule")
    invalid(wk(weeklySchedule={"monday": {"start": "09:00\u0000junk", "end": "10:00"}}),
            prefix="weeklySchedule.monday")
    invalid(wk(dateOverrides={"%d-03-01\u0000x" % next_year(): []}), prefix="dateOverrides")
