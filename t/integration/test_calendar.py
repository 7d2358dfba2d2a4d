"""GET /api/providers/{id}/calendar.ics: the iCalendar feed, read by a parser
written here (RFC 5545 section 3.1: CRLF, unfolding, content lines split by
hand), never by the library that wrote it. The key as a header or ?token=,
SEQUENCE and STATUS through book, reschedule and cancel, from/to and the
default window, the cap, ETag, and the token kept out of every log."""

import datetime as dt
import glob
import os
import socket
import time
import urllib.parse

import lib

TZ = "UTC"
CAP = 10000
PAST_DAYS = 90


# ------------------------------------------------------------------ the parser
def unfold(raw):
    """Physical lines -> logical lines (str). Checks the wire form on the way:
    every line ends in CRLF, none is longer than 75 octets, each is UTF-8 on
    its own (a fold never splits a character)."""
    assert raw.endswith(b"\r\n"), raw[-40:]
    physical = raw[:-2].split(b"\r\n")
    logical = []
    for line in physical:
        assert b"\r" not in line and b"\n" not in line, "bare CR or LF in %r" % line
        assert len(line) <= 75, "line of %d octets: %r" % (len(line), line)
        line.decode("utf-8")
        if line[:1] in (b" ", b"\t"):
            assert logical, "a continuation line first"
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return [l.decode("utf-8") for l in logical]


def content_line(line):
    """name *(";" param) ":" value -> (NAME, {PARAM: [values]}, value)."""
    i, n = 0, len(line)
    while i < n and line[i] not in ";:":
        i += 1
    name, params = line[:i].upper(), {}
    while i < n and line[i] == ";":
        j = line.index("=", i)
        pname, i, vals = line[i + 1:j].upper(), j + 1, []
        while True:
            if line[i] == '"':
                j = line.index('"', i + 1)
                vals.append(line[i + 1:j])
                i = j + 1
            else:
                j = i
                while line[j] not in ",;:":
                    j += 1
                vals.append(line[i:j])
                i = j
            if line[i] != ",":
                break
            i += 1
        params[pname] = vals
    assert i < n and line[i] == ":", "no value in %r" % line
    return name, params, line[i + 1:]


def unescape(v):
    """A TEXT value (RFC 5545 3.3.11)."""
    out, i = [], 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v):
            out.append("\n" if v[i + 1] in "nN" else v[i + 1])
            i += 2
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


def parse(raw):
    """(calendar properties, [event properties]); properties map NAME to the
    list of its values, so a repeated property shows."""
    cal, events, stack = {}, [], []
    for line in unfold(raw):
        name, _, value = content_line(line)
        if name == "BEGIN":
            stack.append(value)
            if value == "VEVENT":
                assert stack == ["VCALENDAR", "VEVENT"], stack
                events.append({})
            continue
        if name == "END":
            assert stack and stack.pop() == value, (stack, value)
            continue
        assert stack, "property outside VCALENDAR: %r" % line
        target = events[-1] if stack[-1] == "VEVENT" else cal
        target.setdefault(name, []).append(value)
    assert stack == [], stack
    return cal, events


def one(props, name):
    assert len(props.get(name, [])) == 1, "%s: %r" % (name, props)
    return props[name][0]


# ------------------------------------------------------------------ helpers
def zform(t):
    """The UTC form of a DATE-TIME, whole seconds: 20270315T090000Z."""
    if isinstance(t, str):
        t = lib.parse_instant(t)
    return t.astimezone(lib.UTC).strftime("%Y%m%dT%H%M%SZ")


def feed_path(pid, **params):
    q = urllib.parse.urlencode(params)
    return "/api/providers/%s/calendar.ics%s" % (pid, "?" + q if q else "")


def feed(pid, key=None, headers=None, **params):
    """GET the feed; key (default the admin key) goes in the header unless None
    is wanted (key=""), params (token, from, to) in the query."""
    hdrs = dict(headers or {})
    key = lib.ADMIN_KEY if key is None else key
    if key:
        hdrs["Authorization"] = "Bearer " + key
    return lib.request("GET", feed_path(pid, **params), headers=hdrs, auth=False)


