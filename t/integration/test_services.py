"""Services: PUT/GET/DELETE /api/providers/{id}/services/{serviceId} and
GET /api/providers/{id}/services. The implicit `default` service made of the
schedule, creating, replacing and retiring, every field's 422 at its path,
serviceId shapes, SERVICE_UPDATED (outbox, feed, webhook filter and
delivery), and scopes. Every test makes its own provider."""

import re
import time
import urllib.parse

import lib
from lib import (assert_utc_ms, check_error, delete, expect, get, make_provider, now_utc,
                 outbox, outbox_count, parse_instant, post_schedule, put, request, schedule_body,
                 sql, uuid4, wait_until)
from receiver import Receiver

EVT_RE = re.compile(r"^evt_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SERVICE_KEYS = ["providerId", "serviceId", "name", "duration", "slotInterval", "bufferBefore",
                "bufferAfter", "minimumNotice", "bookingHorizonDays", "capacity", "limits",
                "requiresConfirmation", "cancellationNotice", "rescheduleNotice", "active",
                "createdAt", "updatedAt"]
INHERITING = ("slotInterval", "bufferBefore", "bufferAfter", "minimumNotice", "bookingHorizonDays")
# What a service body left to its defaults reads back as.
DEFAULTS = {"slotInterval": None, "bufferBefore": None, "bufferAfter": None, "minimumNotice": None,
            "bookingHorizonDays": None, "capacity": 1, "limits": {"perDay": None, "perWeek": None},
            "requiresConfirmation": False, "cancellationNotice": 0, "rescheduleNotice": 0}
FULL = {"name": "Group yoga", "duration": 60, "slotInterval": 15, "bufferBefore": 5,
        "bufferAfter": 15, "minimumNotice": 120, "bookingHorizonDays": 30, "capacity": 8,
        "limits": {"perDay": 2, "perWeek": 9}, "requiresConfirmation": True,
        "cancellationNotice": 1440, "rescheduleNotice": 720}


# ------------------------------------------------------------------ helpers
def svc_path(pid, sid=None):
    p = "/api/providers/%s/services" % pid
    return p if sid is None else p + "/" + urllib.parse.quote(sid, safe="")


def svc_put(pid, sid, body, **kw):
    return put(svc_path(pid, sid), body, **kw)


def svc_get(pid, sid, **kw):
    return get(svc_path(pid, sid), **kw)


def svc_delete(pid, sid, **kw):
    return delete(svc_path(pid, sid), **kw)


def svc_list(pid):
    j = expect(get(svc_path(pid)), 200)
    assert isinstance(j, dict) and list(j) == ["services"] and isinstance(j["services"], list), j
    for s in j["services"]:
        check_shape(s)
    return j["services"]


def get_provider(pid):
    return expect(get("/api/providers/%s" % pid), 200)


def check_shape(s):
    """Every field, in the contract's order; the right types; limits with both keys."""
    assert isinstance(s, dict) and list(s) == SERVICE_KEYS, "service fields: %r" % (s,)
    assert isinstance(s["name"], str) and s["name"], s
    assert type(s["duration"]) is int, s
    for k in INHERITING:
        assert s[k] is None or type(s[k]) is int, (k, s)
    assert type(s["capacity"]) is int, s
    assert isinstance(s["limits"], dict) and list(s["limits"]) == ["perDay", "perWeek"], s
    for k in ("perDay", "perWeek"):
        assert s["limits"][k] is None or type(s["limits"][k]) is int, s
    assert type(s["requiresConfirmation"]) is bool and type(s["active"]) is bool, s
    assert type(s["cancellationNotice"]) is int and type(s["rescheduleNotice"]) is int, s
    assert_utc_ms(s["createdAt"], "createdAt")
    assert_utc_ms(s["updatedAt"], "updatedAt")
    assert s["updatedAt"] >= s["createdAt"], s
    return s


def created(pid, sid, body):
    r = svc_put(pid, sid, body)
    j = expect(r, 201)
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    return check_shape(j)


def replaced(pid, sid, body):
    return check_shape(expect(svc_put(pid, sid, body), 200))


def fields(s):
    """The fields a PUT sets, as read back."""
    return {k: s[k] for k in SERVICE_KEYS[2:-3]}


