"""Keys bound to providers (contract: Keys bound to providers). The route
walk reads lib/api/routes.c's table (test_openapi.route_rows), never a list
of its own: every route whose path names a provider, service, appointment or
hold is called with a key bound to provider A, for provider B's resource
(404, as unknown, and B's resource unchanged) and for A's (past tenancy: not
401/403/404). A route it cannot classify fails the walk, so a route added
later must be thought about here. Then: lists and filters, team calls with
one foreign provider, another provider's hold in a booking, bodies naming a
foreign provider, a bound admin key's schedule upserts, the calendar's
?token=, /api/events and /api/webhooks (every UNBOUND row: 403), and
`appointctl key list`."""

import datetime as dt
import itertools
import urllib.parse

import lib
from lib import (check_error, delete, expect, get, make_provider, now_utc, patient, post, put, request,
                 schedule_body, uuid4)
from test_openapi import route_rows

# The segment before a path's '*' says what the id names.
KINDS = {"providers": "provider", "services": "service", "appointments": "appointment", "holds": "hold"}
# Where a path id may start: a resource of one provider.
TENANT_ROOTS = ("/api/providers/*", "/api/appointments/*", "/api/holds/*")
# Routes without a path id that reach providers' data through their query or
# body, and the test below that holds each to the rule.
BODY_OR_QUERY_ROUTES = {
    ("GET", "/api/availability"): "test_team_calls_with_one_foreign_provider_are_404",
    ("POST", "/api/appointments"): "test_bodies_naming_a_foreign_provider_are_404",
    ("POST", "/api/holds"): "test_bodies_naming_a_foreign_provider_are_404",
    ("GET", "/api/appointments"): "test_lists_and_filters_see_only_own_providers",
}
SCOPES = {"READ": "read", "BOOKING": "booking", "ADMIN": "admin"}

_keys = {}
_slot = itertools.count()
DAY0 = (now_utc() + dt.timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)


def bound_key(scope, *providers):
    """A key of scope bound to providers (made once per combination)."""
    k = (scope,) + tuple(providers)
    if k not in _keys:
        _keys[k] = lib.create_key(scope, "tenancy", providers)[1]
    return _keys[k]


def auth(key):
    return {"Authorization": "Bearer " + key}


def next_start():
    """A fresh half-hour start, never used before in this module."""
    return lib.iso_z(DAY0 + dt.timedelta(minutes=30 * next(_slot)))


def provider():
    return make_provider("UTC")


def classify(row):
    """("open" | "unbound" | "body" | "path", kinds of the path's ids); fails for a route it
    cannot place."""
    name = "%s %s" % (row["method"], row["pattern"])
    if row["scope"] == "OPEN":
        assert not row["pattern"].startswith("/api/"), name + ": an open route under /api/"
        return "open", []
    if "UNBOUND" in row["flags"]:
        return "unbound", []
    segs = row["pattern"].split("/")
    if "*" not in segs:
        assert (row["method"], row["pattern"]) in BODY_OR_QUERY_ROUTES, (
            "%s: a route without a path id this test cannot classify: say how a bound key is "
            "held to its providers there (BODY_OR_QUERY_ROUTES and a test), or flag it UNBOUND" % name)
        return "body", []
    assert row["pattern"].startswith(TENANT_ROOTS), (
        "%s: a path id this test cannot classify (not under %s, not UNBOUND)" % (name, ", ".join(TENANT_ROOTS)))
    kinds = []
    for i, s in enumerate(segs):
        if s == "*":
            assert segs[i - 1] in KINDS, "%s: cannot tell what the id after %r names" % (name, segs[i - 1])
            kinds.append(KINDS[segs[i - 1]])
    return "path", kinds


def test_every_route_is_classified():
    """Each row of routes.c is open, for unbound keys only, reaches providers through its
    query or body (tested below), or has path ids this test knows; none is left over."""
    rows = route_rows()
    seen = {}
    for row in rows:
        seen.setdefault(classify(row)[0], []).append((row["method"], row["pattern"]))
    assert set(BODY_OR_QUERY_ROUTES) <= set(seen.get("body", [])), "a route of BODY_OR_QUERY_ROUTES left routes.c"
    assert len(seen.get("path", [])) >= 16, seen
    for r in (("GET", "/api/events"), ("POST", "/api/webhooks"), ("GET", "/api/webhooks")):
        assert r in seen.get("unbound", []), "%s %s must be UNBOUND in routes.c" % r


