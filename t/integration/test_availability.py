"""GET /api/providers/{id}/availability: shapes, DST, weekdays, rules."""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

from lib import (all_days, availability, book, book_ok, cancel, check_error, dst_days, expect,
                 expected_slots, future_date, hhmm, interval, iso_z, local_dt, local_today,
                 make_provider, minutes, next_year, now_utc, parse_instant, assert_utc_ms,
                 post_schedule, reschedule, schedule_body, sql, uuid4)


def single(pid, d):
    return expect(availability(pid, date=str(d)), 200)


def check_single_shape(j, pid, d, tz):
    assert set(j) == {"providerId", "date", "availableSlots", "timezone", "slots"}, j
    assert j["providerId"] == pid and j["date"] == str(d) and j["timezone"] == tz, j
    assert isinstance(j["availableSlots"], list) and isinstance(j["slots"], list), j
    assert len(j["availableSlots"]) == len(j["slots"]), j
    prev = None
    for label, s in zip(j["availableSlots"], j["slots"]):
        assert set(s) == {"startTime", "endTime", "seatsLeft"}, s
        assert s["seatsLeft"] == 1, s  # every slot of the capacity-1 default
        assert_utc_ms(s["startTime"], "slots.startTime")
        assert_utc_ms(s["endTime"], "slots.endTime")
        st = parse_instant(s["startTime"])
        assert hhmm(st, tz) == label, (label, s)
        assert st.astimezone(ZoneInfo(tz)).date() == d, ("slot not on its local date", d, s)
        if prev is not None:
            assert st > prev, "slots not strictly increasing: %r" % j["slots"]
        prev = st


def test_single_date_shape():
    tz = "Europe/Berlin"
    pid = make_provider(tz, weeklySchedule={"monday": {"start": "09:00", "end": "11:00"}})
    d = future_date("monday")
    j = single(pid, d)
    check_single_shape(j, pid, d, tz)
    assert j["availableSlots"] == ["09:00", "09:30", "10:00", "10:30"], j
    exp = expected_slots(tz, d, [interval("09:00", "11:00")], 30)
    assert [s["startTime"] for s in j["slots"]] == [iso_z(x) for x in exp], j
    assert [s["endTime"] for s in j["slots"]] == [iso_z(x + minutes(30)) for x in exp], j
    # a day off: empty lists, same shape
    j = single(pid, d + dt.timedelta(days=1))
    check_single_shape(j, pid, d + dt.timedelta(days=1), tz)
    assert j["availableSlots"] == [] and j["slots"] == [], j


def test_range_shape_omits_empty_dates():
    tz = "Europe/Berlin"
    pid = make_provider(tz, weeklySchedule={"monday": {"start": "09:00", "end": "10:00"},
                                            "wednesday": [{"start": "14:00", "end": "15:00"}]})
    mon = future_date("monday")
    r = availability(pid, startDate=str(mon), endDate=str(mon + dt.timedelta(days=13)))
    j = expect(r, 200)
    wed = mon + dt.timedelta(days=2)
    exp = {str(mon): ["09:00", "09:30"], str(wed): ["14:00", "14:30"],
           str(mon + dt.timedelta(days=7)): ["09:00", "09:30"],
           str(wed + dt.timedelta(days=7)): ["14:00", "14:30"]}
    assert j == exp, j
    assert list(j) == sorted(j), "dates not in order: %r" % list(j)
    # single-day range
    j = expect(availability(pid, startDate=str(mon), endDate=str(mon)), 200)
    assert j == {str(mon): ["09:00", "09:30"]}, j
    # range without any slot
    tue = mon + dt.timedelta(days=1)
    j = expect(availability(pid, startDate=str(tue), endDate=str(tue)), 200)
    assert j == {}, j