def feed_ok(pid, key=None, **params):
    r = feed(pid, key, **params)
    assert r.status == 200, r
    ct = r.headers.get("content-type", "")
    assert ct.replace(" ", "").lower() == "text/calendar;charset=utf-8", ct
    cal, events = parse(r.body)
    assert one(cal, "VERSION") == "2.0", cal
    assert one(cal, "PRODID") == "-//appointd//appointd//EN", cal
    assert one(cal, "CALSCALE") == "GREGORIAN", cal
    assert one(cal, "METHOD") == "PUBLISH", cal
    return r, events


def by_uid(events):
    out = {}
    for ev in events:
        uid = one(ev, "UID")
        assert uid not in out, "UID twice: " + uid
        assert uid.endswith("@appointd"), uid
        out[uid[:-len("@appointd")]] = ev
    return out


def at(days, hhmm="10:00"):
    """An instant days from today at hh:mm UTC."""
    d = lib.local_today(TZ) + dt.timedelta(days=days)
    return lib.local_dt(TZ, d, hhmm)


def provider():
    return lib.make_provider(TZ)


def insert_rows(pid, n, first, step_minutes, status="CANCELLED", prefix="bulk"):
    """n appointments straight into the table (cancelled ones need no free
    slot), starting at `first` (aware datetime) every step_minutes."""
    lib.sql("INSERT INTO appointments (id, provider_id, patient_id, start_at, end_at, status,"
            " version, created_at, updated_at)"
            " SELECT gen_random_uuid(), %s, %s || g, %s::timestamptz + (g - 1) * %s * interval '1 minute',"
            " %s::timestamptz + (g - 1) * %s * interval '1 minute' + interval '30 minutes', %s, 1, now(), now()"
            " FROM generate_series(1, %d) g"
            % (lib.q(pid), lib.q(prefix + "-"), lib.q(first.isoformat()), step_minutes,
               lib.q(first.isoformat()), step_minutes, lib.q(status), n))


# ------------------------------------------------------------------ tests
def test_feed_follows_book_reschedule_cancel():
    pid = provider()
    patient = lib.patient()
    a = lib.book_ok(pid, at(7), patient)
    aid = a["appointmentId"]

    def event():
        _, events = feed_ok(pid)
        assert list(by_uid(events)) == [aid], events
        ev = events[0]
        j = lib.expect(lib.get("/api/appointments/" + aid), 200)
        assert one(ev, "DTSTART") == zform(j["startTime"]), (ev, j)
        assert one(ev, "DTEND") == zform(j["endTime"]), (ev, j)
        assert one(ev, "DTSTAMP") == zform(j["updatedAt"]), (ev, j)
        assert one(ev, "LAST-MODIFIED") == zform(j["updatedAt"]), (ev, j)
        assert one(ev, "CREATED") == zform(j["createdAt"]), (ev, j)
        assert one(ev, "SEQUENCE") == str(j["version"] - 1), (ev, j)
        assert one(ev, "STATUS") == j["status"], (ev, j)
        assert one(ev, "SUMMARY") == "Appointment", ev
        assert unescape(one(ev, "DESCRIPTION")) == "Patient ID: " + patient, ev
        return ev

    ev = event()
    assert (one(ev, "SEQUENCE"), one(ev, "STATUS")) == ("0", "CONFIRMED"), ev
    assert one(ev, "DTSTART") == zform(at(7)) and one(ev, "DTEND") == zform(at(7, "10:30")), ev
    assert one(ev, "TRANSP") == "OPAQUE" and one(ev, "CLASS") == "PRIVATE", ev

    lib.expect(lib.reschedule(aid, at(8, "11:00")), 200)
    ev = event()
    assert (one(ev, "SEQUENCE"), one(ev, "STATUS")) == ("1", "CONFIRMED"), ev
    assert one(ev, "DTSTART") == zform(at(8, "11:00")), ev
    assert one(ev, "DTEND") == zform(at(8, "11:30")), ev

    lib.expect(lib.cancel(aid, "patient asked"), 200)
    ev = event()
    assert (one(ev, "SEQUENCE"), one(ev, "STATUS")) == ("2", "CANCELLED"), ev
    assert one(ev, "DTSTART") == zform(at(8, "11:00")), ev
    assert one(ev, "TRANSP") == "TRANSPARENT", ev
    # The free-text reason stays out of the feed.
    assert b"patient asked" not in feed(pid).body

    # A second cancel changes nothing, so the feed keeps SEQUENCE 2.
    lib.expect(lib.cancel(aid), 200)
    assert one(event(), "SEQUENCE") == "2"


