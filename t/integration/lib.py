"""Shared helpers for the appointd integration suite (standard library only).

Environment:
  APPOINTD_URL        base URL of nginx, e.g. http://127.0.0.1:18080
  APPOINTD_VAR        the stack's state directory (run/appointd.pid lives there)
  APPOINTD_ROOT       the source tree (its ./dev script is used for faults)
  APPOINTD_PSQL       a psql command line connected to the service database
  APPOINTD_ADMIN_KEY  optional; sent as "Authorization: Bearer KEY" when set
"""

import datetime as _dt
import http.client
import json
import os
import shlex
import subprocess
import time
import urllib.parse
import uuid as _uuid
from zoneinfo import ZoneInfo

BASE = os.environ["APPOINTD_URL"].rstrip("/")
VAR = os.environ["APPOINTD_VAR"]
ROOT = os.environ["APPOINTD_ROOT"]
PSQL = shlex.split(os.environ["APPOINTD_PSQL"])
ADMIN_KEY = os.environ.get("APPOINTD_ADMIN_KEY", "")

_u = urllib.parse.urlsplit(BASE)
HOST = _u.hostname or "127.0.0.1"
PORT = _u.port or 80
PREFIX = _u.path.rstrip("/")

UTC = _dt.timezone.utc
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
SCHEDULE_OK = {"message": "Provider schedule updated successfully."}
CANCEL_OK = {"message": "Appointment cancelled successfully."}


# ------------------------------------------------------------------ HTTP
class Resp:
    def __init__(self, method, path, status, headers, body, elapsed):
        self.method = method
        self.path = path
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            self.json = None

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        t = self.text
        if len(t) > 600:
            t = t[:600] + "..."
        return "<%s %s -> %s %s>" % (self.method, self.path, self.status, t)


def auth_headers(key=None):
    key = ADMIN_KEY if key is None else key
    return {"Authorization": "Bearer " + key} if key else {}


def connection(timeout=10):
    return http.client.HTTPConnection(HOST, PORT, timeout=timeout)


def request(method, path, body=None, headers=None, raw=None, timeout=10, conn=None, auth=True):
    """One HTTP request. `body` is JSON-encoded (content-type application/json);
    `raw` (bytes or str) is sent as-is with only the headers given. Uses a new
    connection unless `conn` (a kept-alive http.client connection) is given."""
    hdrs = {}
    if auth:
        hdrs.update(auth_headers())
    data = None
    if body is not None:
        data = json.dumps(body).encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    elif raw is not None:
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
    if headers:
        for k, v in headers.items():
            # allow removing a default header by passing None
            for existing in list(hdrs):
                if existing.lower() == k.lower():
                    del hdrs[existing]
            if v is not None:
                hdrs[k] = v
    own = conn is None
    c = connection(timeout) if own else conn
    t0 = time.monotonic()
    try:
        c.request(method, PREFIX + path, body=data, headers=hdrs)
        r = c.getresponse()
        rbody = r.read()
        rheaders = {k.lower(): v for k, v in r.getheaders()}
        return Resp(method, path, r.status, rheaders, rbody, time.monotonic() - t0)
    finally:
        if own:
            c.close()


def get(path, **kw):
    return request("GET", path, **kw)


def post(path, body=None, **kw):
    return request("POST", path, body=body, **kw)


def put(path, body=None, **kw):
    return request("PUT", path, body=body, **kw)


def delete(path, **kw):
    return request("DELETE", path, **kw)


def expect(resp, status):
    """Assert the status; return the parsed JSON body."""
    assert resp.status == status, "expected %s, got %r" % (status, resp)
    return resp.json


def check_error(resp, status, code, field=None, prefix=None):
    """Assert the contract's error body {"error":{"message":str,"code":code,...}}
    with a matching status. `field`: details must contain exactly that path;
    `prefix`: details must contain a path starting with it. Returns the error."""
    assert resp.status == status, "expected %s %s, got %r" % (status, code, resp)
    j = resp.json
    assert isinstance(j, dict) and isinstance(j.get("error"), dict), "no error body: %r" % resp
    err = j["error"]
    assert isinstance(err.get("message"), str) and err["message"], "error.message missing: %r" % resp
    assert err.get("code") == code, "expected code %s: %r" % (code, resp)
    ct = resp.headers.get("content-type", "")
    assert ct.startswith("application/json"), "error content-type %r: %r" % (ct, resp)
    if field is not None or prefix is not None:
        details = err.get("details")
        assert isinstance(details, dict), "error.details missing: %r" % resp
        for k, v in details.items():
            assert isinstance(v, list) and v and all(isinstance(m, str) for m in v), \
                "details[%r] must be a non-empty list of strings: %r" % (k, resp)
        if field is not None:
            assert field in details, "details lack %r: %r" % (field, resp)
        if prefix is not None:
            assert any(k == prefix or k.startswith(prefix) for k in details), \
                "no details path starting with %r: %r" % (prefix, resp)
    return err