def service_events(pid):
    return [r for r in outbox(aggregate_id=pid) if r["event_type"] == "SERVICE_UPDATED"]


def invalid(pid, sid, body, field):
    r = svc_put(pid, sid, body)
    return check_error(r, 422, "VALIDATION_ERROR", field=field)


def stored_services(pid):
    return int(sql("SELECT count(*) FROM services WHERE provider_id = %s" % lib.q(pid))[0][0])


def default_expected(pid, duration):
    p = get_provider(pid)
    return dict(DEFAULTS, providerId=pid, serviceId="default", name="default", duration=duration,
                active=True, createdAt=p["createdAt"], updatedAt=p["updatedAt"])


def feed_tail():
    return int(sql("SELECT coalesce(max(seq), 0) FROM outbox")[0][0])


def feed_after(after):
    out = []
    while True:
        j = expect(get("/api/events?after=%d&limit=1000" % after), 200)
        out.extend(j["events"])
        if not j["events"]:
            return out
        after = j["nextAfter"]


# ------------------------------------------------------------------ create, replace, read
def test_create_returns_201_with_every_field():
    pid = make_provider("UTC")
    t0 = now_utc()
    s = created(pid, "yoga", {"name": "Yoga", "duration": 60})
    assert s["providerId"] == pid and s["serviceId"] == "yoga", s
    assert s["name"] == "Yoga" and s["duration"] == 60, s
    assert {k: s[k] for k in DEFAULTS} == DEFAULTS, s
    assert s["active"] is True, s
    assert s["createdAt"] == s["updatedAt"], s
    assert abs((parse_instant(s["createdAt"]) - t0).total_seconds()) < 300, s
    # every field set
    f = created(pid, "full", FULL)
    assert fields(f) == FULL, f
    assert f["active"] is True, f
    # GET shows what PUT answered
    assert expect(svc_get(pid, "yoga"), 200) == s
    assert expect(svc_get(pid, "full"), 200) == f


def test_limits_always_show_both_keys():
    pid = make_provider("UTC")
    for sid, limits, want in (("l1", {"perDay": 3}, {"perDay": 3, "perWeek": None}),
                              ("l2", {"perWeek": 10000}, {"perDay": None, "perWeek": 10000}),
                              ("l3", {}, {"perDay": None, "perWeek": None}),
                              ("l4", None, {"perDay": None, "perWeek": None}),
                              ("l5", {"perDay": 1, "perWeek": None}, {"perDay": 1, "perWeek": None}),
                              ("l6", {"perDay": None, "perWeek": None}, {"perDay": None, "perWeek": None})):
        s = created(pid, sid, {"name": sid, "duration": 30, "limits": limits})
        assert s["limits"] == want, (limits, s)
        assert expect(svc_get(pid, sid), 200)["limits"] == want


def test_replace_is_200_and_moves_updated_at():
    pid = make_provider("UTC")
    s = created(pid, "yoga", {"name": "Yoga", "duration": 60})
    n = outbox_count(pid)
    time.sleep(1.1)
    r = replaced(pid, "yoga", {"name": "Yoga", "duration": 90})
    assert r["duration"] == 90, r
    assert r["createdAt"] == s["createdAt"], (s, r)
    assert r["updatedAt"] > s["updatedAt"], (s, r)
    assert outbox_count(pid) == n + 1, outbox(aggregate_id=pid)
    assert service_events(pid)[-1]["envelope"]["payload"] == {"providerId": pid, "serviceId": "yoga"}
    assert expect(svc_get(pid, "yoga"), 200) == r


def test_identical_put_changes_nothing():
    pid = make_provider("UTC")
    s = created(pid, "full", FULL)
    n = outbox_count(pid)
    time.sleep(1.1)
    r = replaced(pid, "full", FULL)
    assert r == s, (s, r)
    assert outbox_count(pid) == n, "an identical PUT wrote an event: %r" % outbox(aggregate_id=pid)
    assert expect(svc_get(pid, "full"), 200)["updatedAt"] == s["updatedAt"]
    # The same configuration spelled another way (defaults written out, nulls,
    # unknown fields, another key order) is no change either.
    s2 = created(pid, "plain", {"name": "Plain", "duration": 30})
    n = outbox_count(pid)
    time.sleep(1.1)
    r2 = replaced(pid, "plain", {"rescheduleNotice": 0, "cancellationNotice": None, "capacity": 1,
                                 "limits": {"perDay": None}, "requiresConfirmation": False,
                                 "slotInterval": None, "duration": 30, "name": "Plain", "color": "red"})
    assert r2 == s2, (s2, r2)
    assert outbox_count(pid) == n, outbox(aggregate_id=pid)


