"""POST/GET/DELETE /api/keys: minting a key over HTTP (shown once, stored as
a hash, usable at once with its scope), the body's rules, the listing
(oldest first, revoked ones kept, never a key or a hash), revocation
(204 twice, the first revokedAt kept, unknown 404) refused within 2 s on
every worker, and the admin-only scope."""

import concurrent.futures
import re
import time

import lib

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def with_key(key):
    return {"Authorization": "Bearer " + key}


def call(method, path, key, body=None):
    return lib.request(method, path, body=body, headers=with_key(key), auth=False)


def mint(body):
    return lib.expect(lib.post("/api/keys", body), 201)


def listed(kid):
    keys = lib.expect(lib.get("/api/keys"), 200)["keys"]
    match = [k for k in keys if k["id"] == kid]
    assert len(match) == 1, (kid, keys)
    return match[0]


def test_create_shows_the_key_once_and_it_works():
    k = mint({"scope": "booking", "name": "front desk"})
    assert list(k) == ["id", "key", "scope", "name", "providerIds", "createdAt"], k
    assert k["scope"] == "booking" and k["name"] == "front desk" and k["providerIds"] is None
    assert re.match(r"^apd_[A-Za-z0-9_-]{43}$", k["key"]), k
    assert ISO_MS.match(k["createdAt"]), k
    # Stored only as a hash.
    rows = lib.sql("SELECT key_hash = encode(sha256(convert_to(%s, 'UTF8')), 'hex'), scope, name"
                   " FROM api_keys WHERE id = %s" % (lib.q(k["key"]), lib.q(k["id"])))
    assert rows == [["t", "booking", "front desk"]], rows
    # Usable at once, with exactly its scope.
    lib.expect(call("GET", "/api/appointments?limit=1", k["key"]), 200)
    lib.check_error(call("GET", "/api/events?limit=1", k["key"]), 403, "FORBIDDEN")
    lib.check_error(call("GET", "/api/keys", k["key"]), 403, "FORBIDDEN")
    # The listing shows it the same way, without the key.
    row = listed(k["id"])
    assert row == {"id": k["id"], "scope": "booking", "name": "front desk", "providerIds": None,
                   "createdAt": k["createdAt"], "revokedAt": None}, row
    # A key made over HTTP is one appointctl sees, and the other way round.
    assert k["id"] in lib.dev("ctl", "key", "list")
    cid, _ = lib.create_key("read", "from ctl")
    assert listed(cid)["name"] == "from ctl"


def test_create_defaults_and_scopes():
    for scope in ("read", "booking", "admin"):
        k = mint({"scope": scope})
        assert k["scope"] == scope and k["name"] is None and k["providerIds"] is None, k
    k = mint({"scope": "read", "name": None, "providerIds": None})
    assert k["name"] is None and k["providerIds"] is None
    k = mint({"scope": "admin", "name": "Zoë " + "x" * 196})
    assert k["name"] == "Zoë " + "x" * 196
    lib.expect(call("GET", "/api/keys", k["key"]), 200)
    # providerIds: 1..1000 distinct UUIDs, the providers need not exist.
    one = lib.uuid4()
    k = mint({"scope": "read", "providerIds": [one.upper()]})
    assert k["providerIds"] == [one], k                  # stored, canonical, echoed
    assert listed(k["id"])["providerIds"] == [one]
    many = [lib.uuid4() for _ in range(1000)]
    assert mint({"scope": "read", "providerIds": many})["providerIds"] == many


def test_create_validation():
    u = lib.uuid4()
    cases = [
        ({}, "scope"),
        ({"scope": None}, "scope"),
        ({"scope": "root"}, "scope"),
        ({"scope": "READ"}, "scope"),
        ({"scope": 1}, "scope"),
        ({"scope": "read", "name": ""}, "name"),
        ({"scope": "read", "name": "x" * 201}, "name"),
        ({"scope": "read", "name": "a\tb"}, "name"),
        ({"scope": "read", "name": "a\u0085b"}, "name"),
        ({"scope": "read", "name": 5}, "name"),
        ({"scope": "read", "providerIds": []}, "providerIds"),
        ({"scope": "read", "providerIds": u}, "providerIds"),
        ({"scope": "read", "providerIds": {}}, "providerIds"),
        ({"scope": "read", "providerIds": [lib.uuid4() for _ in range(1001)]}, "providerIds"),
        ({"scope": "read", "providerIds": ["nope"]}, "providerIds.0"),
        ({"scope": "read", "providerIds": [u, None]}, "providerIds.1"),
        ({"scope": "read", "providerIds": [u, u.upper()]}, "providerIds.1"),
    ]
    before = int(lib.sql_value("SELECT count(*) FROM api_keys"))
    for body, field in cases:
        lib.check_error(lib.post("/api/keys", body), 422, "VALIDATION_ERROR", field=field)
    for raw in ("[]", '"read"', "null"):
        r = lib.request("POST", "/api/keys", raw=raw, headers={"Content-Type": "application/json"})
        assert r.status in (400, 422), r
    assert int(lib.sql_value("SELECT count(*) FROM api_keys")) == before