def test_escaped_and_folded_text():
    pid = provider()
    patient = "Zoë, \\ ; 日本語 " + "x" * 40 + "😀" * 30
    a = lib.book_ok(pid, at(3), patient)
    r, events = feed_ok(pid)
    assert unescape(one(by_uid(events)[a["appointmentId"]], "DESCRIPTION")) == "Patient ID: " + patient
    assert b"\r\n " in r.body, "the long DESCRIPTION was not folded"


def test_token_query_parameter():
    pid = provider()
    lib.book_ok(pid, at(2))
    _, key = lib.create_key("read", "calendar token")
    by_header = feed(pid, key)
    by_token = feed(pid, "", token=key)
    assert by_header.status == 200 and by_token.status == 200, (by_header, by_token)
    assert by_token.body == by_header.body
    assert by_token.headers.get("etag") == by_header.headers.get("etag")
    # Percent-encoded like any query value.
    r = lib.request("GET", "/api/providers/%s/calendar.ics?token=%s" % (pid, urllib.parse.quote(key, safe="")
                                                                        .replace("_", "%5F")), auth=False)
    assert r.status == 200 and r.body == by_header.body, r
    # Every scope may read it; read is enough, so never 403.
    for scope in ("booking", "admin"):
        assert feed(pid, "", token=lib.create_key(scope)[1]).status == 200

    for bad in ("", "nope", "apd_" + "A" * 43, key[:-1], key + "A"):
        r = feed(pid, "", token=bad)
        lib.check_error(r, 401, "UNAUTHORIZED")
        assert r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers
    r = feed(pid, "")
    lib.check_error(r, 401, "UNAUTHORIZED")
    assert r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers

    # The header, when sent, is the credential; the token is then not looked at.
    lib.check_error(feed(pid, "apd_" + "B" * 43, token=key), 401, "UNAUTHORIZED")
    assert feed(pid, key, token="nope").status == 200
    # Authentication comes before query validation.
    lib.check_error(feed(pid, "", token="nope", **{"from": "yesterday"}), 401, "UNAUTHORIZED")
    assert feed(pid, "", token=key, **{"from": "yesterday"}).status == 422
    # Only this route takes ?token=.
    r = lib.request("GET", "/api/appointments?providerId=%s&token=%s" % (pid, key), auth=False)
    lib.check_error(r, 401, "UNAUTHORIZED")
    r = lib.request("GET", "/api/providers/%s?token=%s" % (pid, key), auth=False)
    lib.check_error(r, 401, "UNAUTHORIZED")


def test_revoked_token_is_401():
    pid = provider()
    kid, key = lib.create_key("read", "calendar revoke")
    for _ in range(10):
        assert feed(pid, "", token=key).status == 200
    lib.dev("ctl", "key", "revoke", kid)
    time.sleep(2.0)
    for _ in range(20):
        r = feed(pid, "", token=key)
        lib.check_error(r, 401, "UNAUTHORIZED")
        assert r.headers.get("www-authenticate", "").startswith("Bearer")