def test_fields_left_out_return_to_defaults():
    pid = make_provider("UTC")
    created(pid, "full", FULL)
    r = replaced(pid, "full", {"name": "Now plain", "duration": 45})
    assert r["name"] == "Now plain" and r["duration"] == 45, r
    assert {k: r[k] for k in DEFAULTS} == DEFAULTS, r
    assert expect(svc_get(pid, "full"), 200) == r


def test_null_means_default():
    pid = make_provider("UTC")
    created(pid, "full", FULL)
    body = {"name": "Nulls", "duration": 30}
    body.update({k: None for k in FULL if k not in ("name", "duration")})
    r = replaced(pid, "full", body)
    assert {k: r[k] for k in DEFAULTS} == DEFAULTS, r
    s = created(pid, "nulls", body)
    assert {k: s[k] for k in DEFAULTS} == DEFAULTS, s


def test_unknown_fields_ignored():
    pid = make_provider("UTC")
    s = created(pid, "x", {"name": "X", "duration": 30, "color": "red", "seats": 5,
                           "serviceId": "other", "providerId": uuid4(), "active": False,
                           "createdAt": "2000-01-01T00:00:00.000Z"})
    assert s["serviceId"] == "x" and s["providerId"] == pid and s["active"] is True, s
    assert s["createdAt"] != "2000-01-01T00:00:00.000Z", s
    assert "color" not in s and "seats" not in s, s
    assert [x["serviceId"] for x in svc_list(pid)] == ["default", "x"]


def test_name_counted_in_characters():
    pid = make_provider("UTC")
    for sid, name in (("n1", "a"), ("n2", "x" * 200), ("n3", "\u00e9" * 200), ("n4", "\U0001F600" * 200),
                      ("n5", "Yoga \u2014 f\u00fcr alle")):
        s = created(pid, sid, {"name": name, "duration": 30})
        assert s["name"] == name, (sid, s)
        assert expect(svc_get(pid, sid), 200)["name"] == name


def test_upper_case_provider_id_is_same_provider():
    pid = make_provider("UTC")
    s = created(pid.upper(), "yoga", {"name": "Yoga", "duration": 60})
    assert s["providerId"] == pid, s
    assert expect(svc_get(pid.upper(), "yoga"), 200) == s
    assert [x["serviceId"] for x in expect(get(svc_path(pid.upper())), 200)["services"]] == ["default", "yoga"]


# ------------------------------------------------------------------ validation
def test_body_not_an_object_is_422_at_body():
    pid = make_provider("UTC")
    for raw in ("[]", "42", '"x"', "null", "true", '[{"name": "X", "duration": 30}]'):
        r = request("PUT", svc_path(pid, "x"), raw=raw, headers={"Content-Type": "application/json"})
        check_error(r, 422, "VALIDATION_ERROR", field="body")
    assert stored_services(pid) == 0


def test_malformed_json_400_and_media_type_415():
    pid = make_provider("UTC")
    for raw in ('{"name": "X",', "{bad}", "", '{"name": "X", "duration": 30} x'):
        r = request("PUT", svc_path(pid, "x"), raw=raw, headers={"Content-Type": "application/json"})
        check_error(r, 400, "BAD_REQUEST")
    r = request("PUT", svc_path(pid, "x"), raw='{"name": "X", "duration": 30}',
                headers={"Content-Type": "text/plain"})
    check_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert stored_services(pid) == 0


def test_name_rules():
    pid = make_provider("UTC")
    invalid(pid, "x", {"duration": 30}, "name")
    for bad in (None, "", "x" * 201, "\u00e9" * 201, "a\u0001b", "line\nbreak", "tab\t", "nul\u0000",
                "del\u007f", "c1\u0085", 5, True, ["Yoga"], {"n": "Yoga"}):
        invalid(pid, "x", {"name": bad, "duration": 30}, "name")
    assert stored_services(pid) == 0