# ------------------------------------------------------------------ the walk
class Tenant:
    """A provider with its own service, appointment and hold, made for one route's call."""

    def __init__(self, pid, n):
        self.provider = pid
        self.service = "tn-%d" % n
        r = put("/api/providers/%s/services/%s" % (pid, self.service), {"name": "Tenancy %d" % n, "duration": 30})
        assert r.status in (200, 201), r
        self.start = next_start()
        self.appointment = expect(lib.book(pid, self.start), 201)["appointmentId"]
        self.hold = expect(post("/api/holds", {"providerId": pid, "startTime": next_start()}), 201)["holdId"]

    def ids(self, kinds):
        return [getattr(self, k) for k in kinds]

    def state(self):
        """What an unbound key sees of this tenant's resources (to show a refused call changed nothing)."""
        a = expect(get("/api/appointments/" + self.appointment), 200)
        h = get("/api/holds/" + self.hold)
        s = get("/api/providers/%s/services/%s" % (self.provider, self.service))
        p = expect(get("/api/providers/" + self.provider), 200)
        return (a["status"], a["version"], a["startTime"], h.status, s.status,
                s.json.get("active") if s.status == 200 else None, p.get("updatedAt"))


def fill(pattern, ids):
    it = iter(ids)
    return "/".join(urllib.parse.quote(next(it), safe="") if s == "*" else s for s in pattern.split("/"))


def body_for(row, tenant):
    """A body that gets past the handler's checks where that is easy (else a 4xx past tenancy)."""
    if not row["takes_json"]:
        return None
    p = row["pattern"]
    if p.endswith("/schedule"):
        return schedule_body("UTC")
    if "/services/" in p:
        return {"name": "Tenancy walk", "duration": 30}
    if p.endswith("/attendance"):
        return {"attendance": "ATTENDED"}
    if p == "/api/appointments/*":
        return {"startTime": tenant.start}
    return {}


def query_for(row):
    if row["pattern"].endswith("/availability"):
        return "?date=" + DAY0.date().isoformat()
    return ""


def call(row, tenant, key, kinds, token=False):
    path = fill(row["pattern"], tenant.ids(kinds)) + query_for(row)
    body = body_for(row, tenant)
    if token:
        sep = "&" if "?" in path else "?"
        return request(row["method"], path + sep + "token=" + key, body=body, auth=False)
    return request(row["method"], path, body=body, headers=auth(key))


def walk_one(row, kinds, a, b, n):
    """B's resource: 404 as unknown, unchanged; A's: past tenancy. Returns A's status."""
    name = "%s %s" % (row["method"], row["pattern"])
    key = bound_key(SCOPES[row["scope"]], a)
    ta, tb = Tenant(a, 2 * n), Tenant(b, 2 * n + 1)
    before = tb.state()
    for token in ([False, True] if row["query_token"] else [False]):
        r = call(row, tb, key, kinds, token)
        assert r.status == 404 and r.json["error"]["code"] == "NOT_FOUND", (
            "%s: a key bound to A reached B's resource%s: %r" % (name, " by ?token=" if token else "", r))
    assert tb.state() == before, name + ": B's resource changed by a refused call"
    statuses = []
    for token in ([False, True] if row["query_token"] else [False]):
        r = call(row, ta, key, kinds, token)
        assert r.status not in (401, 403, 404) and r.status < 500, (
            "%s: a key bound to A was refused its own resource: %r" % (name, r))
        statuses.append(r.status)
    return statuses


def test_route_walk_bound_key_sees_only_its_providers():
    """Every route naming a provider, service, appointment or hold in its path."""
    a, b = provider(), provider()
    report = {}
    for n, row in enumerate(route_rows()):
        what, kinds = classify(row)
        if what != "path":
            continue
        report["%s %s" % (row["method"], row["pattern"])] = walk_one(row, kinds, a, b, n)
    assert len(report) >= 16, report
    # Most of A's calls succeed outright; a few are 4xx for the state made here.
    ok = [k for k, v in report.items() if all(200 <= s < 300 for s in v)]
    assert len(ok) >= len(report) - 3, report