def test_from_to_filter():
    pid = provider()
    ids = [lib.book_ok(pid, at(days))["appointmentId"] for days in (3, 4, 5)]

    def uids(**params):
        return set(by_uid(feed_ok(pid, **params)[1]))

    assert uids() == set(ids)
    # [from, to): from is inclusive, to exclusive, any offset.
    assert uids(**{"from": lib.iso_z(at(4))}) == set(ids[1:])
    assert uids(**{"from": lib.iso_z(at(4, "10:01"))}) == {ids[2]}
    assert uids(to=lib.iso_z(at(5))) == set(ids[:2])
    assert uids(**{"from": lib.iso_offset(at(4), 345), "to": lib.iso_offset(at(5), -180)}) == {ids[1]}
    assert uids(**{"from": lib.iso_z(at(5)), "to": lib.iso_z(at(4))}) == set()
    # An unknown parameter is ignored, as everywhere.
    assert uids(color="blue") == set(ids)


def test_default_window():
    pid = provider()
    near = lib.book_ok(pid, at(10))["appointmentId"]
    far = lib.book_ok(pid, at(366 + 5))["appointmentId"]
    # Two years ahead: the old window ended 366 days out and dropped it.
    two_years = lib.book_ok(pid, at(2 * 365 + 3))["appointmentId"]
    old_start = lib.now_utc().replace(microsecond=0) - dt.timedelta(days=PAST_DAYS + 5)
    insert_rows(pid, 1, old_start, 30, "CONFIRMED", prefix="old")
    recent_start = lib.now_utc().replace(microsecond=0) - dt.timedelta(days=PAST_DAYS - 5)
    insert_rows(pid, 1, recent_start, 30, "CONFIRMED", prefix="recent")
    old = lib.sql_value("SELECT id FROM appointments WHERE provider_id = %s AND patient_id = 'old-1'"
                        % lib.q(pid))
    recent = lib.sql_value("SELECT id FROM appointments WHERE provider_id = %s AND patient_id = 'recent-1'"
                           % lib.q(pid))

    def uids(**params):
        return set(by_uid(feed_ok(pid, **params)[1]))

    # No from/to: 90 days back, no upper bound.
    assert uids() == {near, recent, far, two_years}
    # Either bound given: the other side is open, as in GET /api/appointments.
    assert uids(**{"from": lib.iso_z(old_start)}) == {old, recent, near, far, two_years}
    assert uids(to=lib.iso_z(lib.now_utc())) == {old, recent}


def test_errors():
    pid = provider()
    r = feed(lib.uuid4())
    lib.check_error(r, 404, "NOT_FOUND")
    lib.check_error(feed("not-a-uuid"), 404, "NOT_FOUND")
    lib.check_error(feed(lib.uuid4(), "", token=lib.ADMIN_KEY), 404, "NOT_FOUND")
    lib.check_error(feed(pid, **{"from": "nope"}), 422, "VALIDATION_ERROR", field="from")
    lib.check_error(feed(pid, **{"from": "2027-03-15T10:00:00"}), 422, "VALIDATION_ERROR", field="from")
    lib.check_error(feed(pid, to="2027-03-15"), 422, "VALIDATION_ERROR", field="to")
    r = lib.request("GET", feed_path(pid) + "?from=2027-03-15T10:00:00Z&from=2027-03-16T10:00:00Z")
    lib.check_error(r, 422, "VALIDATION_ERROR", field="from")
    r = lib.request("POST", feed_path(pid), body={})
    lib.check_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers.get("allow") == "GET", r.headers
    r = lib.request("HEAD", feed_path(pid))
    assert r.status == 405 and r.headers.get("allow") == "GET", r