def test_duration_rules():
    pid = make_provider("UTC")
    invalid(pid, "x", {"name": "X"}, "duration")
    for bad in (None, 4, 1441, 0, -30, 30.5, "30", True, [30]):
        invalid(pid, "x", {"name": "X", "duration": bad}, "duration")
    assert stored_services(pid) == 0
    for i, good in enumerate((5, 1440)):
        assert created(pid, "d%d" % i, {"name": "X", "duration": good})["duration"] == good


def test_inheriting_field_bounds():
    pid = make_provider("UTC")
    for field, bad, good in (
        ("slotInterval", [4, 1441, 0, "15", 15.5, True], [5, 1440]),
        ("bufferBefore", [-1, 1441, "5", 2.5, False], [0, 1440]),
        ("bufferAfter", [-1, 1441, "5", 2.5, False], [0, 1440]),
        ("minimumNotice", [-1, 525601, "10", 1.5, True], [0, 525600]),
        ("bookingHorizonDays", [0, -1, 3661, "30", 1.5, True], [1, 3660]),
    ):
        for b in bad:
            invalid(pid, "x", {"name": "X", "duration": 30, field: b}, field)
        for i, g in enumerate(good):
            s = created(pid, ("%s-%d" % (field, i)).lower(), {"name": "X", "duration": 30, field: g})
            assert s[field] == g, (field, g, s)
    check_error(svc_get(pid, "x"), 404, "NOT_FOUND")


def test_capacity_bounds():
    pid = make_provider("UTC")
    for bad in (0, 1001, -1, "8", 2.5, True, [8]):
        invalid(pid, "x", {"name": "X", "duration": 30, "capacity": bad}, "capacity")
    for good in (1, 1000):
        assert created(pid, "c%d" % good, {"name": "X", "duration": 30, "capacity": good})["capacity"] == good
    check_error(svc_get(pid, "x"), 404, "NOT_FOUND")


def test_limits_rules():
    pid = make_provider("UTC")
    for bad in ("x", 5, [], [3], True):
        invalid(pid, "x", {"name": "X", "duration": 30, "limits": bad}, "limits")
    for key in ("perDay", "perWeek"):
        for bad in (0, -1, 10001, "x", "3", 1.5, True, [3], {}):
            invalid(pid, "x", {"name": "X", "duration": 30, "limits": {key: bad}}, "limits." + key)
    # both reported
    err = invalid(pid, "x", {"name": "X", "duration": 30, "limits": {"perDay": 0, "perWeek": 10001}},
                  "limits.perDay")
    assert "limits.perWeek" in err["details"], err
    check_error(svc_get(pid, "x"), 404, "NOT_FOUND")
    s = created(pid, "edges", {"name": "X", "duration": 30, "limits": {"perDay": 1, "perWeek": 10000}})
    assert s["limits"] == {"perDay": 1, "perWeek": 10000}, s


def test_requires_confirmation_rules():
    pid = make_provider("UTC")
    for bad in ("true", 1, 0, "yes", [True], {}):
        invalid(pid, "x", {"name": "X", "duration": 30, "requiresConfirmation": bad}, "requiresConfirmation")
    for sid, v, want in (("t", True, True), ("f", False, False), ("n", None, False)):
        s = created(pid, sid, {"name": "X", "duration": 30, "requiresConfirmation": v})
        assert s["requiresConfirmation"] is want, s


def test_notice_bounds():
    pid = make_provider("UTC")
    for field in ("cancellationNotice", "rescheduleNotice"):
        for bad in (-1, 525601, "5", 1.5, True):
            invalid(pid, "x", {"name": "X", "duration": 30, field: bad}, field)
        for good in (0, 525600):
            s = created(pid, ("%s-%d" % (field, good)).lower(), {"name": "X", "duration": 30, field: good})
            assert s[field] == good, s
    check_error(svc_get(pid, "x"), 404, "NOT_FOUND")