def test_spring_forward_new_york():
    tz = "America/New_York"
    spring, _ = dst_days(tz)
    pid = make_provider(tz, weeklySchedule={d: {"start": "01:00", "end": "05:00"} for d in
                                            ("monday", "tuesday", "wednesday", "thursday", "friday",
                                             "saturday", "sunday")})
    j = single(pid, spring)
    check_single_shape(j, pid, spring, tz)
    assert j["availableSlots"] == ["01:00", "01:30", "03:00", "03:30", "04:00", "04:30"], j
    exp = expected_slots(tz, spring, [interval("01:00", "05:00")], 30)
    assert [s["startTime"] for s in j["slots"]] == [iso_z(x) for x in exp], j
    # 01:00 EST is 06:00Z; the six slots are contiguous in elapsed time
    assert j["slots"][0]["startTime"] == "%sT06:00:00.000Z" % spring, j
    assert j["slots"][-1]["endTime"] == "%sT09:00:00.000Z" % spring, j
    # range view agrees
    r = expect(availability(pid, startDate=str(spring), endDate=str(spring)), 200)
    assert r == {str(spring): j["availableSlots"]}, r


def test_fall_back_new_york():
    tz = "America/New_York"
    _, fall = dst_days(tz)
    pid = make_provider(tz, weeklySchedule={d: {"start": "01:00", "end": "05:00"} for d in
                                            ("monday", "tuesday", "wednesday", "thursday", "friday",
                                             "saturday", "sunday")})
    j = single(pid, fall)
    check_single_shape(j, pid, fall, tz)
    assert j["availableSlots"] == ["01:00", "01:30", "01:00", "01:30", "02:00", "02:30", "03:00",
                                   "03:30", "04:00", "04:30"], j
    starts = [s["startTime"] for s in j["slots"]]
    assert len(set(starts)) == 10, starts
    assert starts == sorted(starts), starts
    assert starts[0] == "%sT05:00:00.000Z" % fall, starts  # 01:00 EDT
    assert starts[2] == "%sT06:00:00.000Z" % fall, starts  # 01:00 EST
    exp = expected_slots(tz, fall, [interval("01:00", "05:00")], 30)
    assert starts == [iso_z(x) for x in exp], j
    # the second 01:00 is bookable and distinct from the first
    a = book_ok(pid, starts[0])
    b = book_ok(pid, starts[2])
    assert a["startTime"] != b["startTime"], (a, b)
    j2 = single(pid, fall)
    assert len(j2["slots"]) == 8, j2


def test_gap_start_time_uses_offset_before_gap():
    """Berlin spring-forward: 02:30 does not exist and reads as 02:30 CET = 03:30 CEST."""
    tz = "Europe/Berlin"
    spring, _ = dst_days(tz)
    wd = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"][spring.weekday()]
    pid = make_provider(tz, weeklySchedule={wd: {"start": "02:30", "end": "05:00"}})
    j = single(pid, spring)
    exp = expected_slots(tz, spring, [interval("02:30", "05:00")], 30)
    assert [s["startTime"] for s in j["slots"]] == [iso_z(x) for x in exp], j
    assert j["slots"][0]["startTime"] == "%sT01:30:00.000Z" % spring, j
    assert j["availableSlots"] == ["03:30", "04:00", "04:30"], j


def test_weekday_far_east_kiritimati():
    tz = "Pacific/Kiritimati"  # UTC+14
    pid = make_provider(tz, appointmentDuration=60,
                        weeklySchedule={"monday": [{"start": "00:00", "end": "01:00"},
                                                   {"start": "09:00", "end": "10:00"}]})
    mon = future_date("monday")
    j = single(pid, mon)
    check_single_shape(j, pid, mon, tz)
    assert j["availableSlots"] == ["00:00", "09:00"], j
    sun = mon - dt.timedelta(days=1)
    assert [s["startTime"] for s in j["slots"]] == ["%sT10:00:00.000Z" % sun, "%sT19:00:00.000Z" % sun], j
    for other in (sun, mon + dt.timedelta(days=1)):
        j = single(pid, other)
        assert j["availableSlots"] == [] and j["slots"] == [], (other, j)
    r = expect(availability(pid, startDate=str(sun - dt.timedelta(days=1)),
                            endDate=str(mon + dt.timedelta(days=2))), 200)
    assert r == {str(mon): ["00:00", "09:00"]}, r
    book_ok(pid, "%sT19:00:00.000Z" % sun)


