"""Webhook subscriptions (the API) and their delivery by appointd-relay to a
real local receiver (receiver.py): signatures, exact bytes, retries, failure
and manual retry, filters, 410, Retry-After, outages, per-appointment order,
several relays, and relays stopped or killed mid-delivery.

The stack runs with APPOINTD_RELAY_RETRY=1,1,2 (4 attempts in all) and
APPOINTD_RELAY_TIMEOUT_MS=3000. Every test deletes the webhooks it made and
looks only at the arrivals of the provider (or patients) it made."""

import base64
import collections
import datetime as dt
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

from lib import (VAR, assert_utc_ms, book, book_ok, cancel, check_error, delete, expect,
                 future_date, get, make_provider, minutes, now_utc, outbox, parse_instant, patient,
                 outbox_bytes, post, request, reschedule, sql, uuid4, wait_until)
from receiver import Receiver

BUILD_DIR = os.environ.get("APPOINTD_BUILD_DIR") or os.path.join(VAR, "build-default")
RELAY = os.path.join(BUILD_DIR, "app", "appointd-relay")
CONF = os.path.join(VAR, "etc", "appointd.conf")
RELAY_PIDFILE = os.path.join(VAR, "run", "appointd-relay.pid")

TYPES = ["APPOINTMENT_CONFIRMED", "APPOINTMENT_RESCHEDULED", "APPOINTMENT_CANCELLED",
         "PROVIDER_SCHEDULE_UPDATED"]
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
EVT_RE = re.compile(r"^evt_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HOOK_KEYS = {"id", "url", "eventTypes", "description", "active", "createdAt"}
DELIVERY_KEYS = {"id", "sequence", "eventId", "eventType", "status", "attempts", "lastStatusCode",
                 "lastError", "nextAttemptAt", "deliveredAt"}


def day_at(d, hm):
    return "%sT%s:00.000Z" % (d, hm)


# ------------------------------------------------------------------ API helpers
class Hooks:
    """Creates webhooks and deletes every one of them on exit."""

    def __init__(self, recv=None):
        self.recv = recv
        self.ids = []

    def create(self, path="/hook", url=None, **fields):
        body = {"url": url if url is not None else self.recv.url(path)}
        body.update(fields)
        r = post("/api/webhooks", body)
        j = expect(r, 201)
        self.ids.append(j["id"])
        if self.recv is not None and url is None:
            self.recv.set_secret(j["secret"], path)
        return j

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for i in self.ids:
            try:
                delete("/api/webhooks/%s" % i)
            except Exception:  # noqa: BLE001 - best effort; the test's own error matters more
                pass
        return False


def hook_get(wid):
    return expect(get("/api/webhooks/%s" % wid), 200)


def deliveries_r(wid, **params):
    return get("/api/webhooks/%s/deliveries%s" % (wid, "?" + urllib.parse.urlencode(params) if params else ""))


def deliveries(wid, **params):
    r = deliveries_r(wid, **params)
    j = expect(r, 200)
    assert isinstance(j, dict) and isinstance(j.get("deliveries"), list), r
    for x in j["deliveries"]:
        check_delivery(x)
    seqs = [x["sequence"] for x in j["deliveries"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs), \
        "deliveries not newest first: %r" % seqs
    return j["deliveries"]


def all_deliveries(wid, **params):
    """Every delivery of the webhook (paging with before)."""
    out = []
    before = None
    while True:
        p = dict(params, limit=500)
        if before is not None:
            p["before"] = before
        page = deliveries(wid, **p)
        out.extend(page)
        if len(page) < 500:
            return out
        before = page[-1]["sequence"]


def delivery_of(wid, event_id):
    for x in all_deliveries(wid):
        if x["eventId"] == event_id:
            return x
    return None


def wait_delivery(wid, event_id, pred=lambda x: True, timeout=15):
    def f():
        x = delivery_of(wid, event_id)
        return x if x is not None and pred(x) else None
    x = wait_until(f, timeout=timeout, interval=0.1)
    assert x, "delivery of %s to %s never became as expected: %r" % (event_id, wid, delivery_of(wid, event_id))
    return x


def is_status(s):
    return lambda x: x["status"] == s


def check_delivery(x):
    assert isinstance(x, dict) and DELIVERY_KEYS <= set(x), "delivery lacks fields: %r" % x
    assert UUID_RE.match(x["id"]), x
    assert isinstance(x["sequence"], int) and x["sequence"] > 0, x
    assert EVT_RE.match(x["eventId"]), x
    assert x["eventType"] in TYPES + ["SERVICE_UPDATED"], x   # an all-types hook gets every type
    assert x["status"] in ("pending", "delivered", "failed"), x
    assert isinstance(x["attempts"], int) and x["attempts"] >= 0, x
    assert x["lastStatusCode"] is None or isinstance(x["lastStatusCode"], int), x
    assert x["lastError"] is None or isinstance(x["lastError"], str), x
    if x["status"] == "pending":
        assert_utc_ms(x["nextAttemptAt"], "nextAttemptAt")
    else:
        assert x["nextAttemptAt"] is None, x
    if x["status"] == "delivered":
        assert_utc_ms(x["deliveredAt"], "deliveredAt")
        assert x["attempts"] >= 1, x
    else:
        assert x["deliveredAt"] is None, x


def retry_r(wid, did):
    return post("/api/webhooks/%s/deliveries/%s/retry" % (wid, did))


def event_ids(aggregate_id):
    """{eventType: eventId} of one aggregate's events (from the outbox)."""
    return {r["event_type"]: r["envelope"]["eventId"] for r in outbox(aggregate_id=aggregate_id)}


def feed_event(seq):
    j = expect(get("/api/events?after=%d&limit=1" % (seq - 1)), 200)
    assert j["events"] and j["events"][0]["sequence"] == seq, (seq, j)
    return j["events"][0]


def check_arrival(a, path=None):
    """A well-formed Standard Webhooks delivery of an outbox event."""
    assert a.method == "POST", a
    if path is not None:
        assert a.path == path, a
    ct = (a.content_type or "").split(";")[0].strip().lower()
    assert ct == "application/json", "content-type %r: %r" % (a.content_type, a)
    assert isinstance(a.json, dict) and a.webhook_id == a.json.get("eventId"), \
        "webhook-id %r vs body eventId: %r" % (a.webhook_id, a.json)
    assert a.timestamp and re.fullmatch(r"[0-9]+", a.timestamp), "webhook-timestamp %r" % a.timestamp
    assert abs(int(a.timestamp) - a.wall) < 300, "webhook-timestamp %s is not now (%d)" % (a.timestamp, a.wall)
    assert a.sig_ok, "bad signature %r on %r" % (a.signature, a)
    assert a.body == outbox_bytes(a.webhook_id), "body differs from the outbox payload: %r" % a.body[:300]


def ok_ids(arrivals):
    return {a.webhook_id for a in arrivals if a.ok}


# ------------------------------------------------------------------ relay processes
def pid_exists(pid):
    """True while the process exists, a zombie included (kill -0 succeeds on
    one, so a relay's pidfile check still sees it as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def pid_running(pid):
    """Exists and is not a zombie."""
    if not pid_exists(pid):
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def relay_pid():
    try:
        with open(RELAY_PIDFILE) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def standard_relay():
    """The pid of the running standard relay, or None."""
    p = relay_pid()
    return p if p and pid_running(p) else None


def start_standard_relay():
    """Start the standard relay the way ./dev up does (detached), wait for its pidfile."""
    old = relay_pid()
    if old and not pid_running(old):
        wait_gone(old)      # a dead relay must be reaped first: its pidfile still counts while a zombie
    out = os.path.join(VAR, "log", "appointd-relay.out")
    cmd = "setsid %s -c %s </dev/null >>%s 2>&1 &" % (shlex.quote(RELAY), shlex.quote(CONF), shlex.quote(out))
    subprocess.run(["sh", "-c", cmd], check=True, timeout=10)

    def up():
        p = relay_pid()
        return p if p and p != old and pid_running(p) else None
    pid = wait_until(up, timeout=10)
    if not pid:
        try:
            with open(out, errors="replace") as f:
                tail = f.read()[-1500:]
        except OSError:
            tail = ""
        raise AssertionError("the relay did not start (pidfile %s: %r): %s" % (RELAY_PIDFILE, relay_pid(), tail))
    return pid


def ensure_standard_relay():
    if not standard_relay():
        start_standard_relay()


def wait_gone(pid, timeout=15):
    """Wait until the process has exited and been reaped."""
    return wait_until(lambda: not pid_exists(pid), timeout=timeout, interval=0.05)


class ExtraRelay:
    """A second relay on the same configuration, with its own pidfile and log."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="relay2-", dir=os.path.join(VAR, "run"))
        os.chmod(self.dir, 0o777)
        self.log = os.path.join(self.dir, "relay.log")
        env = dict(os.environ, APPOINTD_RELAY_PIDFILE=os.path.join(self.dir, "relay.pid"),
                   APPOINTD_RELAY_LOG_PATH=self.log)
        self.out = open(os.path.join(self.dir, "relay.out"), "ab")
        self.proc = subprocess.Popen([RELAY, "-c", CONF], env=env, stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        text = ""
        for p in (os.path.join(self.dir, "relay.out"), self.log):
            try:
                with open(p, errors="replace") as f:
                    text += f.read()[-1000:]
            except OSError:
                pass
        return text

    def stop(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.out.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode


# ------------------------------------------------------------------ the API
def test_webhook_create_get_list_delete():
    with Hooks() as hooks:
        t0 = now_utc()
        r = post("/api/webhooks", {"url": "https://example.com/hooks?x=1", "eventTypes": ["APPOINTMENT_CONFIRMED", "APPOINTMENT_CANCELLED"],
                                   "description": "CRM sync é"})
        j = expect(r, 201)
        hooks.ids.append(j["id"])
        assert HOOK_KEYS | {"secret"} <= set(j), j
        assert UUID_RE.match(j["id"]), j
        assert j["url"] == "https://example.com/hooks?x=1", j
        assert j["eventTypes"] == ["APPOINTMENT_CONFIRMED", "APPOINTMENT_CANCELLED"], j
        assert j["description"] == "CRM sync é" and j["active"] is True, j
        assert_utc_ms(j["createdAt"], "createdAt")
        assert abs((parse_instant(j["createdAt"]) - t0).total_seconds()) < 300, j
        assert r.headers.get("location", "").endswith("/api/webhooks/%s" % j["id"]), r.headers
        assert r.headers.get("content-type", "").startswith("application/json"), r.headers
        m = re.fullmatch(r"whsec_([A-Za-z0-9+/]+={0,2})", j["secret"])
        assert m and len(base64.b64decode(m.group(1), validate=True)) == 32, j["secret"]

        # omitted and null eventTypes / description read back as null
        j2 = hooks.create(url="http://127.0.0.1:9/b")
        assert j2["eventTypes"] is None and j2["description"] is None and j2["active"] is True, j2
        j3 = hooks.create(url="http://127.0.0.1:9/c", eventTypes=None, description=None)
        assert j3["eventTypes"] is None and j3["description"] is None, j3
        j4 = hooks.create(url="http://[::1]:8080/d", eventTypes=list(TYPES), description="x" * 500)
        assert j4["eventTypes"] == TYPES and j4["description"] == "x" * 500, j4
        assert len({j["secret"], j2["secret"], j3["secret"], j4["secret"]}) == 4

        for made in (j, j2, j3, j4):
            g = hook_get(made["id"])
            assert "secret" not in g, g
            assert HOOK_KEYS <= set(g), g
            assert {k: g[k] for k in HOOK_KEYS} == {k: made[k] for k in HOOK_KEYS}, (g, made)
        lst = expect(get("/api/webhooks"), 200)
        assert isinstance(lst, dict) and isinstance(lst.get("webhooks"), list), lst
        assert all("secret" not in w for w in lst["webhooks"]), lst
        ids = [w["id"] for w in lst["webhooks"]]
        pos = [ids.index(x["id"]) for x in (j, j2, j3, j4)]
        assert pos == sorted(pos), "not oldest first: %r" % pos
        created = [w["createdAt"] for w in lst["webhooks"]]
        assert created == sorted(created), created
        assert next(w for w in lst["webhooks"] if w["id"] == j["id"]) == hook_get(j["id"])

        r = delete("/api/webhooks/%s" % j["id"])
        assert r.status == 204 and r.body == b"", r
        check_error(get("/api/webhooks/%s" % j["id"]), 404, "NOT_FOUND")
        check_error(delete("/api/webhooks/%s" % j["id"]), 404, "NOT_FOUND")
        check_error(deliveries_r(j["id"]), 404, "NOT_FOUND")
        assert j["id"] not in [w["id"] for w in expect(get("/api/webhooks"), 200)["webhooks"]]
        hook_get(j2["id"])


def test_webhook_create_validation():
    long_ok = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    assert len(long_ok) == 2048
    with Hooks() as hooks:
        def rejected(body, status=422, code="VALIDATION_ERROR", **kw):
            r = post("/api/webhooks", body) if isinstance(body, dict) else body
            if r.status == 201 and isinstance(r.json, dict) and r.json.get("id"):
                hooks.ids.append(r.json["id"])      # accepted by mistake: still cleaned up
            check_error(r, status, code, **kw)
        for bad in ("ftp://x", "http://", "https://", "not a url", "", "/relative/path", "//example.com/x",
                    "example.com/x", "mailto:a@example.com", "file:///etc/passwd", "http://exa mple.com/",
                    "http://example.com/\u00e9", "http://example.com/a\nb",
                    long_ok + "a", "https://example.com/" + "b" * 5000, 42, None, True,
                    ["http://example.com"], {"href": "http://example.com"}):
            rejected({"url": bad}, field="url")
        rejected({}, field="url")
        rejected({"eventTypes": ["APPOINTMENT_CONFIRMED"]}, field="url")
        rejected(request("POST", "/api/webhooks", raw="[]", headers={"Content-Type": "application/json"}))
        u = "http://127.0.0.1:9/v"
        for bad, field in ((["NOPE"], "eventTypes.0"),
                           (["APPOINTMENT_CONFIRMED", "NOPE"], "eventTypes.1"),
                           (["appointment_confirmed"], "eventTypes.0"),
                           ([5], "eventTypes.0"),
                           ([None], "eventTypes.0"),
                           ([], "eventTypes"),
                           ("APPOINTMENT_CONFIRMED", "eventTypes"),
                           (5, "eventTypes"),
                           ({"0": "APPOINTMENT_CONFIRMED"}, "eventTypes")):
            rejected({"url": u, "eventTypes": bad}, field=field)
        rejected({"url": u, "eventTypes": ["APPOINTMENT_CONFIRMED", "APPOINTMENT_CONFIRMED"]}, prefix="eventTypes")
        for bad in (5, True, ["x"], {"a": 1}, "d" * 501):
            rejected({"url": u, "description": bad}, field="description")
        rejected(request("POST", "/api/webhooks", raw='{"url": ', headers={"Content-Type": "application/json"}),
                 400, "BAD_REQUEST")
        rejected(request("POST", "/api/webhooks", raw='{"url": "http://127.0.0.1:9/"}',
                         headers={"Content-Type": "text/plain"}), 415, "UNSUPPORTED_MEDIA_TYPE")
        # nothing was created by any of those
        mine = [w for w in expect(get("/api/webhooks"), 200)["webhooks"]
                if w["url"] in (u, long_ok + "a") or w["url"].startswith("ftp:")]
        assert mine == [], mine
        # the accepted edges
        for good in (long_ok, "http://127.0.0.1:1/x", "https://example.com", "HTTPS://EXAMPLE.COM/up",
                     "http://[::1]:8080/", "http://localhost/a?b=c#frag"):
            hooks.create(url=good)
        assert hook_get(hooks.ids[0])["url"] == long_ok


def test_webhook_routes_404_405():
    with Hooks() as hooks:
        w = hooks.create(url="http://127.0.0.1:9/r")
        wid = w["id"]
        for bad in (uuid4(), "123", "not-a-uuid", wid + "0"):
            check_error(get("/api/webhooks/%s" % bad), 404, "NOT_FOUND")
            check_error(delete("/api/webhooks/%s" % bad), 404, "NOT_FOUND")
            check_error(deliveries_r(bad), 404, "NOT_FOUND")
            check_error(retry_r(bad, uuid4()), 404, "NOT_FOUND")
        check_error(retry_r(wid, uuid4()), 404, "NOT_FOUND")
        check_error(retry_r(wid, "nope"), 404, "NOT_FOUND")
        for method, path in (("PUT", "/api/webhooks"), ("PATCH", "/api/webhooks"), ("DELETE", "/api/webhooks"),
                             ("PUT", "/api/webhooks/%s" % wid), ("PATCH", "/api/webhooks/%s" % wid),
                             ("POST", "/api/webhooks/%s" % wid),
                             ("POST", "/api/webhooks/%s/deliveries" % wid),
                             ("DELETE", "/api/webhooks/%s/deliveries" % wid),
                             ("GET", "/api/webhooks/%s/deliveries/%s/retry" % (wid, uuid4())),
                             ("PUT", "/api/webhooks/%s/deliveries/%s/retry" % (wid, uuid4())),
                             ("DELETE", "/api/webhooks/%s/deliveries/%s/retry" % (wid, uuid4()))):
            r = request(method, path)
            check_error(r, 405, "METHOD_NOT_ALLOWED")
            assert r.headers.get("allow"), (method, path, r.headers)
        hook_get(wid)   # none of that changed it


def test_deliveries_query_validation():
    with Hooks() as hooks:
        wid = hooks.create(url="http://127.0.0.1:9/q")["id"]
        assert deliveries(wid) == []
        for params, field in (({"status": "bogus"}, "status"), ({"status": ""}, "status"),
                              ({"status": "PENDING"}, "status"),
                              ({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"), ({"limit": "x"}, "limit"),
                              ({"limit": "-1"}, "limit"),
                              ({"before": "x"}, "before"), ({"before": "-1"}, "before"), ({"before": "1.5"}, "before"),
                              ({"eventType": "NOPE"}, "eventType"), ({"eventType": ""}, "eventType")):
            check_error(deliveries_r(wid, **params), 422, "VALIDATION_ERROR", field=field)
        for s in ("pending", "delivered", "failed"):
            assert deliveries(wid, status=s) == []
        assert deliveries(wid, limit=1) == [] and deliveries(wid, limit=500) == []
        assert deliveries(wid, before=1, eventType="APPOINTMENT_CANCELLED") == []


# ------------------------------------------------------------------ delivery
def test_delivery_of_every_event_type_signed_exact_bytes():
    pid = uuid4()
    d = future_date()
    p = "wh-\"é\"-" + uuid4()[:8]
    reason = "moved \"away\" / ü"
    with Receiver() as recv, Hooks(recv) as hooks:
        w = hooks.create("/all")
        make_provider("UTC", provider_id=pid)
        a = book_ok(pid, day_at(d, "10:00"), p)
        aid = a["appointmentId"]
        expect(reschedule(aid, day_at(d, "11:00")), 200)
        expect(cancel(aid, reason), 200)
        got = recv.wait(lambda arr: len(ok_ids(arr)) >= 4, timeout=15, provider=pid)
        assert got, "not all 4 events arrived: %r" % recv.arrivals(provider=pid)
        ev = event_ids(aid)
        ev.update(event_ids(pid))
        assert set(ev) == set(TYPES), ev
        arr = recv.arrivals(provider=pid)
        for x in arr:
            check_arrival(x, "/all")
        assert sorted(x.webhook_id for x in arr) == sorted(ev.values()), \
            "each event once, nothing else: %r" % arr
        assert all(x.status == 204 and x.attempt == 1 for x in arr), arr
        appt = [x.event_type for x in arr if x.appointment_id == aid]
        assert appt == ["APPOINTMENT_CONFIRMED", "APPOINTMENT_RESCHEDULED", "APPOINTMENT_CANCELLED"], appt
        by_type = {x.event_type: x.json for x in arr}
        assert by_type["PROVIDER_SCHEDULE_UPDATED"]["payload"] == {"providerId": pid}
        # [ext] APPOINTMENT_* payloads also carry serviceId and the status after the change
        svc = {"serviceId": "default"}
        assert by_type["APPOINTMENT_CONFIRMED"]["payload"] == dict(svc, **{
            "appointmentId": aid, "patientId": p, "providerId": pid, "status": "CONFIRMED",
            "appointmentTime": day_at(d, "10:00"), "endTime": day_at(d, "10:30")})
        assert by_type["APPOINTMENT_RESCHEDULED"]["payload"] == dict(svc, **{
            "appointmentId": aid, "patientId": p, "providerId": pid, "status": "CONFIRMED",
            "newAppointmentTime": day_at(d, "11:00"),
            "previousAppointmentTime": day_at(d, "10:00"), "endTime": day_at(d, "11:30")})
        assert by_type["APPOINTMENT_CANCELLED"]["payload"] == dict(svc, **{
            "appointmentId": aid, "reason": reason, "patientId": p, "providerId": pid,
            "status": "CANCELLED", "appointmentTime": day_at(d, "11:00")})
        for t, body in by_type.items():
            assert body["eventType"] == t and body["eventId"] == ev[t], body
            assert_utc_ms(body["timestamp"], "envelope timestamp")

        # the delivery log
        ds = {}
        for t in TYPES:
            ds[t] = wait_delivery(w["id"], ev[t], is_status("delivered"))
        for t, x in ds.items():
            assert x["eventType"] == t and x["attempts"] == 1 and x["lastStatusCode"] == 204, x
            # the same sequence as the feed, and the feed's event is what arrived
            fe = feed_event(x["sequence"])
            assert fe["eventId"] == ev[t], (fe, x)
            assert {k: v for k, v in fe.items() if k != "sequence"} == by_type[t], (fe, by_type[t])
        order = [ds[t]["sequence"] for t in ("PROVIDER_SCHEDULE_UPDATED", "APPOINTMENT_CONFIRMED",
                                             "APPOINTMENT_RESCHEDULED", "APPOINTMENT_CANCELLED")]
        assert order == sorted(order), order
        # newest first, pages with before
        top = order[-1]
        p1 = deliveries(w["id"], before=top + 1, limit=2)
        assert [x["eventId"] for x in p1] == [ev["APPOINTMENT_CANCELLED"], ev["APPOINTMENT_RESCHEDULED"]], p1
        p2 = deliveries(w["id"], before=p1[-1]["sequence"], limit=2)
        assert [x["eventId"] for x in p2] == [ev["APPOINTMENT_CONFIRMED"], ev["PROVIDER_SCHEDULE_UPDATED"]], p2
        assert p1 + p2 == [x for x in deliveries(w["id"]) if x["sequence"] <= top][:4]
        # filters
        mine = set(ev.values())
        assert mine <= {x["eventId"] for x in deliveries(w["id"], status="delivered")}
        assert not mine & {x["eventId"] for x in deliveries(w["id"], status="pending")}
        assert not mine & {x["eventId"] for x in deliveries(w["id"], status="failed")}
        c = deliveries(w["id"], eventType="APPOINTMENT_CANCELLED")
        assert ev["APPOINTMENT_CANCELLED"] in [x["eventId"] for x in c], c
        assert all(x["eventType"] == "APPOINTMENT_CANCELLED" for x in c), c
        assert hook_get(w["id"])["active"] is True


def test_delivery_retried_until_success_same_id():
    pid = make_provider("UTC")
    d = future_date()
    p = patient()
    with Receiver() as recv, Hooks(recv) as hooks:
        w = hooks.create("/r")
        # attempt 1: a redirect (never followed), 2: a 500, 3: too slow (past the
        # 3 s attempt timeout), 4: the default 204
        script = {1: (302, {"Location": recv.url("/elsewhere")}), 2: 500, 3: (200, {}, 3.8)}
        recv.plan(lambda a: script.get(a.attempt) if a.patient_id == p else None)
        aid = book_ok(pid, day_at(d, "10:00"), p)["appointmentId"]
        eid = event_ids(aid)["APPOINTMENT_CONFIRMED"]
        x = wait_delivery(w["id"], eid, lambda x: x["lastStatusCode"] is not None)
        if x["attempts"] == 1:      # between attempts 1 and 2: the 302 is on record
            assert x["status"] == "pending" and x["lastStatusCode"] == 302 and x["deliveredAt"] is None, x
        done = recv.wait(lambda arr: [a for a in arr if a.attempt == 4 and a.ok], timeout=30, patient=p)
        assert done, "no successful 4th attempt: %r" % recv.arrivals(patient=p)
        x = wait_delivery(w["id"], eid, is_status("delivered"))
        assert x["attempts"] == 4 and x["lastStatusCode"] == 204, x
        arr = recv.arrivals(patient=p)
        assert [a.attempt for a in arr] == [1, 2, 3, 4], arr
        assert [a.status for a in arr] == [302, 500, 200, 204], arr
        for a in arr:
            check_arrival(a, "/r")
        assert {a.webhook_id for a in arr} == {eid}, arr
        assert len({a.body for a in arr}) == 1, "the body changed between attempts"
        ts = [int(a.timestamp) for a in arr]
        assert ts == sorted(ts), "webhook-timestamp went backwards: %r" % ts
        assert ts[-1] > ts[0], "webhook-timestamp is the attempt's, not the first one's: %r" % ts
        assert arr[1].t - arr[0].t >= 0.5, "retried without waiting"
        assert recv.arrivals(path="/elsewhere") == [], "a redirect was followed"


def test_delivery_failed_then_manual_retry():
    pid = make_provider("UTC")
    d = future_date()
    pa = patient()
    with Receiver() as recv, Hooks(recv) as hooks:
        w = hooks.create("/main")
        w2 = hooks.create("/cancels", eventTypes=["APPOINTMENT_CANCELLED"])
        broken = [True]
        recv.plan(lambda a: 500 if (broken[0] and a.path == "/main" and a.patient_id == pa
                                    and a.event_type == "APPOINTMENT_CONFIRMED") else None)
        aid = book_ok(pid, day_at(d, "10:00"), pa)["appointmentId"]
        expect(cancel(aid, "x"), 200)
        ev = event_ids(aid)
        conf, canc = ev["APPOINTMENT_CONFIRMED"], ev["APPOINTMENT_CANCELLED"]
        x = wait_delivery(w["id"], conf)
        if x["status"] == "pending":            # in its retries: not retryable by hand
            check_error(retry_r(w["id"], x["id"]), 409, "CONFLICT")
        # the other subscription's CANCELLED is not held up by this one's failing CONFIRMED
        assert recv.wait(lambda arr: ok_ids(arr), timeout=10, path="/cancels", event_id=canc)
        failed = wait_delivery(w["id"], conf, is_status("failed"), timeout=25)
        assert failed["attempts"] == 4 and failed["lastStatusCode"] == 500, failed
        confs = recv.arrivals(path="/main", event_id=conf)
        assert [a.attempt for a in confs] == [1, 2, 3, 4] and all(a.status == 500 for a in confs), confs
        for a in confs:
            check_arrival(a, "/main")
        assert recv.arrivals(path="/cancels", event_id=canc)[0].t < confs[-1].t
        # this subscription's CANCELLED waited until the CONFIRMED had failed
        assert recv.wait(lambda arr: ok_ids(arr), timeout=10, path="/main", event_id=canc)
        first_canc = recv.arrivals(path="/main", event_id=canc)[0]
        assert first_canc.t > confs[-1].answered_t, "CANCELLED went before CONFIRMED had failed"
        cd = wait_delivery(w["id"], canc, is_status("delivered"))
        assert [x["eventId"] for x in deliveries(w["id"], status="failed") if x["eventId"] in ev.values()] == [conf]

        # back in the queue by hand: a fresh schedule, attempts keep counting
        broken[0] = False
        r = retry_r(w["id"], failed["id"])
        j = expect(r, 202)
        check_delivery(j)
        assert j["id"] == failed["id"] and j["eventId"] == conf and j["status"] == "pending", j
        assert j["attempts"] == 4, j
        x = wait_delivery(w["id"], conf, is_status("delivered"))
        assert x["attempts"] == 5 and x["lastStatusCode"] == 204, x
        confs = recv.arrivals(path="/main", event_id=conf)
        assert len(confs) == 5 and confs[-1].ok and confs[-1].attempt == 5, confs
        check_arrival(confs[-1], "/main")
        assert confs[-1].body == confs[0].body
        # only failed deliveries are retryable; only the webhook's own
        check_error(retry_r(w["id"], failed["id"]), 409, "CONFLICT")
        check_error(retry_r(w["id"], cd["id"]), 409, "CONFLICT")
        other = wait_delivery(w2["id"], canc, is_status("delivered"))
        check_error(retry_r(w["id"], other["id"]), 404, "NOT_FOUND")
        check_error(retry_r(w2["id"], failed["id"]), 404, "NOT_FOUND")
        check_error(retry_r(uuid4(), failed["id"]), 404, "NOT_FOUND")
        assert len(recv.arrivals(path="/main", event_id=conf)) == 5


def test_event_types_filter():
    pid = uuid4()
    d = future_date()
    with Receiver() as recv, Hooks(recv) as hooks:
        wc = hooks.create("/c", eventTypes=["APPOINTMENT_CANCELLED"])
        wcr = hooks.create("/cr", eventTypes=["APPOINTMENT_CONFIRMED", "APPOINTMENT_RESCHEDULED"])
        ws = hooks.create("/s", eventTypes=["PROVIDER_SCHEDULE_UPDATED"])
        wall = hooks.create("/all", eventTypes=None)
        make_provider("UTC", provider_id=pid)
        aid = book_ok(pid, day_at(d, "10:00"))["appointmentId"]
        expect(reschedule(aid, day_at(d, "10:30")), 200)
        expect(cancel(aid), 200)
        ev = event_ids(aid)
        ev.update(event_ids(pid))
        want = {"/c": {"APPOINTMENT_CANCELLED"}, "/cr": {"APPOINTMENT_CONFIRMED", "APPOINTMENT_RESCHEDULED"},
                "/s": {"PROVIDER_SCHEDULE_UPDATED"}, "/all": set(TYPES)}
        for path, types in want.items():
            ids = {ev[t] for t in types}
            assert recv.wait(lambda arr: ok_ids(arr) >= ids, timeout=15, path=path), \
                "%s lacks events: %r" % (path, recv.arrivals(path=path))
        # every fan-out is decided at dispatch: once /all has them, the rest are final
        for w, path in ((wc, "/c"), (wcr, "/cr"), (ws, "/s"), (wall, "/all")):
            ds = [x for x in all_deliveries(w["id"]) if x["eventId"] in ev.values()]
            assert {x["eventType"] for x in ds} == want[path] and len(ds) == len(want[path]), (path, ds)
            arr = recv.arrivals(path=path, provider=pid)
            assert {a.event_type for a in arr} == want[path], (path, arr)
            for a in arr:
                check_arrival(a, path)
        f = deliveries(wcr["id"], eventType="APPOINTMENT_RESCHEDULED")
        assert [x["eventId"] for x in f if x["eventId"] in ev.values()] == [ev["APPOINTMENT_RESCHEDULED"]], f
        assert deliveries(wc["id"], eventType="APPOINTMENT_CONFIRMED") == []


def test_gone_410_deactivates():
    pid = make_provider("UTC")
    d = future_date()
    pa = patient()
    with Receiver() as recv, Hooks(recv) as hooks:
        gone = hooks.create("/gone")
        okw = hooks.create("/ok")
        recv.plan(lambda a: 410 if a.path == "/gone" else None)
        aid = book_ok(pid, day_at(d, "10:00"), pa)["appointmentId"]
        expect(reschedule(aid, day_at(d, "11:00")), 200)
        expect(cancel(aid), 200)
        ev = event_ids(aid)
        assert recv.wait(lambda arr: len(ok_ids(arr)) >= 3, timeout=15, path="/ok", patient=pa)
        assert wait_until(lambda: hook_get(gone["id"])["active"] is False, timeout=10), hook_get(gone["id"])

        def settled():
            ds = [x for x in all_deliveries(gone["id"]) if x["eventId"] in ev.values()]
            return ds if ds and all(x["status"] != "pending" for x in ds) else None
        ds = wait_until(settled, timeout=10)
        assert ds, "deliveries still pending after 410: %r" % all_deliveries(gone["id"])
        assert all(x["status"] == "failed" for x in ds), ds
        first = [x for x in ds if x["eventId"] == ev["APPOINTMENT_CONFIRMED"]]
        assert first and first[0]["lastStatusCode"] == 410 and first[0]["attempts"] == 1, ds
        # the later events of that appointment were waiting behind it: never sent
        arr = recv.arrivals(path="/gone", patient=pa)
        assert [(a.event_type, a.status) for a in arr] == [("APPOINTMENT_CONFIRMED", 410)], arr
        check_arrival(arr[0], "/gone")
        lst = {w["id"]: w for w in expect(get("/api/webhooks"), 200)["webhooks"]}
        assert lst[gone["id"]]["active"] is False and lst[okw["id"]]["active"] is True
        check_error(retry_r(gone["id"], first[0]["id"]), 409, "CONFLICT")
        # no more fan-out to it: the healthy one gets the next event, the gone one nothing
        pb = patient()
        bid = book_ok(pid, day_at(d, "12:00"), pb)["appointmentId"]
        beid = event_ids(bid)["APPOINTMENT_CONFIRMED"]
        assert recv.wait(lambda arr: ok_ids(arr), timeout=15, path="/ok", event_id=beid)
        time.sleep(0.3)
        assert recv.arrivals(path="/gone", patient=pb) == []
        assert delivery_of(gone["id"], beid) is None
        assert delivery_of(okw["id"], beid)["status"] == "delivered"


def test_retry_after_honoured():
    pid = make_provider("UTC")
    d = future_date()
    pa, pb = patient(), patient()
    with Receiver() as recv, Hooks(recv) as hooks:
        w = hooks.create("/ra")

        def plan(a):
            if a.attempt != 1:
                return None
            if a.patient_id == pa:
                return 429, {"Retry-After": "2"}
            if a.patient_id == pb:
                return 503, {"Retry-After": "2"}
            return None
        recv.plan(plan)
        ida = book_ok(pid, day_at(d, "10:00"), pa)["appointmentId"]
        idb = book_ok(pid, day_at(d, "11:00"), pb)["appointmentId"]
        for p, aid, code in ((pa, ida, 429), (pb, idb, 503)):
            assert recv.wait(lambda arr: ok_ids(arr), timeout=15, patient=p), recv.arrivals(patient=p)
            arr = recv.arrivals(patient=p)
            assert [(a.attempt, a.status) for a in arr] == [(1, code), (2, 204)], arr
            gap = arr[1].t - arr[0].t
            # the schedule alone would retry after ~1 s; Retry-After says 2
            assert gap >= 1.8, "%d with Retry-After: 2 retried after %.2fs" % (code, gap)
            for a in arr:
                check_arrival(a, "/ra")
            x = wait_delivery(w["id"], event_ids(aid)["APPOINTMENT_CONFIRMED"], is_status("delivered"))
            assert x["attempts"] == 2 and x["lastStatusCode"] == 204, x


def test_receiver_down_then_back():
    pid = make_provider("UTC")
    d = future_date()
    with Receiver() as recv, Hooks(recv) as hooks:
        w = hooks.create("/d")
        recv.down()
        try:
            aids = [book_ok(pid, day_at(d, "%02d:00" % h))["appointmentId"] for h in (9, 10, 11)]
            eids = [event_ids(a)["APPOINTMENT_CONFIRMED"] for a in aids]
            for e in eids:
                x = wait_delivery(w["id"], e, lambda x: x["attempts"] >= 2, timeout=10)
                assert x["status"] == "pending" and x["lastStatusCode"] is None, x
                assert isinstance(x["lastError"], str) and x["lastError"], x
        finally:
            recv.up()
        assert recv.wait(lambda arr: ok_ids(arr) >= set(eids), timeout=15, provider=pid), \
            recv.arrivals(provider=pid)
        for e in eids:
            x = wait_delivery(w["id"], e, is_status("delivered"))
            assert 3 <= x["attempts"] <= 4 and x["lastStatusCode"] == 204, x
            arr = recv.arrivals(event_id=e)
            assert len(arr) == 1, arr
            check_arrival(arr[0], "/d")


def test_per_appointment_order_across_retries():
    pid = make_provider("UTC")
    d = future_date()
    pa, pb = patient(), patient()
    with Receiver() as recv, Hooks(recv) as hooks:
        w = hooks.create("/o")
        recv.plan(lambda a: 500 if (a.patient_id == pa and a.event_type == "APPOINTMENT_CONFIRMED"
                                    and a.attempt <= 2) else None)
        a_id = book_ok(pid, day_at(d, "09:00"), pa)["appointmentId"]
        expect(reschedule(a_id, day_at(d, "09:30")), 200)
        expect(cancel(a_id, "later"), 200)
        b_id = book_ok(pid, day_at(d, "12:00"), pb)["appointmentId"]
        expect(reschedule(b_id, day_at(d, "12:30")), 200)
        ea, eb = event_ids(a_id), event_ids(b_id)
        assert recv.wait(lambda arr: len(ok_ids(arr)) >= 3, timeout=20, patient=pa), recv.arrivals(patient=pa)
        assert recv.wait(lambda arr: len(ok_ids(arr)) >= 2, timeout=20, patient=pb), recv.arrivals(patient=pb)
        arr_a = recv.arrivals(patient=pa)
        arr_b = recv.arrivals(patient=pb)
        for a in arr_a + arr_b:
            check_arrival(a, "/o")
        conf = [a for a in arr_a if a.webhook_id == ea["APPOINTMENT_CONFIRMED"]]
        assert [(a.attempt, a.status) for a in conf] == [(1, 500), (2, 500), (3, 204)], conf
        later = [a for a in arr_a if a.webhook_id != ea["APPOINTMENT_CONFIRMED"]]
        assert all(a.t > conf[-1].answered_t for a in later), \
            "a later event of A went while its CONFIRMED was still being retried: %r" % arr_a
        assert [a.event_type for a in later] == ["APPOINTMENT_RESCHEDULED", "APPOINTMENT_CANCELLED"], later
        assert all(a.attempt == 1 and a.ok for a in later), later
        # B's events went in their order, without waiting for A
        assert [a.event_type for a in arr_b] == ["APPOINTMENT_CONFIRMED", "APPOINTMENT_RESCHEDULED"], arr_b
        assert all(a.ok and a.attempt == 1 for a in arr_b), arr_b
        assert arr_b[-1].t < conf[-1].t, "B's events were held up by A's retries"
        for t in ("APPOINTMENT_RESCHEDULED", "APPOINTMENT_CANCELLED"):
            x = wait_delivery(w["id"], ea[t], is_status("delivered"))
            assert x["attempts"] == 1, x
        x = wait_delivery(w["id"], ea["APPOINTMENT_CONFIRMED"], is_status("delivered"))
        assert x["attempts"] == 3, x
        assert all(wait_delivery(w["id"], e, is_status("delivered"))["attempts"] == 1 for e in eb.values())


# ------------------------------------------------------------------ relays
def test_two_relays_deliver_each_event_once():
    assert os.path.exists(RELAY), "no relay binary at %s" % RELAY
    ensure_standard_relay()
    pid = make_provider("UTC", appointmentDuration=5)
    d = future_date(days=5)
    base = dt.datetime.fromisoformat("%sT00:00:00+00:00" % d)
    extra = ExtraRelay()
    try:
        with Receiver() as recv, Hooks(recv) as hooks:
            w = hooks.create("/two")
            time.sleep(0.5)
            assert extra.alive(), "the second relay exited: %s" % extra.output()
            errors, booked = [], []

            def booker(k):
                for i in range(50):
                    try:
                        r = book(pid, base + minutes(5 * (k * 50 + i)), "two-%d-%d" % (k, i), timeout=20)
                        assert r.status == 201, r
                        booked.append(r.json["appointmentId"])
                    except Exception as e:  # noqa: BLE001
                        errors.append(e)
            threads = [threading.Thread(target=booker, args=(k,), daemon=True) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            assert not errors, errors[:3]
            assert len(booked) == 200
            conf = lambda a: a.event_type == "APPOINTMENT_CONFIRMED"  # noqa: E731
            got = recv.wait(lambda arr: len(ok_ids(arr)) >= 200, timeout=40, provider=pid, where=conf)
            assert got, "%d of 200 events arrived" % len(ok_ids(recv.arrivals(provider=pid, where=conf)))
            assert extra.alive(), "the second relay died: %s" % extra.output()
            time.sleep(1.0)     # room for a duplicate to show up
            arr = recv.arrivals(provider=pid, where=conf)
            counts = collections.Counter(a.webhook_id for a in arr)
            dups = {k: n for k, n in counts.items() if n > 1}
            assert not dups, "%d events delivered more than once: %r" % (len(dups), list(dups.items())[:5])
            assert {a.appointment_id for a in arr} == set(booked)
            assert all(a.status == 204 for a in arr)
            for a in arr[:5]:
                check_arrival(a, "/two")
            mine = set(counts)

            def all_delivered():
                ds = [x for x in all_deliveries(w["id"]) if x["eventId"] in mine]
                return ds if len(ds) == 200 and all(x["status"] == "delivered" for x in ds) else None
            ds = wait_until(all_delivered, timeout=10)
            assert ds, "deliveries not all marked delivered"
            assert all(x["attempts"] == 1 for x in ds), [x for x in ds if x["attempts"] != 1][:3]
    finally:
        rc = extra.stop()
    assert rc == 0, "the second relay exited %r on SIGTERM" % rc
    assert standard_relay(), "the standard relay is gone"


def test_relay_sigterm_finishes_in_flight():
    relay_stop_finishes_in_flight(signal.SIGTERM)


def test_relay_sigquit_finishes_in_flight():
    relay_stop_finishes_in_flight(signal.SIGQUIT)


def relay_stop_finishes_in_flight(sig):
    assert os.path.exists(RELAY), "no relay binary at %s" % RELAY
    ensure_standard_relay()
    pid = make_provider("UTC")
    d = future_date()
    try:
        with Receiver() as recv, Hooks(recv) as hooks:
            w = hooks.create("/term")
            recv.slow(2.0)
            aids = [book_ok(pid, day_at(d, "%02d:00" % h))["appointmentId"] for h in (9, 10, 11)]
            eids = [event_ids(a)["APPOINTMENT_CONFIRMED"] for a in aids]
            assert recv.wait(lambda arr: arr, timeout=10, provider=pid), "nothing arrived"
            rpid = standard_relay()
            assert rpid, "no standard relay"
            t_term = time.monotonic()
            os.kill(rpid, sig)
            recv.slow(0)
            assert wait_gone(rpid, timeout=20), "the relay did not exit after signal %d" % sig
            t_exit = time.monotonic()
            in_flight = [a for a in recv.arrivals(provider=pid) if a.t < t_term]
            assert in_flight, "nothing was in flight"
            for a in in_flight:
                assert a.ok and a.answered_t <= t_exit, "in-flight request not finished before exit: %r" % a
                x = delivery_of(w["id"], a.webhook_id)
                assert x and x["status"] == "delivered" and x["attempts"] == 1, \
                    "an in-flight delivery was not recorded before exit: %r" % x
            print("    signal %d: %d in flight, exit %.2fs after it" % (sig, len(in_flight), t_exit - t_term))
            start_standard_relay()
            assert recv.wait(lambda arr: ok_ids(arr) >= set(eids), timeout=15, provider=pid), \
                recv.arrivals(provider=pid)
            for e in eids:
                wait_delivery(w["id"], e, is_status("delivered"))
            counts = collections.Counter(a.webhook_id for a in recv.arrivals(provider=pid))
            assert all(n == 1 for n in counts.values()), counts
    finally:
        ensure_standard_relay()


def test_relay_kill9_mid_delivery_redelivers():
    assert os.path.exists(RELAY), "no relay binary at %s" % RELAY
    ensure_standard_relay()
    pid = make_provider("UTC")
    d = future_date()
    killed = [False]
    try:
        with Receiver() as recv, Hooks(recv) as hooks:
            w = hooks.create("/kill")
            # Before the kill every request is held 1.5 s and then refused (500):
            # the killed relay never sees an answer, and nothing it had in
            # flight may end up "delivered" without a 2xx the receiver gave.
            recv.plan(lambda a: None if killed[0] else (500, {}, 1.5))
            aids = [book_ok(pid, day_at(d, "%02d:00" % h))["appointmentId"] for h in range(8, 20)]
            eids = {event_ids(a)["APPOINTMENT_CONFIRMED"] for a in aids}
            assert recv.wait(lambda arr: arr, timeout=10, provider=pid), "nothing arrived"
            rpid = standard_relay()
            assert rpid, "no standard relay"
            killed[0] = True
            os.kill(rpid, signal.SIGKILL)
            assert wait_gone(rpid, timeout=10), "the relay survived SIGKILL"
            in_flight = [a for a in recv.arrivals(provider=pid) if a.status == 500]
            start_standard_relay()
            got = recv.wait(lambda arr: ok_ids(arr) >= eids, timeout=40, provider=pid)
            assert got, "not every event was delivered after the restart: %d of %d" % (
                len(ok_ids(recv.arrivals(provider=pid)) & eids), len(eids))
            ok = ok_ids(recv.arrivals(provider=pid))
            for e in eids:
                x = wait_delivery(w["id"], e, is_status("delivered"), timeout=15)
                assert x["eventId"] in ok, "marked delivered without a 2xx from the receiver: %r" % x
            for a in in_flight:
                check_arrival(a, "/kill")
            print("    kill -9: %d requests were in flight, %d events redelivered" % (
                len(in_flight), len({a.webhook_id for a in in_flight})))
    finally:
        ensure_standard_relay()


def burst_of_events(n, tag):
    """n events inserted straight into the outbox in one transaction (as a
    bulk import would), the relays woken; their ids start with tag."""
    sql("INSERT INTO outbox (event_id, event_type, aggregate_id, payload)"
        " SELECT e, 'APPOINTMENT_CONFIRMED', e::text, '{\"eventId\":\"evt_' || e || '\"}'"
        " FROM (SELECT ('%s' || lpad(to_hex(i), 12, '0'))::uuid AS e FROM generate_series(1, %d) i) s;"
        " SELECT pg_notify('appointd_outbox', '')" % (tag, n))


def test_bursts_get_the_deliveries_table_analyzed_at_once():
    """After 1000 events numbered the relay runs ANALYZE of the deliveries
    table (a claim planned for an empty table is slow), at most once in 10
    s, however many events came before: a burst after a long stream is
    analyzed as promptly as the first one."""
    tag = uuid4()[:8] + "-0000-4000-8000-"

    def analyzed():
        return int(sql("SELECT analyze_count FROM pg_stat_user_tables"
                       " WHERE relname = 'webhook_deliveries'")[0][0])
    try:
        for burst in range(2):
            before = analyzed()
            t0 = time.monotonic()
            burst_of_events(1200, tag[:-5] + "%04x-" % burst)
            assert wait_until(lambda: analyzed() > before, 20), "burst %d: no ANALYZE" % burst
            if burst == 0:
                time.sleep(max(0.0, 10.5 - (time.monotonic() - t0)))
        assert sql("SELECT count(*) FROM outbox WHERE event_id::text LIKE '%s%%' AND seq IS NULL"
                   % tag[:9]) == [["0"]]
    finally:
        sql("DELETE FROM outbox WHERE event_id::text LIKE '%s%%'" % tag[:9])