def test_every_bad_field_is_reported():
    pid = make_provider("UTC")
    r = svc_put(pid, "x", {"name": "", "duration": 4, "slotInterval": 4, "bufferBefore": -1,
                           "bufferAfter": 1441, "minimumNotice": -1, "bookingHorizonDays": 0,
                           "capacity": 0, "limits": {"perDay": 0, "perWeek": 0},
                           "requiresConfirmation": "no", "cancellationNotice": -1,
                           "rescheduleNotice": 525601})
    err = check_error(r, 422, "VALIDATION_ERROR", field="name")
    want = {"name", "duration", "slotInterval", "bufferBefore", "bufferAfter", "minimumNotice",
            "bookingHorizonDays", "capacity", "limits.perDay", "limits.perWeek",
            "requiresConfirmation", "cancellationNotice", "rescheduleNotice"}
    assert set(err["details"]) == want, sorted(err["details"])
    assert stored_services(pid) == 0


# ------------------------------------------------------------------ ids
def test_service_id_default_cannot_be_written():
    pid = make_provider("UTC")
    n = outbox_count(pid)
    for r in (svc_put(pid, "default", {"name": "X", "duration": 30}), svc_delete(pid, "default"),
              svc_put(pid, "default", {"name": "", "duration": 4})):
        check_error(r, 422, "VALIDATION_ERROR", field="serviceId")
    assert outbox_count(pid) == n
    assert stored_services(pid) == 0
    d = expect(svc_get(pid, "default"), 200)
    assert d["name"] == "default" and d["duration"] == 30, d


def test_service_id_outside_pattern_is_404():
    pid = make_provider("UTC")
    created(pid, "yoga", {"name": "Yoga", "duration": 60})
    n = outbox_count(pid)
    for bad in ("Yoga", "YOGA", "DEFAULT", "Default", "-yoga", "-", "a" * 64, "yo_ga", "yo.ga", "yo ga",
                "\u00e9t\u00e9", "yoga%", "yoga/x"):
        for r in (svc_get(pid, bad), svc_put(pid, bad, {"name": "X", "duration": 30}),
                  svc_put(pid, bad, {"name": "", "duration": 4}), svc_delete(pid, bad)):
            check_error(r, 404, "NOT_FOUND")
    assert outbox_count(pid) == n
    assert [s["serviceId"] for s in svc_list(pid)] == ["default", "yoga"]
    assert stored_services(pid) == 1


def test_service_id_edges_accepted():
    pid = make_provider("UTC")
    ids = ["a" * 63, "a", "0", "9-9", "a-", "a--b", "0" + "-" * 62]
    for sid in ids:
        s = created(pid, sid, {"name": "X", "duration": 30})
        assert s["serviceId"] == sid, s
        assert expect(svc_get(pid, sid), 200)["serviceId"] == sid
    got = [s["serviceId"] for s in svc_list(pid)]
    assert got == ["default"] + sorted(ids, key=lambda x: x.encode()), got


def test_bad_provider_id_is_404():
    for bad in ("123", "not-a-uuid", "0000000-0000-0000-0000-000000000000",
                "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"):
        check_error(get(svc_path(bad)), 404, "NOT_FOUND")
        for sid in ("yoga", "default"):
            check_error(svc_get(bad, sid), 404, "NOT_FOUND")
            check_error(svc_put(bad, sid, {"name": "X", "duration": 30}), 404, "NOT_FOUND")
            check_error(svc_delete(bad, sid), 404, "NOT_FOUND")


def test_unknown_provider_is_404_and_nothing_created():
    pid = uuid4()
    before = outbox_count(pid)
    check_error(svc_put(pid, "yoga", {"name": "Yoga", "duration": 60}), 404, "NOT_FOUND")
    check_error(get(svc_path(pid)), 404, "NOT_FOUND")
    check_error(svc_get(pid, "yoga"), 404, "NOT_FOUND")
    check_error(svc_get(pid, "default"), 404, "NOT_FOUND")
    check_error(svc_delete(pid, "yoga"), 404, "NOT_FOUND")
    check_error(get("/api/providers/%s" % pid), 404, "NOT_FOUND")
    assert stored_services(pid) == 0
    assert int(sql("SELECT count(*) FROM providers WHERE id = %s" % lib.q(pid))[0][0]) == 0
    assert outbox_count(pid) == before == 0
    # once the provider exists, the refused service still does not
    make_provider("UTC", provider_id=pid)
    check_error(svc_get(pid, "yoga"), 404, "NOT_FOUND")
    assert [s["serviceId"] for s in svc_list(pid)] == ["default"]