def test_weekday_far_west_pago_pago():
    tz = "Pacific/Pago_Pago"  # UTC-11
    pid = make_provider(tz, appointmentDuration=60,
                        weeklySchedule={"monday": [{"start": "09:00", "end": "10:00"},
                                                   {"start": "23:00", "end": "24:00"}]})
    mon = future_date("monday")
    j = single(pid, mon)
    check_single_shape(j, pid, mon, tz)
    assert j["availableSlots"] == ["09:00", "23:00"], j
    tue = mon + dt.timedelta(days=1)
    assert [s["startTime"] for s in j["slots"]] == ["%sT20:00:00.000Z" % mon, "%sT10:00:00.000Z" % tue], j
    for other in (mon - dt.timedelta(days=1), tue):
        j = single(pid, other)
        assert j["availableSlots"] == [] and j["slots"] == [], (other, j)
    book_ok(pid, "%sT10:00:00.000Z" % tue)


def test_slot_interval():
    pid = make_provider("UTC", appointmentDuration=60, slotInterval=15,
                        weeklySchedule={"thursday": {"start": "09:00", "end": "11:00"}})
    d = future_date("thursday")
    j = single(pid, d)
    assert j["availableSlots"] == ["09:00", "09:15", "09:30", "09:45", "10:00"], j
    assert j["slots"][1] == {"startTime": "%sT09:15:00.000Z" % d, "endTime": "%sT10:15:00.000Z" % d,
                             "seatsLeft": 1}, j
    # booking 09:30 removes every overlapping candidate
    book_ok(pid, "%sT09:30:00.000Z" % d)
    j = single(pid, d)
    assert j["availableSlots"] == [], j
    # slotInterval larger than the duration
    pid2 = make_provider("UTC", appointmentDuration=20, slotInterval=45,
                         weeklySchedule={"thursday": {"start": "09:00", "end": "11:00"}})
    assert single(pid2, d)["availableSlots"] == ["09:00", "09:45", "10:30"]


def test_buffer_after_blocks_following_slot():
    pid = make_provider("UTC", bufferAfter=30,
                        weeklySchedule={"friday": {"start": "09:00", "end": "12:00"}})
    d = future_date("friday")
    assert single(pid, d)["availableSlots"] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
    book_ok(pid, "%sT09:00:00.000Z" % d)
    j = single(pid, d)
    assert j["availableSlots"] == ["10:00", "10:30", "11:00", "11:30"], j
    check_error(book(pid, "%sT09:30:00.000Z" % d), 409, "CONFLICT")
    book_ok(pid, "%sT10:00:00.000Z" % d)
    assert single(pid, d)["availableSlots"] == ["11:00", "11:30"]


def test_buffer_before_blocks_preceding_slot():
    pid = make_provider("UTC", bufferBefore=15,
                        weeklySchedule={"friday": {"start": "09:00", "end": "12:00"}})
    d = future_date("friday")
    book_ok(pid, "%sT11:00:00.000Z" % d)
    j = single(pid, d)
    # 10:30 would end at 11:00 with no gap of 15 before the booking
    assert j["availableSlots"] == ["09:00", "09:30", "10:00"], j
    check_error(book(pid, "%sT10:30:00.000Z" % d), 409, "CONFLICT")
    # cancelling frees the slot and the buffer at once
    pid2 = make_provider("UTC", bufferBefore=15, bufferAfter=15,
                         weeklySchedule={"friday": {"start": "09:00", "end": "12:00"}})
    a = book_ok(pid2, "%sT10:00:00.000Z" % d)
    assert single(pid2, d)["availableSlots"] == ["09:00", "11:00", "11:30"]
    expect(cancel(a["appointmentId"]), 200)
    assert single(pid2, d)["availableSlots"] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]