def test_etag_and_if_none_match():
    pid = provider()
    a = lib.book_ok(pid, at(6))
    r = feed(pid)
    etag = r.headers.get("etag", "")
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10, r.headers
    assert feed(pid).headers.get("etag") == etag, "the same rows must give the same ETag"
    for inm in (etag, "W/" + etag, '"nope", ' + etag, '"a,b",' + etag, "*"):
        r304 = feed(pid, headers={"If-None-Match": inm})
        assert r304.status == 304 and r304.body == b"", (inm, r304)
        assert r304.headers.get("etag") == etag, r304.headers
        assert "content-length" not in r304.headers or r304.headers["content-length"] == str(len(r.body))
    for inm in ('"nope"', etag[:-2] + '"', "W/", etag.strip('"')):
        assert feed(pid, headers={"If-None-Match": inm}).status == 200, inm
    # Errors come first: a stale client with a bad token still gets 401.
    lib.check_error(feed(pid, "", token="nope", headers={"If-None-Match": etag}), 401, "UNAUTHORIZED")

    lib.expect(lib.reschedule(a["appointmentId"], at(6, "12:00")), 200)
    r2 = feed(pid, headers={"If-None-Match": etag})
    assert r2.status == 200 and r2.headers.get("etag") not in (None, etag), r2


_big = []


def big_provider():
    """A provider with CAP upcoming and 5 past appointments inside the default
    window (made once per run, lazily, so each test can still run alone)."""
    if not _big:
        pid = provider()
        insert_rows(pid, CAP, at(1, "00:00"), 30, prefix="up")
        insert_rows(pid, 5, lib.now_utc().replace(microsecond=0) - dt.timedelta(days=10), 60, prefix="past")
        _big.append(pid)
    return _big[0]


def test_cap_keeps_upcoming_first():
    pid = big_provider()
    _, events = feed_ok(pid)
    assert len(events) == CAP, len(events)
    starts = [one(ev, "DTSTART") for ev in events]
    assert starts == sorted(starts), "events are not in start order"
    assert not any("past-" in unescape(one(ev, "DESCRIPTION")) for ev in events)
    assert sum("up-" in unescape(one(ev, "DESCRIPTION")) for ev in events) == CAP
    # A range that holds the past ones shows them.
    _, events = feed_ok(pid, to=lib.iso_z(lib.now_utc()))
    assert len(events) == 5, len(events)


def slow_read(path):
    """GET with a tiny receive buffer, reading only after a pause, so nginx
    must buffer a large response to a temporary file (which it reports in its
    error log with the request line)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30)
    s.connect((lib.HOST, lib.PORT))
    try:
        s.sendall(("GET %s%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (lib.PREFIX, path, lib.HOST)).encode())
        time.sleep(2.0)
        data = b""
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            data += b
    finally:
        s.close()
    return data


def test_token_never_logged():
    pid = big_provider()
    kid, key = lib.create_key("read", "calendar logs")
    assert feed(pid, "", token=key).status == 200
    assert feed(pid, "", token=key, **{"from": "nope"}).status == 422
    assert feed(lib.uuid4(), "", token=key).status == 404
    data = slow_read(feed_path(pid, token=key))
    assert data.startswith(b"HTTP/1.1 200") and len(data) > 2000000, data[:200]
    lib.dev("ctl", "key", "revoke", kid)
    time.sleep(2.0)
    assert feed(pid, "", token=key).status == 401
    time.sleep(0.5)  # nginx and the workers write their lines after the response
    logs = [p for p in glob.glob(os.path.join(lib.VAR, "log", "*")) +
            glob.glob(os.path.join(lib.VAR, "nginx", "**", "*.log"), recursive=True) if os.path.isfile(p)]
    assert any(p.endswith("nginx-access.log") for p in logs), logs
    secret = key[4:].encode()
    for path in logs:
        with open(path, "rb") as f:
            text = f.read()
        assert secret not in text, "the token appears in " + path
    with open(os.path.join(lib.VAR, "log", "nginx-access.log"), "rb") as f:
        mine = [l for l in f.read().splitlines() if (pid + "/calendar.ics").encode() in l]
    assert len(mine) >= 4 and not any(b"token" in l for l in mine), mine[-3:]