def test_unknown_service_is_404():
    pid = make_provider("UTC")
    n = outbox_count(pid)
    check_error(svc_get(pid, "nope"), 404, "NOT_FOUND")
    check_error(svc_delete(pid, "nope"), 404, "NOT_FOUND")
    assert outbox_count(pid) == n
    # a service of another provider is not this one's
    other = make_provider("UTC")
    created(other, "mine", {"name": "Mine", "duration": 30})
    check_error(svc_get(pid, "mine"), 404, "NOT_FOUND")
    check_error(svc_delete(pid, "mine"), 404, "NOT_FOUND")
    assert expect(svc_get(other, "mine"), 200)["active"] is True


def test_wrong_method_is_405_with_allow():
    pid = make_provider("UTC")
    for method, path, want in (("POST", svc_path(pid, "yoga"), {"GET", "PUT", "DELETE"}),
                               ("PATCH", svc_path(pid, "yoga"), {"GET", "PUT", "DELETE"}),
                               ("POST", svc_path(pid), {"GET"}),
                               ("PUT", svc_path(pid), {"GET"}),
                               ("DELETE", svc_path(pid), {"GET"})):
        r = request(method, path, body={"name": "X", "duration": 30} if method in ("POST", "PUT", "PATCH") else None)
        check_error(r, 405, "METHOD_NOT_ALLOWED")
        allow = {a.strip() for a in r.headers.get("allow", "").split(",") if a.strip()}
        assert allow == want, (method, path, allow)
    assert stored_services(pid) == 0


# ------------------------------------------------------------------ list and default
def test_list_default_first_then_byte_order_retired_included():
    pid = make_provider("UTC", appointmentDuration=45)
    ids = ["z9", "b", "a1", "a-z", "a-1", "0x", "a"]
    for sid in ids:
        created(pid, sid, {"name": "S " + sid, "duration": 30})
    expect(svc_delete(pid, "b"), 200)
    lst = svc_list(pid)
    got = [s["serviceId"] for s in lst]
    assert got == ["default", "0x", "a", "a-1", "a-z", "a1", "b", "z9"], got
    assert lst[0] == default_expected(pid, 45), lst[0]
    assert [s["active"] for s in lst] == [True, True, True, True, True, True, False, True], lst
    for s in lst[1:]:
        assert s == expect(svc_get(pid, s["serviceId"]), 200), s


def test_default_service_from_schedule():
    pid = make_provider("Europe/Berlin", appointmentDuration=30, slotInterval=15, bufferBefore=5,
                        bufferAfter=10, minimumNotice=60, bookingHorizonDays=90)
    d = check_shape(expect(svc_get(pid, "default"), 200))
    assert d == default_expected(pid, 30), d
    assert svc_list(pid) == [d]


def test_schedule_change_moves_default_and_keeps_inheriting_nulls():
    pid = make_provider("UTC", appointmentDuration=30)
    s = created(pid, "inherit", {"name": "Inherit", "duration": 60, "bufferAfter": 15})
    d0 = expect(svc_get(pid, "default"), 200)
    n = outbox_count(pid)
    time.sleep(1.1)
    r = post_schedule(pid, schedule_body("UTC", appointmentDuration=45, slotInterval=10, bufferBefore=5,
                                         bufferAfter=20, minimumNotice=30, bookingHorizonDays=7))
    assert r.status == 200, r
    d1 = expect(svc_get(pid, "default"), 200)
    assert d1 == default_expected(pid, 45), d1
    assert d1["createdAt"] == d0["createdAt"] and d1["updatedAt"] > d0["updatedAt"], (d0, d1)
    # the schedule change wrote its one event, and no SERVICE_UPDATED
    rows = outbox(aggregate_id=pid)[n:]
    assert [x["event_type"] for x in rows] == ["PROVIDER_SCHEDULE_UPDATED"], rows
    # the service still inherits: nulls stay null, its own value and timestamps stay
    s1 = expect(svc_get(pid, "inherit"), 200)
    assert s1 == s, (s, s1)
    for k in ("slotInterval", "bufferBefore", "minimumNotice", "bookingHorizonDays"):
        assert s1[k] is None, (k, s1)
    assert s1["bufferAfter"] == 15, s1
    assert svc_list(pid) == [d1, s1]