def test_buffers_may_reach_outside_hours():
    pid = make_provider("UTC", bufferBefore=30, bufferAfter=30,
                        weeklySchedule={"friday": {"start": "09:00", "end": "10:00"}})
    d = future_date("friday")
    assert single(pid, d)["availableSlots"] == ["09:00", "09:30"]


def test_minimum_notice():
    pid = make_provider("UTC", minimumNotice=180)
    t0 = now_utc()
    today = t0.date()
    r = expect(availability(pid, startDate=str(today), endDate=str(today + dt.timedelta(days=1))), 200)
    t1 = now_utc()
    starts = []
    for d, labels in r.items():
        j = single(pid, d)
        starts += [parse_instant(s["startTime"]) for s in j["slots"]]
    assert starts, r
    first = min(starts)
    assert first >= t0 + minutes(180), (first, t0)
    assert first <= t1 + minutes(180 + 30 + 1), "notice over-applied: first %s at %s" % (first, t0)
    # the candidate just before the first offered one is inside the notice
    check_error(book(pid, first - minutes(30)), 409, "CONFLICT")
    book_ok(pid, first)


def test_booking_horizon():
    pid = make_provider("UTC", bookingHorizonDays=2)
    t0 = now_utc()
    today = t0.date()
    r = expect(availability(pid, startDate=str(today), endDate=str(today + dt.timedelta(days=6))), 200)
    t1 = now_utc()
    assert set(r) <= {str(today + dt.timedelta(days=i)) for i in range(3)}, list(r)
    assert str(today + dt.timedelta(days=1)) in r, list(r)
    last_day = max(r)
    j = single(pid, last_day)
    last = parse_instant(j["slots"][-1]["startTime"])
    assert last <= t1 + dt.timedelta(days=2), (last, t1)
    assert last >= t0 + dt.timedelta(days=2) - minutes(31), (last, t0)
    far = future_date()
    assert single(pid, far)["availableSlots"] == []
    check_error(book(pid, "%sT10:00:00.000Z" % far), 409, "CONFLICT")
    check_error(book(pid, last + minutes(30)), 409, "CONFLICT")
    book_ok(pid, last)


def test_no_past_slots_today():
    for tz in ("Europe/Berlin", "Pacific/Kiritimati", "Pacific/Pago_Pago"):
        pid = make_provider(tz)
        today = local_today(tz)
        t0 = now_utc()
        j = single(pid, today)
        for s in j["slots"]:
            assert parse_instant(s["startTime"]) >= t0 - dt.timedelta(seconds=1), (tz, s, t0)
        # the list is not over-trimmed: the next half hour's slot is there (unless the day ends)
        if j["slots"]:
            assert parse_instant(j["slots"][0]["startTime"]) <= t0 + minutes(31), (tz, j["slots"][0], t0)
        y = single(pid, today - dt.timedelta(days=1))
        assert y["availableSlots"] == [] and y["slots"] == [], (tz, y)