# ------------------------------------------------------------------ the rest
def test_lists_and_filters_see_only_own_providers():
    a, b = provider(), provider()
    key = bound_key("read", a)
    pat = patient()
    mine = [expect(lib.book(a, next_start(), pat), 201)["appointmentId"] for _ in range(3)]
    theirs = expect(lib.book(b, next_start(), pat), 201)["appointmentId"]

    def ids(query):
        j = expect(get("/api/appointments?" + urllib.parse.urlencode(query), headers=auth(key)), 200)
        return [x["appointmentId"] for x in j["appointments"]], j["nextCursor"]

    got, _ = ids({"patientId": pat})
    assert got == mine, got
    assert ids({"providerId": b}) == ([], None)
    assert ids({"providerId": b, "patientId": pat}) == ([], None)
    assert ids({"providerId": a, "patientId": pat})[0] == mine
    # Paging stays inside the key's providers.
    page, cur = ids({"patientId": pat, "limit": 2})
    assert page == mine[:2] and cur
    assert ids({"patientId": pat, "limit": 2, "cursor": cur}) == (mine[2:], None)
    # An unbound key still sees both.
    j = expect(get("/api/appointments?" + urllib.parse.urlencode({"patientId": pat})), 200)
    assert [x["appointmentId"] for x in j["appointments"]] == mine + [theirs], j


def test_team_calls_with_one_foreign_provider_are_404():
    a, a2, b = provider(), provider(), provider()
    rkey, bkey = bound_key("read", a, a2), bound_key("booking", a, a2)
    date = DAY0.date().isoformat()

    def team_avail(pids, key=None):
        q = urllib.parse.urlencode({"providerIds": ",".join(pids), "date": date})
        return get("/api/availability?" + q, headers=auth(key) if key else None)

    expect(team_avail([a, a2, b]), 200)               # unbound: all three
    expect(team_avail([a, a2], rkey), 200)
    for pids in ([a, b, a2], [b, a], [a, a2, b]):
        r = team_avail(pids, rkey)
        unknown = team_avail([x if x != b else uuid4() for x in pids])
        assert r.status == unknown.status == 404, (r, unknown)
        assert b in r.json["error"]["message"], r
    start = next_start()
    body = {"patientId": patient(), "providerIds": [a, b], "startTime": start}
    r = post("/api/appointments", body, headers=auth(bkey))
    check_error(r, 404, "NOT_FOUND")
    assert b in r.json["error"]["message"], r
    body["providerIds"] = [b, a]
    check_error(post("/api/appointments", body, headers=auth(bkey)), 404, "NOT_FOUND")
    assert lib.sql_value("SELECT count(*) FROM appointments WHERE start_at = %s::timestamptz"
                         " AND provider_id IN (%s, %s)" % (lib.q(start), lib.q(a), lib.q(b))) == "0"
    body["providerIds"] = [a, a2]
    assert expect(post("/api/appointments", body, headers=auth(bkey)), 201)["providerId"] in (a, a2)


def test_another_providers_hold_in_a_booking_is_unknown():
    """A bound key booking its own provider with B's holdId books as if no hold were named;
    B's hold stays live. (An unbound key gets the 422 of a hold of another provider.)"""
    a, b = provider(), provider()
    key = bound_key("booking", a)
    start = next_start()
    hb = expect(post("/api/holds", {"providerId": b, "startTime": start}), 201)["holdId"]
    body = {"patientId": patient(), "providerId": a, "startTime": start, "holdId": hb}
    check_error(post("/api/appointments", body), 422, "VALIDATION_ERROR", "holdId")
    j = expect(post("/api/appointments", body, headers=auth(key)), 201)
    assert j["providerId"] == a, j
    assert expect(get("/api/holds/" + hb), 200)["holdId"] == hb       # not converted
    # The same with a team booking.
    start2 = next_start()
    hb2 = expect(post("/api/holds", {"providerId": b, "startTime": start2}), 201)["holdId"]
    a2 = provider()
    key2 = bound_key("booking", a, a2)
    body = {"patientId": patient(), "providerIds": [a, a2], "startTime": start2, "holdId": hb2}
    assert expect(post("/api/appointments", body, headers=auth(key2)), 201)["providerId"] in (a, a2)
    expect(get("/api/holds/" + hb2), 200)
    # Nor can it see or release B's hold.
    check_error(get("/api/holds/" + hb2, headers=auth(key2)), 404, "NOT_FOUND")
    check_error(delete("/api/holds/" + hb2, headers=auth(key2)), 404, "NOT_FOUND")
    expect(get("/api/holds/" + hb2), 200)