# ------------------------------------------------------------------ retire
def test_delete_retires_then_put_reactivates():
    pid = make_provider("UTC")
    s = created(pid, "yoga", FULL)
    n = len(service_events(pid))
    time.sleep(1.1)
    r = svc_delete(pid, "yoga")
    g = check_shape(expect(r, 200))
    assert g["active"] is False, g
    assert fields(g) == fields(s) and g["createdAt"] == s["createdAt"], (s, g)
    assert g["updatedAt"] > s["updatedAt"], (s, g)
    ev = service_events(pid)
    assert len(ev) == n + 1 and ev[-1]["envelope"]["payload"] == {"providerId": pid, "serviceId": "yoga"}, ev
    assert expect(svc_get(pid, "yoga"), 200) == g
    assert svc_list(pid)[1] == g
    # retiring again: 200, the same service, no event
    total = outbox_count(pid)
    time.sleep(1.1)
    assert check_shape(expect(svc_delete(pid, "yoga"), 200)) == g
    assert outbox_count(pid) == total, outbox(aggregate_id=pid)
    # PUT on a retired service, even with the same body, reactivates it: 200 and an event
    time.sleep(1.1)
    a = replaced(pid, "yoga", FULL)
    assert a["active"] is True and fields(a) == FULL, a
    assert a["createdAt"] == s["createdAt"] and a["updatedAt"] > g["updatedAt"], (g, a)
    assert outbox_count(pid) == total + 1
    assert service_events(pid)[-1]["envelope"]["payload"] == {"providerId": pid, "serviceId": "yoga"}
    assert expect(svc_get(pid, "yoga"), 200) == a
    # and a PUT that also changes it while retired: 200, active, changed
    expect(svc_delete(pid, "yoga"), 200)
    b = replaced(pid, "yoga", {"name": "Yoga again", "duration": 30})
    assert b["active"] is True and b["name"] == "Yoga again", b
    assert outbox_count(pid) == total + 3


# ------------------------------------------------------------------ events
def test_service_updated_envelope_and_feed():
    tail = feed_tail()
    pid = make_provider("UTC")
    created(pid, "yoga", {"name": "Yoga", "duration": 60})
    expect(post_schedule(pid, schedule_body("UTC", appointmentDuration=45)), 200)
    replaced(pid, "yoga", {"name": "Yoga", "duration": 90})
    expect(svc_delete(pid, "yoga"), 200)
    rows = outbox(aggregate_id=pid)
    assert [x["event_type"] for x in rows] == ["PROVIDER_SCHEDULE_UPDATED", "SERVICE_UPDATED",
                                              "PROVIDER_SCHEDULE_UPDATED", "SERVICE_UPDATED",
                                              "SERVICE_UPDATED"], rows
    for x in rows:
        env = x["envelope"]
        assert isinstance(env, dict) and list(env) == ["eventId", "eventType", "timestamp", "payload"], env
        assert EVT_RE.match(env["eventId"]), env
        assert_utc_ms(env["timestamp"], "event timestamp")
        assert env["eventType"] == x["event_type"], (x, env)
        if x["event_type"] == "SERVICE_UPDATED":
            assert env["payload"] == {"providerId": pid, "serviceId": "yoga"}, env
            assert list(env["payload"]) == ["providerId", "serviceId"], env
    # the feed shows them, in commit order, as stored
    stored = {x["envelope"]["eventId"]: x["envelope"] for x in rows}

    def mine():
        evs = [e for e in feed_after(tail) if e.get("eventId") in stored]
        return evs if len(evs) == len(rows) else None
    evs = wait_until(mine, timeout=10, interval=0.2)
    assert evs, "the provider's events did not all reach the feed"
    assert [e["eventId"] for e in evs] == [x["envelope"]["eventId"] for x in rows], evs
    for e in evs:
        assert list(e)[0] == "sequence", e
        assert {k: v for k, v in e.items() if k != "sequence"} == stored[e["eventId"]], e