def test_date_overrides():
    tz = "Europe/Berlin"
    mon = future_date("monday")
    mon2 = mon + dt.timedelta(days=7)
    tue = mon + dt.timedelta(days=1)
    pid = make_provider(tz, weeklySchedule={"monday": {"start": "09:00", "end": "11:00"}},
                        dateOverrides={str(mon): [], str(mon2): [{"start": "13:00", "end": "14:00"}],
                                       str(tue): [{"start": "10:00", "end": "11:00"},
                                                  {"start": "15:00", "end": "15:30"}]})
    assert single(pid, mon)["availableSlots"] == []
    assert single(pid, mon2)["availableSlots"] == ["13:00", "13:30"]
    assert single(pid, tue)["availableSlots"] == ["10:00", "10:30", "15:00"]
    assert single(pid, mon + dt.timedelta(days=14))["availableSlots"] == ["09:00", "09:30", "10:00", "10:30"]
    r = expect(availability(pid, startDate=str(mon), endDate=str(mon + dt.timedelta(days=14))), 200)
    assert r == {str(tue): ["10:00", "10:30", "15:00"], str(mon2): ["13:00", "13:30"],
                 str(mon + dt.timedelta(days=14)): ["09:00", "09:30", "10:00", "10:30"]}, r
    check_error(book(pid, local_dt(tz, mon, "09:00")), 409, "CONFLICT")
    check_error(book(pid, local_dt(tz, mon2, "09:00")), 409, "CONFLICT")
    book_ok(pid, local_dt(tz, tue, "15:00"))


def test_range_rules():
    pid = make_provider("UTC")
    s = future_date()
    j = expect(availability(pid, startDate=str(s), endDate=str(s + dt.timedelta(days=61))), 200)
    assert len(j) == 62 and all(len(v) == 48 for v in j.values()), (len(j), list(j)[:3])
    check_error(availability(pid, startDate=str(s), endDate=str(s + dt.timedelta(days=62))), 422,
                "VALIDATION_ERROR")
    check_error(availability(pid, startDate=str(s), endDate=str(s - dt.timedelta(days=1))), 422,
                "VALIDATION_ERROR")
    check_error(availability(pid, date=str(s), startDate=str(s), endDate=str(s)), 422,
                "VALIDATION_ERROR")
    check_error(availability(pid, date=str(s), startDate=str(s)), 422, "VALIDATION_ERROR")
    check_error(availability(pid, startDate=str(s)), 422, "VALIDATION_ERROR")
    check_error(availability(pid, endDate=str(s)), 422, "VALIDATION_ERROR")
    check_error(availability(pid), 422, "VALIDATION_ERROR")
    y = next_year()
    leap = next(yy for yy in range(y + 1, y + 9) if yy % 4 == 0 and (yy % 100 or yy % 400 == 0))
    for bad in ("%d-02-30" % leap, "%d-02-29" % (leap + 1), "%d-13-01" % y, "%d-00-10" % y,
                "%d-4-01" % y, "tomorrow", "", "%d-04-31" % y, "%d-01-01T00:00:00Z" % y):
        check_error(availability(pid, date=bad), 422, "VALIDATION_ERROR")
        check_error(availability(pid, startDate=bad, endDate=str(s)), 422, "VALIDATION_ERROR")
        check_error(availability(pid, startDate=str(s), endDate=bad), 422, "VALIDATION_ERROR")
    assert len(single(pid, "%d-02-29" % leap)["availableSlots"]) == 48


def test_unknown_provider_404():
    check_error(availability(uuid4(), date=str(future_date())), 404, "NOT_FOUND")
    s = future_date()
    check_error(availability(uuid4(), startDate=str(s), endDate=str(s)), 404, "NOT_FOUND")


def test_whole_day_on_dst_days():
    """00:00-24:00 is 23 h on a spring-forward day and 25 h on a fall-back day."""
    tz = "America/New_York"
    spring, fall = dst_days(tz)
    pid = make_provider(tz)
    j = single(pid, spring)
    assert len(j["slots"]) == 46, len(j["slots"])
    assert "02:00" not in j["availableSlots"] and "02:30" not in j["availableSlots"], j["availableSlots"]
    exp = expected_slots(tz, spring, [interval("00:00", "24:00")], 30)
    assert [s["startTime"] for s in j["slots"]] == [iso_z(x) for x in exp]
    j = single(pid, fall)
    assert len(j["slots"]) == 50, len(j["slots"])
    assert j["availableSlots"].count("01:00") == 2 and j["availableSlots"].count("01:30") == 2, j
    assert j["slots"][-1]["endTime"] == iso_z(local_dt(tz, fall + dt.timedelta(days=1), "00:00")), j
    # the day after starts at its own local midnight, nothing is shared
    nxt = single(pid, fall + dt.timedelta(days=1))
    assert nxt["slots"][0]["startTime"] == j["slots"][-1]["endTime"], (nxt["slots"][0], j["slots"][-1])