# ------------------------------------------------------------------ SQL
def sql(query, timeout=30):
    p = subprocess.run(PSQL + ["-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", query],
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("psql failed (%d): %s" % (p.returncode, p.stderr.strip()))
    return [line.split("\t") for line in p.stdout.splitlines() if line != ""]


def sql_value(query):
    rows = sql(query)
    assert rows, "no rows from %s" % query
    return rows[0][0]


def q(s):
    """A SQL string literal."""
    return "'" + str(s).replace("'", "''") + "'"


def outbox(aggregate_id=None, like=None):
    """Outbox rows (ordered by id) as dicts with the payload parsed."""
    where = []
    if aggregate_id is not None:
        where.append("aggregate_id = %s" % q(aggregate_id))
    if like is not None:
        where.append("payload LIKE %s" % q("%" + like + "%"))
    rows = sql("SELECT id, event_id, event_type, aggregate_id, replace(replace(payload, E'\\n', ' '), E'\\t', ' ') "
               "FROM outbox%s ORDER BY id" % (" WHERE " + " AND ".join(where) if where else ""))
    out = []
    for r in rows:
        try:
            env = json.loads(r[4])
        except ValueError:
            env = None
        out.append({"id": r[0], "event_id": r[1], "event_type": r[2], "aggregate_id": r[3],
                    "payload_text": r[4], "envelope": env})
    return out


def outbox_bytes(event_id):
    """The outbox payload of one event, byte for byte."""
    u = event_id[4:] if event_id.startswith("evt_") else event_id
    rows = sql("SELECT encode(convert_to(payload, 'UTF8'), 'hex') FROM outbox "
               "WHERE event_id::text IN (%s, %s)" % (q(u), q(event_id)))
    assert len(rows) == 1, "outbox row of %s: %r" % (event_id, rows)
    return bytes.fromhex(rows[0][0])


def outbox_count(aggregate_id):
    return int(sql_value("SELECT count(*) FROM outbox WHERE aggregate_id = %s" % q(aggregate_id)))


# ------------------------------------------------------------------ data
def uuid4():
    return str(_uuid.uuid4())


def patient():
    return "p-" + _uuid.uuid4().hex[:12]


def interval(start, end):
    return {"start": start, "end": end}


def all_days(start="00:00", end="24:00"):
    return {d: [interval(start, end)] for d in DAYS}


def schedule_body(tz="Europe/Berlin", **fields):
    body = {"timezone": tz, "appointmentDuration": 30, "weeklySchedule": all_days()}
    body.update(fields)
    return body


def post_schedule(pid, body):
    return post("/api/providers/%s/schedule" % pid, body)


def make_provider(tz="Europe/Berlin", provider_id=None, **fields):
    """Create a provider (default: 30-minute appointments, every day 00:00-24:00)."""
    pid = provider_id or uuid4()
    r = post_schedule(pid, schedule_body(tz, **fields))
    assert r.status == 200 and r.json == SCHEDULE_OK, "schedule upsert failed: %r" % r
    return pid


def availability(pid, timeout=10, **params):
    return get("/api/providers/%s/availability?%s" % (pid, urllib.parse.urlencode(params)), timeout=timeout)


def slots_on(pid, d):
    """availableSlots and slots (as aware UTC datetimes) for local date d."""
    r = availability(pid, date=str(d))
    j = expect(r, 200)
    return j["availableSlots"], [parse_instant(s["startTime"]) for s in j["slots"]]


def book(pid, start, patient_id=None, **kw):
    """POST /api/appointments; start is an aware datetime or a string."""
    st = start if isinstance(start, str) else iso_z(start)
    return post("/api/appointments", {"patientId": patient_id or patient(), "providerId": pid,
                                      "startTime": st}, **kw)


def book_ok(pid, start, patient_id=None):
    r = book(pid, start, patient_id)
    j = expect(r, 201)
    return j


def reschedule(appt_id, start, **kw):
    st = start if isinstance(start, str) else iso_z(start)
    return put("/api/appointments/%s" % appt_id, {"startTime": st}, **kw)


def cancel(appt_id, reason=None, **kw):
    path = "/api/appointments/%s" % appt_id
    if reason is not None:
        path += "?reason=" + urllib.parse.quote(reason, safe="")
    return delete(path, **kw)


# ------------------------------------------------------------------ time
def now_utc():
    return _dt.datetime.now(UTC)


def iso_z(dt):
    """UTC with milliseconds, as the service returns instants."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def iso_offset(dt, offset_minutes):
    """The same instant written with a fixed offset, e.g. +05:45."""
    tz = _dt.timezone(_dt.timedelta(minutes=offset_minutes))
    return dt.astimezone(tz).isoformat(timespec="seconds")


def parse_instant(s):
    assert isinstance(s, str), "instant must be a string: %r" % (s,)
    return _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def assert_utc_ms(s, what="instant"):
    import re
    assert isinstance(s, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", s), \
        "%s must be UTC with milliseconds: %r" % (what, s)


def local_dt(tz, d, hhmm):
    """The instant of local wall time hhmm on local date d in zone tz, by the
    contract's RFC 5545 rules (gap: offset before the gap; overlap: first
    occurrence; 24:00: midnight starting d+1). Returns an aware UTC datetime."""
    z = ZoneInfo(tz) if isinstance(tz, str) else tz
    h, m = (int(x) for x in hhmm.split(":"))
    if h == 24:
        d = d + _dt.timedelta(days=1)
        h = 0
    # Python's fold=0 is exactly the RFC 5545 reading for gaps and overlaps.
    return _dt.datetime(d.year, d.month, d.day, h, m, tzinfo=z, fold=0).astimezone(UTC)


def hhmm(dt, tz):
    return dt.astimezone(ZoneInfo(tz)).strftime("%H:%M")


def local_today(tz):
    return _dt.datetime.now(ZoneInfo(tz)).date()


def next_year():
    return _dt.date.today().year + 1


def future_date(weekday=None, month=6, day=1, days=0, year=None):
    """A date next year (June 1st by default) moved forward `days` days and then
    to the next `weekday` (0=monday .. 6=sunday, or a name) if given."""
    d = _dt.date(year or next_year(), month, day) + _dt.timedelta(days=days)
    if weekday is not None:
        if isinstance(weekday, str):
            weekday = DAYS.index(weekday.lower())
        d += _dt.timedelta(days=(weekday - d.weekday()) % 7)
    return d


def dst_days(tz, year=None):
    """(spring-forward date, fall-back date) of zone tz in `year` (local dates of
    the transitions), found with zoneinfo."""
    z = ZoneInfo(tz)
    year = year or next_year()
    spring = fall = None
    d = _dt.date(year, 1, 1)
    while d.year == year:
        a = _dt.datetime(d.year, d.month, d.day, tzinfo=z).utcoffset()
        n = d + _dt.timedelta(days=1)
        b = _dt.datetime(n.year, n.month, n.day, tzinfo=z).utcoffset()
        if b > a and spring is None:
            spring = d
        elif b < a and fall is None:
            fall = d
        d = n
    return spring, fall


def expected_slots(tz, d, intervals, duration, step=None):
    """Candidate starts (UTC datetimes) for local date d, ignoring now/bookings."""
    step = step or duration
    out = []
    for iv in intervals:
        us, ue = local_dt(tz, d, iv["start"]), local_dt(tz, d, iv["end"])
        s = us
        while s + _dt.timedelta(minutes=duration) <= ue:
            if s not in out:
                out.append(s)
            s += _dt.timedelta(minutes=step)
    return sorted(out)


def minutes(n):
    return _dt.timedelta(minutes=n)


# ------------------------------------------------------------------ keys
def create_key(scope, name=None, providers=()):
    """A new API key through ./dev ctl: (key id, key); bound to providers if any are given."""
    args = ["ctl", "key", "create", "--scope", scope] + (["--name", name] if name else [])
    for p in providers:
        args += ["--provider", p]
    out = dev(*args).splitlines()
    ids = [l.split(": ", 1)[1] for l in out if l.startswith("id: ")]
    assert len(ids) == 1, out
    key = out[-1]
    assert key.startswith("apd_") and len(key) == 47, out
    return ids[0], key


# ------------------------------------------------------------------ processes
def master_pid():
    with open(os.path.join(VAR, "run", "appointd.pid")) as f:
        return int(f.read().split()[0])


def worker_pids():
    p = subprocess.run(["pgrep", "-P", str(master_pid())], capture_output=True, text=True)
    return sorted(int(x) for x in p.stdout.split())


def dev(*args, timeout=120):
    """Run $ROOT/dev ARGS with the same environment; raise on failure."""
    p = subprocess.run([os.path.join(ROOT, "dev")] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=dict(os.environ))
    if p.returncode != 0:
        raise AssertionError("dev %s failed (%d): %s %s" % (" ".join(args), p.returncode,
                                                           p.stdout[-2000:], p.stderr[-2000:]))
    return p.stdout


def wait_until(pred, timeout=10.0, interval=0.1):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= end:
            return v
        time.sleep(interval)
