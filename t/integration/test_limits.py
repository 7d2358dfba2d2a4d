"""Input bounds and hardening through nginx: every answer (the pool's and
nginx's own) carries X-Content-Type-Options: nosniff and no server version;
nginx answers malformed, oversized and unsupported requests with the JSON
error body; JSON depth, query, path, string and list bounds; the inputs the
fuzzers (t/fuzz) found, sent over HTTP; and the pool and relay running
without root."""

import datetime
import json
import os
import socket
import urllib.parse

from lib import (HOST, PORT, VAR, all_days, auth_headers, check_error, expect, get, interval,
                 make_provider, master_pid, post, request, schedule_body, uuid4, worker_pids)

JSON = {"Content-Type": "application/json"}


def sched_path(pid=None):
    return "/api/providers/%s/schedule" % (pid or uuid4())


def check_hardened(r):
    """Headers every response must carry, whoever made it."""
    assert r.headers.get("x-content-type-options") == "nosniff", r.headers
    server = r.headers.get("server", "")
    assert not any(ch.isdigit() for ch in server), "server version exposed: %r" % server


def raw_exchange(data, timeout=5):
    """Sends bytes as they are; returns (status, headers, body) of the answer."""
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    try:
        s.sendall(data)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    finally:
        s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body


class RawResp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        try:
            self.json = json.loads(body)
        except ValueError:
            self.json = None

    def __repr__(self):
        return "<raw %s %r>" % (self.status, self.body[:300])


def test_nosniff_and_no_version_on_every_answer():
    pid = make_provider("UTC")
    answers = [
        get("/health", auth=False),                                    # pool, 200
        get("/api/providers/%s" % pid),                                 # pool, 200
        get("/api/providers/%s" % pid, auth=False),                     # pool, 401
        post(sched_path(), {"timezone": "Nowhere/Else"}),               # pool, 422
        request("POST", sched_path(), raw="{", headers=JSON),           # pool, 400
        request("DELETE", sched_path()),                                # pool, 405
        get("/nope"),                                                   # nginx, 404
        get("/status/x"),                                               # nginx, 404
        request("POST", sched_path(), raw="x" * (70 * 1024), headers=JSON),  # nginx, 413
        get("/api/events?x=" + "a" * 9000),                             # nginx, 414
        get("/health", headers={"X-Big": "b" * 20000}),                 # nginx, 400 (headers)
    ]
    assert [r.status for r in answers] == [200, 200, 401, 422, 400, 405, 404, 404, 413, 414, 400], answers
    for r in answers:
        check_hardened(r)
        assert r.headers.get("x-request-id"), r.headers
        assert r.headers.get("content-type", "").startswith("application/json"), r
    for r in answers[2:]:
        assert isinstance(r.json, dict) and isinstance(r.json.get("error"), dict), r