def test_list_oldest_first_never_a_secret():
    a = mint({"scope": "read", "name": "list a"})
    b = mint({"scope": "admin", "name": "list b"})
    lib.expect(lib.delete("/api/keys/" + a["id"]), 204)
    r = lib.get("/api/keys")
    keys = lib.expect(r, 200)["keys"]
    assert list(lib.expect(r, 200)) == ["keys"]
    ids = [k["id"] for k in keys]
    assert ids.index(a["id"]) < ids.index(b["id"])
    created = [k["createdAt"] for k in keys]
    assert created == sorted(created)
    for k in keys:
        assert list(k) == ["id", "scope", "name", "providerIds", "createdAt", "revokedAt"], k
    hashes = lib.sql("SELECT key_hash FROM api_keys")
    for h in hashes:
        assert h[0] not in r.text
    assert a["key"] not in r.text and b["key"] not in r.text and "apd_" not in r.text
    ra = listed(a["id"])
    assert ISO_MS.match(ra["revokedAt"]) and ra["revokedAt"] >= ra["createdAt"], ra
    assert listed(b["id"])["revokedAt"] is None


def test_revoke_twice_keeps_the_first_time_and_unknown_is_404():
    k = mint({"scope": "read"})
    lib.expect(lib.delete("/api/keys/" + k["id"]), 204)
    first = listed(k["id"])["revokedAt"]
    time.sleep(0.05)
    r = lib.delete("/api/keys/" + k["id"].upper())
    assert r.status == 204 and r.body == b"", r
    assert listed(k["id"])["revokedAt"] == first
    lib.check_error(lib.delete("/api/keys/" + lib.uuid4()), 404, "NOT_FOUND")
    lib.check_error(lib.delete("/api/keys/not-a-uuid"), 404, "NOT_FOUND")


def test_revoked_over_http_refused_within_2s_on_every_worker():
    k = mint({"scope": "read", "name": "revoke over http"})
    n = max(40, 8 * len(lib.worker_pids()))

    def burst():
        with concurrent.futures.ThreadPoolExecutor(max_workers=n) as ex:
            return list(ex.map(lambda _: call("GET", "/api/appointments?limit=1", k["key"]).status,
                               range(n)))

    # Concurrent requests occupy every worker at once, so each one caches the key.
    assert burst() == [200] * n
    lib.expect(lib.delete("/api/keys/" + k["id"]), 204)
    time.sleep(2.0)
    for _ in range(2):
        assert burst() == [401] * n
    lib.check_error(call("GET", "/api/providers/%s/calendar.ics?token=x" % lib.uuid4(), k["key"]),
                    401, "UNAUTHORIZED")


def test_admin_only_and_methods():
    _, read = lib.create_key("read")
    _, booking = lib.create_key("booking")
    victim = mint({"scope": "read"})
    for key in (read, booking):
        lib.check_error(call("GET", "/api/keys", key), 403, "FORBIDDEN")
        lib.check_error(call("POST", "/api/keys", key, {"scope": "admin"}), 403, "FORBIDDEN")
        lib.check_error(call("DELETE", "/api/keys/" + victim["id"], key), 403, "FORBIDDEN")
    assert listed(victim["id"])["revokedAt"] is None
    lib.check_error(lib.get("/api/keys", auth=False), 401, "UNAUTHORIZED")
    for m in ("PUT", "DELETE", "PATCH"):
        r = lib.request(m, "/api/keys")
        assert r.status == 405, r
        assert sorted(x.strip() for x in r.headers["allow"].split(",")) in (["GET", "HEAD", "POST"],
                                                                             ["GET", "POST"]), r
    for m in ("GET", "POST", "PUT"):
        r = lib.request(m, "/api/keys/" + victim["id"])
        assert r.status == 405 and r.headers["allow"] == "DELETE", r