def test_interval_ending_in_gap():
    tz = "America/New_York"
    spring, _ = dst_days(tz)
    wd = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"][spring.weekday()]
    pid = make_provider(tz, weeklySchedule={wd: {"start": "00:00", "end": "02:30"}})
    j = single(pid, spring)
    # 02:30 does not exist: read as 02:30 EST = 07:30Z = 03:30 EDT
    assert j["availableSlots"] == ["00:00", "00:30", "01:00", "01:30", "03:00"], j
    assert j["slots"][-1]["endTime"] == "%sT07:30:00.000Z" % spring, j


def test_book_second_occurrence_on_fall_back():
    tz = "America/New_York"
    _, fall = dst_days(tz)
    pid = make_provider(tz, weeklySchedule={d: {"start": "01:00", "end": "02:00"} for d in
                                            ("monday", "tuesday", "wednesday", "thursday", "friday",
                                             "saturday", "sunday")})
    # 01:00-02:00 is first occurrence 01:00 EDT to 02:00 EST: two hours, four slots
    j = single(pid, fall)
    assert j["availableSlots"] == ["01:00", "01:30", "01:00", "01:30"], j
    second = book_ok(pid, "%sT01:00:00-05:00" % fall)
    assert second["startTime"] == "%sT06:00:00.000Z" % fall, second
    first = book_ok(pid, "%sT01:00:00-04:00" % fall)
    assert first["startTime"] == "%sT05:00:00.000Z" % fall, first
    assert single(pid, fall)["availableSlots"] == ["01:30", "01:30"]


def test_reschedule_own_buffer_counts_free():
    pid = make_provider("UTC", bufferAfter=30, bufferBefore=30,
                        weeklySchedule={"friday": {"start": "09:00", "end": "12:00"}})
    d = future_date("friday")
    a = book_ok(pid, "%sT10:00:00.000Z" % d)
    # moving by 30 minutes overlaps its own old time and buffers: still fine
    r = expect(reschedule(a["appointmentId"], "%sT10:30:00.000Z" % d), 200)
    assert r["startTime"] == "%sT10:30:00.000Z" % d, r
    # a gap of Bb + Ba = 60 minutes around 10:30-11:00
    assert single(pid, d)["availableSlots"] == ["09:00"], single(pid, d)


def test_booking_horizon_is_elapsed_time_across_dst():
    """now + bookingHorizonDays x 24 h in elapsed time, even when a DST change lies between."""
    tz = "America/New_York"
    t0 = now_utc()
    spring, fall = dst_days(tz, t0.year)
    if t0.date() >= fall:
        spring, fall = dst_days(tz, t0.year + 1)
    nxt = spring if t0.date() < spring else fall
    days = (nxt - t0.date()).days + 10
    pid = make_provider(tz, bookingHorizonDays=days)
    limit_day = (t0 + dt.timedelta(days=days)).astimezone(ZoneInfo(tz)).date()
    j = single(pid, limit_day)
    t1 = now_utc()
    assert j["slots"], j
    last = parse_instant(j["slots"][-1]["startTime"])
    assert last <= t1 + dt.timedelta(days=days), (last, t1)
    assert last >= t0 + dt.timedelta(days=days) - minutes(31), "horizon not elapsed time: last %s, now %s" % (last, t0)