def test_webhook_accepts_service_updated_and_delivers_it():
    pid = uuid4()
    made = []
    try:
        r = lib.post("/api/webhooks", {"url": "http://127.0.0.1:9/svc", "eventTypes": ["SERVICE_UPDATED"]})
        j = expect(r, 201)
        made.append(j["id"])
        assert j["eventTypes"] == ["SERVICE_UPDATED"], j
        assert expect(get("/api/webhooks/%s" % j["id"]), 200)["eventTypes"] == ["SERVICE_UPDATED"]
        r = lib.post("/api/webhooks", {"url": "http://127.0.0.1:9/svc2",
                                       "eventTypes": ["PROVIDER_SCHEDULE_UPDATED", "SERVICE_UPDATED"]})
        made.append(expect(r, 201)["id"])
        for bad in (["SERVICE_CREATED"], ["service_updated"], ["SERVICE_UPDATED", "SERVICES_UPDATED"]):
            r = lib.post("/api/webhooks", {"url": "http://127.0.0.1:9/bad", "eventTypes": bad})
            if r.status == 201:
                made.append(r.json["id"])
            check_error(r, 422, "VALIDATION_ERROR", field="eventTypes.%d" % (len(bad) - 1))
        for wid in made:
            expect(delete("/api/webhooks/%s" % wid), 204)
        made = []

        # A subscriber of SERVICE_UPDATED alone gets the service's events, signed, in order.
        with Receiver() as recv:
            r = lib.post("/api/webhooks", {"url": recv.url("/svc"), "eventTypes": ["SERVICE_UPDATED"]})
            j = expect(r, 201)
            made.append(j["id"])
            recv.set_secret(j["secret"], "/svc")
            make_provider("UTC", provider_id=pid)
            created(pid, "yoga", {"name": "Yoga", "duration": 60})
            expect(svc_delete(pid, "yoga"), 200)
            want = [x["envelope"]["eventId"] for x in service_events(pid)]
            assert len(want) == 2, want
            got = recv.wait(lambda arr: [a for a in arr if a.ok] if len({a.webhook_id for a in arr if a.ok}) >= 2
                            else None, timeout=15, path="/svc", provider=pid)
            assert got, "SERVICE_UPDATED not delivered: %r" % recv.arrivals(path="/svc")
            firsts = []
            for a in got:
                if a.webhook_id not in firsts:
                    firsts.append(a.webhook_id)
            assert firsts == want, (firsts, want)
            for a in got:
                assert a.event_type == "SERVICE_UPDATED" and a.sig_ok, a
                assert a.body == lib.outbox_bytes(a.webhook_id), a
            time.sleep(0.5)
            assert all(a.event_type == "SERVICE_UPDATED" for a in recv.arrivals(path="/svc", provider=pid)), \
                recv.arrivals(path="/svc", provider=pid)
    finally:
        for wid in made:
            delete("/api/webhooks/%s" % wid)


# ------------------------------------------------------------------ scopes
def test_scopes():
    pid = make_provider("UTC")
    s = created(pid, "yoga", {"name": "Yoga", "duration": 60})
    _, read_key = lib.create_key("read", "services read")
    _, booking_key = lib.create_key("booking", "services booking")
    n = outbox_count(pid)

    def as_key(key):
        return {"Authorization": "Bearer " + key}
    for key in (read_key, booking_key):
        assert expect(get(svc_path(pid), headers=as_key(key)), 200)["services"][1] == s
        assert expect(svc_get(pid, "yoga", headers=as_key(key)), 200) == s
        assert expect(svc_get(pid, "default", headers=as_key(key)), 200)["serviceId"] == "default"
        for r in (svc_put(pid, "yoga", {"name": "Changed", "duration": 30}, headers=as_key(key)),
                  svc_put(pid, "new", {"name": "New", "duration": 30}, headers=as_key(key)),
                  svc_put(pid, "new", {"name": ""}, headers=as_key(key)),
                  svc_delete(pid, "yoga", headers=as_key(key))):
            check_error(r, 403, "FORBIDDEN")
    for r in (get(svc_path(pid), auth=False), svc_get(pid, "yoga", auth=False),
              svc_put(pid, "yoga", {"name": "X", "duration": 30}, auth=False),
              svc_delete(pid, "yoga", auth=False)):
        check_error(r, 401, "UNAUTHORIZED")
    assert expect(svc_get(pid, "yoga"), 200) == s
    assert [x["serviceId"] for x in svc_list(pid)] == ["default", "yoga"]
    assert outbox_count(pid) == n