def test_bodies_naming_a_foreign_provider_are_404():
    a, b = provider(), provider()
    key = bound_key("booking", a)
    for path, extra in (("/api/appointments", {"patientId": patient()}), ("/api/holds", {})):
        for pid in (b, uuid4()):                      # foreign, unknown: the same answer
            body = dict(extra, providerId=pid, startTime=next_start())
            r = post(path, body, headers=auth(key))
            check_error(r, 404, "NOT_FOUND")
            assert r.json["error"]["message"] == "Provider not found.", r
        body = dict(extra, providerId=a, startTime=next_start())
        expect(post(path, body, headers=auth(key)), 201)
    assert lib.sql_value("SELECT count(*) FROM appointments WHERE provider_id = %s" % lib.q(b)) == "0"


def test_bound_admin_key_upserts_only_its_own_schedules():
    a, b = provider(), provider()
    new_own, stranger = uuid4(), uuid4()
    key = bound_key("admin", a, new_own)
    sched = schedule_body("UTC", appointmentDuration=45)
    before = expect(get("/api/providers/" + b), 200)
    for pid in (b, stranger):                         # existing or not: 404
        r = post("/api/providers/%s/schedule" % pid, sched, headers=auth(key))
        check_error(r, 404, "NOT_FOUND")
    assert expect(get("/api/providers/" + b), 200) == before
    check_error(get("/api/providers/" + stranger), 404, "NOT_FOUND")   # not created
    expect(post("/api/providers/%s/schedule" % a, sched, headers=auth(key)), 200)
    expect(post("/api/providers/%s/schedule" % new_own, sched, headers=auth(key)), 200)   # created
    assert expect(get("/api/providers/" + new_own, headers=auth(key)), 200)["appointmentDuration"] == 45
    # Its own services too, not another's.
    r = put("/api/providers/%s/services/own-svc" % new_own, {"name": "Own", "duration": 30}, headers=auth(key))
    assert r.status == 201, r
    check_error(put("/api/providers/%s/services/own-svc" % b, {"name": "Theirs", "duration": 30}, headers=auth(key)),
                404, "NOT_FOUND")
    check_error(get("/api/providers/%s/services/own-svc" % b), 404, "NOT_FOUND")


def test_calendar_token_of_a_bound_read_key_opens_only_its_feeds():
    a, b = provider(), provider()
    key = bound_key("read", a)
    r = get("/api/providers/%s/calendar.ics?token=%s" % (a, key), auth=False)
    assert r.status == 200 and r.headers["content-type"].startswith("text/calendar"), r
    check_error(get("/api/providers/%s/calendar.ics?token=%s" % (b, key), auth=False), 404, "NOT_FOUND")
    # And the same key lists nobody else's patients.
    expect(lib.book(b, next_start()), 201)
    j = expect(get("/api/appointments?providerId=" + b, headers=auth(key)), 200)
    assert j["appointments"] == [], j


def test_unbound_routes_are_403_to_bound_keys_whatever_the_scope():
    """Every UNBOUND row of routes.c (/api/events, /api/webhooks..., /api/keys...)."""
    a = provider()
    rows = [r for r in route_rows() if "UNBOUND" in r["flags"]]
    assert rows
    for row in rows:
        path = fill(row["pattern"], [uuid4() for _ in range(row["pattern"].count("*"))])
        body = {} if row["takes_json"] else None
        for scope in ("read", "booking", "admin"):
            r = request(row["method"], path, body=body, headers=auth(bound_key(scope, a)))
            check_error(r, 403, "FORBIDDEN")
        r = request(row["method"], path, body=body)        # the unbound admin key gets past it
        assert r.status != 403, r
    expect(get("/api/events?limit=1"), 200)


def test_key_list_shows_providers():
    a, b = provider(), provider()
    kid = lib.create_key("read", "listed", (b, a))[0]
    line = [l for l in lib.dev("ctl", "key", "list").splitlines() if l.startswith(kid)]
    assert len(line) == 1 and a in line[0] and b in line[0], line
    unbound = lib.create_key("read", "unbound-listed")[0]
    line = [l for l in lib.dev("ctl", "key", "list").splitlines() if l.startswith(unbound)]
    assert len(line) == 1 and a not in line[0], line