def test_nginx_answers_broken_requests_with_json():
    for data, status, code in (
            (b"GARBAGE\r\n\r\n", 400, "BAD_REQUEST"),
            (b"GET /he\x00alth HTTP/1.1\r\nHost: x\r\n\r\n", 400, "BAD_REQUEST"),
            (b"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "NOT_IMPLEMENTED")):
        r = RawResp(*raw_exchange(data))
        check_hardened(r)
        check_error(r, status, code)


def test_path_and_query_length_are_bounded_by_nginx():
    check_error(get("/api/appointments/" + "a" * 9000), 414, "URI_TOO_LONG")
    check_error(get("/api/appointments?patientId=" + "p" * 9000), 414, "URI_TOO_LONG")
    # Just under the request line's 8 KiB the worker answers, and names the field.
    check_error(get("/api/appointments?patientId=" + "p" * 7000), 422, "VALIDATION_ERROR",
                field="patientId")


def test_json_depth_is_bounded():
    def nested(depth):
        # The object itself is level 1; the rest are arrays inside an ignored field.
        return '{"timezone":"UTC","appointmentDuration":30,"weeklySchedule":%s,"x":%s%s}' % (
            json.dumps(all_days()), "[" * (depth - 1), "]" * (depth - 1))
    r = request("POST", sched_path(), raw=nested(16), headers=JSON)
    assert r.status == 200, r
    err = check_error(request("POST", sched_path(), raw=nested(17), headers=JSON), 400, "BAD_REQUEST")
    assert "16" in err["message"], err
    # Far deeper than cJSON's own limit, and unbalanced: refused before parsing.
    for raw in ("[" * 30000, "[" * 20000 + "]" * 20000, '{"a":' * 10000):
        check_error(request("POST", sched_path(), raw=raw, headers=JSON), 400, "BAD_REQUEST")
        check_error(request("POST", "/api/appointments", raw=raw, headers=JSON), 400, "BAD_REQUEST")


def test_query_bounds():
    many = "&".join("p%d=1" % i for i in range(33))
    check_error(get("/api/appointments?" + many), 422, "VALIDATION_ERROR", field="query")
    ok = "&".join("p%d=1" % i for i in range(31)) + "&limit=1"
    expect(get("/api/appointments?" + ok), 200)
    check_error(get("/api/appointments?limit=1&limit=2"), 422, "VALIDATION_ERROR", field="limit")
    # A repeated name that cannot be a field path (empty, not UTF-8) is reported at "query".
    for q in ("=&=", "%FF=1&%FF=2", "a=%zz", "a=%00"):
        err = check_error(get("/api/appointments?" + q), 422, "VALIDATION_ERROR", field="query")
        assert list(err["details"]) == ["query"], err


def test_integer_parameters_do_not_overflow():
    """fuzz regression: a 20-digit after/before once overflowed int64 (UB) in api_query_int."""
    for value in ("92233720368547758089", "9223372036854775808", "99999999999999999999999"):
        check_error(get("/api/events?after=" + value), 422, "VALIDATION_ERROR", field="after")
        check_error(get("/api/appointments?limit=" + value), 422, "VALIDATION_ERROR", field="limit")
    expect(get("/api/events?after=922337203685477580&limit=1"), 200)


def test_list_sizes_are_bounded():
    day48 = [interval("%02d:%02d" % (m // 60, m % 60), "%02d:%02d" % ((m + 20) // 60, (m + 20) % 60))
             for m in range(0, 48 * 30, 30)]
    assert len(day48) == 48
    expect(post(sched_path(), schedule_body("UTC", weeklySchedule={"monday": day48})), 200)
    day49 = day48 + [interval("23:40", "23:50")]
    check_error(post(sched_path(), schedule_body("UTC", weeklySchedule={"monday": day49})),
                422, "VALIDATION_ERROR", field="weeklySchedule.monday")
    first = datetime.date(2030, 1, 1)
    overrides = {str(first + datetime.timedelta(days=i)): [] for i in range(1001)}
    check_error(post(sched_path(), schedule_body("UTC", dateOverrides=overrides)),
                422, "VALIDATION_ERROR", field="dateOverrides")
    types = ["APPOINTMENT_CONFIRMED"] * 5
    check_error(post("/api/webhooks", {"url": "http://127.0.0.1:9/x", "eventTypes": types}),
                422, "VALIDATION_ERROR", prefix="eventTypes.")


def test_error_paths_of_long_keys_stay_utf8():
    """fuzz regression: a day key cut at 60 bytes inside a UTF-8 character made the 422 body invalid UTF-8."""
    key = "a" + "\u00e9" * 40
    body = json.dumps(schedule_body("UTC", weeklySchedule={key: []}, dateOverrides={key: []}),
                      ensure_ascii=False).encode("utf-8")
    r = request("POST", sched_path(), raw=body, headers=JSON)
    r.body.decode("utf-8")  # raises if not UTF-8
    err = check_error(r, 422, "VALIDATION_ERROR")
    paths = sorted(err["details"])
    assert paths == ["dateOverrides." + key[:30], "weeklySchedule." + key[:30]], paths


def test_string_fields_have_bounds():
    pid = make_provider("UTC")
    check_error(post("/api/appointments", {"patientId": "x" * 129, "providerId": pid,
                                           "startTime": "2030-01-07T10:00:00Z"}),
                422, "VALIDATION_ERROR", field="patientId")
    check_error(post(sched_path(), schedule_body("Europe/" + "B" * 100)), 422, "VALIDATION_ERROR",
                field="timezone")
    check_error(post("/api/webhooks", {"url": "http://127.0.0.1:9/" + "u" * 2048}),
                422, "VALIDATION_ERROR", field="url")
    check_error(post("/api/webhooks", {"url": "http://127.0.0.1:9/", "description": "d" * 501}),
                422, "VALIDATION_ERROR", field="description")
    check_error(request("DELETE", "/api/appointments/%s?%s" % (uuid4(), urllib.parse.urlencode(
        {"reason": "r" * 501}))), 422, "VALIDATION_ERROR", field="reason")
    check_error(post("/api/appointments", {"patientId": "p", "providerId": pid,
                                           "startTime": "2030-01-07T10:00:00.0000000001Z"}),
                422, "VALIDATION_ERROR", field="startTime")
    check_error(post("/api/appointments", {"patientId": "p", "providerId": pid,
                                           "startTime": "2030-01-07T10:00:00Z"},
                     headers=dict(auth_headers(), **{"Idempotency-Key": "k" * 256})),
                422, "VALIDATION_ERROR", field="Idempotency-Key")


def _ids(pid):
    """(uids, gids, groups) of a live process, from /proc."""
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.split()
    return ([int(x) for x in fields["Uid"]], [int(x) for x in fields["Gid"]],
            [int(x) for x in fields.get("Groups", [])])


def test_pool_and_relay_run_unprivileged():
    """Started as root, the master, every worker and the relay run as the configured
    user (real, effective and saved ids, no root group); otherwise as the caller."""
    relay = os.path.join(VAR, "run", "appointd-relay.pid")
    pids = [master_pid()] + worker_pids()
    if os.path.exists(relay):
        with open(relay) as f:
            pids.append(int(f.read().split()[0]))
    assert len(pids) >= 2, pids
    me = os.geteuid()
    for pid in pids:
        uids, gids, groups = _ids(pid)
        if me == 0:
            assert all(u != 0 for u in uids), (pid, uids)
            assert all(g != 0 for g in gids) and 0 not in groups, (pid, gids, groups)
        else:
            assert uids == [me] * 4, (pid, uids)