def test_existing_appointment_keeps_its_length_after_duration_change():
    pid = make_provider("UTC", appointmentDuration=60,
                        weeklySchedule={"friday": {"start": "09:00", "end": "12:00"}})
    d = future_date("friday")
    book_ok(pid, "%sT10:00:00.000Z" % d)
    make_provider("UTC", provider_id=pid, appointmentDuration=30,
                  weeklySchedule={"friday": {"start": "09:00", "end": "12:00"}})
    assert single(pid, d)["availableSlots"] == ["09:00", "09:30", "11:00", "11:30"]
    check_error(book(pid, "%sT10:30:00.000Z" % d), 409, "CONFLICT")


def test_changes_seen_by_every_worker():
    """Workers keep providers' decoded configurations and appointments, keyed
    by the provider row's version: a change of either, through the API or
    straight in the database, shows in the next read whichever worker
    serves it."""
    tz = "UTC"
    mon = future_date("monday")
    hours = {"monday": [interval("09:00", "10:00")]}
    pid = make_provider(tz, weeklySchedule=hours)

    def seen():
        with ThreadPoolExecutor(8) as ex:
            return set(ex.map(lambda _: tuple(single(pid, mon)["availableSlots"]), range(64)))

    assert seen() == {("09:00", "09:30")}
    r = post_schedule(pid, schedule_body(tz, weeklySchedule={"monday": [interval("14:00", "15:00")]}))
    assert r.status == 200, r
    assert seen() == {("14:00", "14:30")}
    sql("UPDATE providers SET config = jsonb_set(config, '{dateOverrides}', '{\"%s\": []}')"
        " WHERE id = '%s'" % (mon, pid))
    assert seen() == {()}
    assert post_schedule(pid, schedule_body(tz, weeklySchedule=hours)).status == 200
    assert seen() == {("09:00", "09:30")}
    aid = book_ok(pid, local_dt(tz, mon, "09:00"))["appointmentId"]
    assert seen() == {("09:30",)}
    expect(cancel(aid), 200)
    assert seen() == {("09:00", "09:30")}
    other = uuid4()
    sql("INSERT INTO appointments (id, provider_id, patient_id, start_at, end_at, status, version,"
        " created_at, updated_at) VALUES ('%s', '%s', 'p-psql', '%s 09:30Z', '%s 10:00Z', 'CONFIRMED',"
        " 1, now(), now())" % (other, pid, mon, mon))
    assert seen() == {("09:00",)}
    sql("DELETE FROM appointments WHERE id = '%s'" % other)
    assert seen() == {("09:00", "09:30")}


def test_provider_limits_close_days_and_weeks():
    """limits.perDay / perWeek: no new session past them, counted in the provider's
    local day and ISO week (Monday..Sunday); cancelling reopens."""
    tz = "America/New_York"
    pid = make_provider(tz, appointmentDuration=60, limits={"perDay": 1},
                        weeklySchedule=all_days("09:00", "12:00"))
    d = future_date(weekday=2)  # a Wednesday
    a = book_ok(pid, local_dt(tz, d, "10:00"))
    assert single(pid, d)["slots"] == []
    r = book(pid, local_dt(tz, d, "09:00"))
    check_error(r, 409, "CONFLICT")
    assert single(pid, d + dt.timedelta(days=1))["availableSlots"] == ["09:00", "10:00", "11:00"]
    expect(cancel(a["appointmentId"]), 200)
    assert single(pid, d)["availableSlots"] == ["09:00", "10:00", "11:00"]
    # perWeek 1: Sunday 23:00 local (Monday in UTC) closes the week that ends that Sunday only
    wk = make_provider(tz, appointmentDuration=60, limits={"perWeek": 1},
                       weeklySchedule=all_days("00:00", "24:00"))
    sun = future_date(weekday=6)
    book_ok(wk, local_dt(tz, sun, "23:00"))
    assert single(wk, sun - dt.timedelta(days=6))["slots"] == []  # that week's Monday
    assert single(wk, sun)["slots"] == []
    assert len(single(wk, sun + dt.timedelta(days=1))["slots"]) == 24
