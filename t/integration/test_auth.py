"""API keys and scopes: 401 and 403 with the contract's bodies, the scope
matrix, revocation within 2 s on every worker, keys stored only as hashes
and never logged, and the appointctl key commands through ./dev ctl."""

import glob
import os
import re
import time

import lib


def with_key(key):
    return {"Authorization": "Bearer " + key}


def call(method, path, key, body=None):
    return lib.request(method, path, body=body, headers=with_key(key), auth=False)


def test_health_needs_no_key():
    lib.expect(lib.get("/health", auth=False), 200)


def test_missing_and_malformed_keys_are_401():
    for hdrs in [None, {"Authorization": "Bearer"}, {"Authorization": "Bearer nope"},
                 {"Authorization": "Basic dXNlcjpwYXNz"},
                 {"Authorization": "Bearer apd_" + "!" * 43},
                 {"Authorization": "Bearer apd_" + "A" * 42}]:
        r = lib.request("GET", "/api/appointments", headers=hdrs, auth=False)
        lib.check_error(r, 401, "UNAUTHORIZED")
        assert r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers


def test_unknown_key_is_401():
    r = call("GET", "/api/appointments", "apd_" + "A" * 43)
    lib.check_error(r, 401, "UNAUTHORIZED")
    assert r.headers.get("www-authenticate", "").startswith("Bearer")


def test_scope_matrix():
    pid = lib.make_provider()
    d = lib.future_date(weekday=0)
    start = lib.iso_z(lib.local_dt("Europe/Berlin", d, "10:00"))
    keys = {s: lib.create_key(s, "matrix " + s)[1] for s in ("read", "booking", "admin")}
    reads = [("GET", "/api/providers/" + pid), ("GET", "/api/providers/%s/availability?date=%s" % (pid, d)),
             ("GET", "/api/appointments?providerId=" + pid)]
    admin_only = [("GET", "/api/events?limit=1"), ("GET", "/api/webhooks"),
                  ("POST", "/api/providers/%s/schedule" % pid)]
    for scope, key in keys.items():
        for m, p in reads:
            r = call(m, p, key)
            assert r.status == 200, (scope, r)
        r = call("POST", "/api/appointments", key, {"patientId": "p-" + scope, "providerId": pid,
                                                     "startTime": start})
        if scope == "read":
            lib.check_error(r, 403, "FORBIDDEN")
        else:
            assert r.status in (201, 409), (scope, r)
        for m, p in admin_only:
            body = lib.schedule_body() if m == "POST" else None
            r = call(m, p, key, body)
            if scope == "admin":
                assert r.status == 200, (scope, r)
            else:
                lib.check_error(r, 403, "FORBIDDEN")
    # A forbidden write changes nothing.
    assert not any(a["patientId"] == "p-read" for a in
                   lib.expect(lib.get("/api/appointments?providerId=" + pid), 200)["appointments"])


def test_booking_scope_reschedules_and_cancels():
    pid = lib.make_provider()
    d = lib.future_date(weekday=1)
    _, key = lib.create_key("booking")
    r = call("POST", "/api/appointments", key, {"patientId": "p-b", "providerId": pid,
                                                 "startTime": lib.iso_z(lib.local_dt("Europe/Berlin", d, "10:00"))})
    a = lib.expect(r, 201)
    lib.expect(call("PUT", "/api/appointments/" + a["appointmentId"], key,
                    {"startTime": lib.iso_z(lib.local_dt("Europe/Berlin", d, "11:00"))}), 200)
    lib.expect(call("DELETE", "/api/appointments/" + a["appointmentId"], key), 200)


def test_revoked_key_refused_within_2s_on_every_worker():
    kid, key = lib.create_key("read", "to revoke")
    # Every worker has seen (and cached) the key.
    for _ in range(30):
        lib.expect(call("GET", "/api/appointments?limit=1", key), 200)
    lib.dev("ctl", "key", "revoke", kid)
    t0 = time.monotonic()
    time.sleep(max(0.0, 2.0 - (time.monotonic() - t0)))
    for _ in range(40):
        lib.check_error(call("GET", "/api/appointments?limit=1", key), 401, "UNAUTHORIZED")
    listing = lib.dev("ctl", "key", "list")
    line = [re.split(r"\s{2,}", l) for l in listing.splitlines() if l.startswith(kid)]
    assert line and line[0][1] == "read" and line[0][3] != "-" and line[0][4] == "to revoke", listing


def test_keys_stored_as_hashes_and_never_logged():
    kid, key = lib.create_key("admin", "hash check")
    lib.expect(call("GET", "/api/webhooks", key), 200)
    rows = lib.sql("SELECT key_hash = encode(sha256(convert_to(%s, 'UTF8')), 'hex'),"
                   " position(%s in key_hash || coalesce(name, '')) FROM api_keys WHERE id = %s"
                   % (lib.q(key), lib.q(key[4:20]), lib.q(kid)))
    assert rows == [["t", "0"]], rows
    logs = glob.glob(os.path.join(lib.VAR, "log", "*")) + glob.glob(os.path.join(lib.VAR, "nginx", "**", "*.log"),
                                                                    recursive=True)
    assert logs
    for path in logs:
        with open(path, "rb") as f:
            assert key.encode() not in f.read(), "the key appears in " + path


def test_ctl_rejects_bad_input():
    for args in (["key", "create"], ["key", "create", "--scope", "root"], ["key", "revoke", "nope"],
                 ["key", "revoke", lib.uuid4()], ["key", "frobnicate"]):
        try:
            lib.dev("ctl", *args)
        except AssertionError:
            continue
        raise AssertionError("appointctl %s succeeded" % " ".join(args))
