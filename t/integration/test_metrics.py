"""GET /metrics: Prometheus text for the whole pool, read with an independent
parser; counters that count every worker's requests and outlive the workers;
bookings by outcome; database reconnects; the relays' deliveries; loopback
only."""

import http.client
import os
import re
from concurrent.futures import ThreadPoolExecutor

import lib
from lib import expect, get, post
from receiver import Receiver
from test_webhooks import Hooks, is_status, wait_delivery

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+]+|NaN|[+-]Inf)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
FAMILIES = {
    "appointd_http_requests_total": "counter",
    "appointd_http_request_duration_seconds": "histogram",
    "appointd_workers": "gauge",
    "appointd_bookings_total": "counter",
    "appointd_db_errors_total": "counter",
    "appointd_db_reconnects_total": "counter",
    "appointd_pool_respawns_total": "counter",
    "appointd_outbox_backlog": "gauge",
    "appointd_webhook_deliveries_pending": "gauge",
    "appointd_webhook_deliveries_total": "counter",
    "appointd_database_up": "gauge",
}


def parse(text):
    """{(name, frozenset(labels)): value} and {family: type}, checking the
    exposition format's rules on the way."""
    samples, types, helped = {}, {}, set()
    assert text.endswith("\n"), "the last line must end with a newline"
    for line in text.split("\n")[:-1]:
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert name not in helped, "two HELP lines for " + name
            helped.add(name)
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in types, "two TYPE lines for " + name
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            types[name] = kind
            continue
        m = SAMPLE_RE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels = m.group(1), frozenset(LABEL_RE.findall(m.group(3) or ""))
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, "sample before its TYPE line: %r" % line
        assert (name, labels) not in samples, "duplicate sample %r" % line
        samples[(name, labels)] = float(m.group(4))
    return samples, types


def scrape():
    r = get("/metrics", auth=False)
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4"), r.headers
    return parse(r.text)[0]


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_format_families_and_histograms():
    get("/health", auth=False)
    text = get("/metrics", auth=False).text
    samples, types = parse(text)
    for family, kind in FAMILIES.items():
        assert types.get(family) == kind, (family, types.get(family))
    # Each histogram series: cumulative buckets, +Inf equal to _count.
    series = {}
    for (name, labels), v in samples.items():
        if name == "appointd_http_request_duration_seconds_bucket":
            d = dict(labels)
            le = d.pop("le")
            series.setdefault(frozenset(d.items()), []).append((float(le), v))
    assert series, "no histogram series after requests"
    for key, buckets in series.items():
        buckets.sort()
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), (key, buckets)
        assert buckets[-1][0] == float("inf"), buckets
        assert buckets[-1][1] == value(samples, "appointd_http_request_duration_seconds_count", **dict(key))
        assert value(samples, "appointd_http_request_duration_seconds_sum", **dict(key)) >= 0
    assert value(samples, "appointd_database_up") == 1
    assert value(samples, "appointd_workers", state="busy") >= 1  # the one answering
    assert value(samples, "appointd_workers", state="idle") >= 0


def test_requests_of_every_worker_counted_once():
    pid = lib.uuid4()
    before = scrape()
    n = 40
    for _ in range(n):  # a new connection each: nginx spreads them over the workers
        expect(get("/api/providers/%s" % pid), 404)
        lib.check_error(get("/api/nothing-here"), 404, "NOT_FOUND")
    lib.check_error(lib.request("PATCH", "/api/appointments"), 405, "METHOD_NOT_ALLOWED")
    after = scrape()
    route = dict(route="/api/providers/{id}", method="GET")
    assert value(after, "appointd_http_requests_total", status="404", **route) - \
        value(before, "appointd_http_requests_total", status="404", **route) == n
    assert value(after, "appointd_http_request_duration_seconds_count", **route) - \
        value(before, "appointd_http_request_duration_seconds_count", **route) == n
    unmatched = dict(route="unmatched", method="*")
    assert value(after, "appointd_http_requests_total", status="404", **unmatched) - \
        value(before, "appointd_http_requests_total", status="404", **unmatched) == n
    assert value(after, "appointd_http_requests_total", status="405", **unmatched) - \
        value(before, "appointd_http_requests_total", status="405", **unmatched) == 1


def test_bookings_by_outcome():
    pid = lib.make_provider("UTC", weeklySchedule=lib.all_days("09:00", "17:00"))
    start = "%sT10:00:00.000Z" % lib.future_date(days=3)
    before = scrape()
    body = {"providerId": pid, "patientId": lib.patient(), "startTime": start}
    idem = {"Idempotency-Key": "metrics-" + lib.uuid4()}
    expect(post("/api/appointments", body, headers=idem), 201)
    r = post("/api/appointments", body, headers=idem)
    assert r.status == 201 and r.headers.get("idempotent-replayed") == "true", r
    lib.check_error(post("/api/appointments", dict(body, patientId=lib.patient())), 409, "CONFLICT")
    lib.check_error(post("/api/appointments", dict(body, startTime="tomorrow")), 422, "VALIDATION_ERROR")
    lib.check_error(post("/api/appointments", raw="{", headers={"Content-Type": "application/json"}),
                    400, "BAD_REQUEST")
    after = scrape()
    delta = {o: value(after, "appointd_bookings_total", outcome=o) -
             value(before, "appointd_bookings_total", outcome=o)
             for o in ("created", "replayed", "conflict", "rejected", "error")}
    assert delta == {"created": 1, "replayed": 1, "conflict": 1, "rejected": 2, "error": 0}, delta


def test_counters_outlive_killed_workers():
    pid = lib.uuid4()
    for _ in range(10):
        expect(get("/api/providers/%s" % pid), 404)
    before = scrape()
    victims = lib.worker_pids()
    assert victims
    for w in victims:
        os.kill(w, 9)
    assert lib.wait_until(lambda: len(set(lib.worker_pids()) - set(victims)) >= len(victims), 15), \
        "the workers were not replaced"
    assert lib.wait_until(lambda: get("/health", auth=False).status == 200, 10)
    after = scrape()
    route = dict(route="/api/providers/{id}", method="GET", status="404")
    assert value(after, "appointd_http_requests_total", **route) == \
        value(before, "appointd_http_requests_total", **route) >= 10
    assert value(after, "appointd_pool_respawns_total") - \
        value(before, "appointd_pool_respawns_total") >= len(victims)


def health_burst(n=16):
    """n concurrent GET /health: idle workers race for each, so a burst reaches most of them."""
    with ThreadPoolExecutor(n) as ex:
        return all(r.status == 200 for r in ex.map(lambda _: get("/health", auth=False), range(n)))


def test_database_reconnects_counted():
    assert health_burst()  # workers that serve it hold a session
    before = scrape()
    killed = int(lib.sql_value("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                               " WHERE application_name = 'appointd' AND pid <> pg_backend_pid()"))
    assert killed >= 1
    # A worker notices its lost session on its next request and reconnects. Which
    # workers serve a request is up to the race for the socket, so bursts go on
    # until one of those that held a session has served one.
    after = lib.wait_until(lambda: health_burst() and (lambda s: s if value(
        s, "appointd_db_reconnects_total") > value(before, "appointd_db_reconnects_total") else None)(
            scrape()), 10)
    assert after, "no reconnect was counted"


def test_relay_deliveries_by_outcome():
    pid = lib.make_provider("UTC", weeklySchedule=lib.all_days("09:00", "17:00"))
    with Receiver() as recv, Hooks(recv) as hooks:
        w = hooks.create(eventTypes=["APPOINTMENT_CONFIRMED"])
        before = scrape()
        recv.fail_next(500)
        appt = lib.book_ok(pid, "%sT11:00:00.000Z" % lib.future_date(days=4))
        event = "evt_" + lib.outbox(appt["appointmentId"])[0]["event_id"]
        wait_delivery(w["id"], event, is_status("delivered"), timeout=20)
        after = lib.wait_until(lambda: (lambda s: s if value(s, "appointd_webhook_deliveries_total",
                                                             outcome="delivered") >
                                        value(before, "appointd_webhook_deliveries_total",
                                              outcome="delivered") else None)(scrape()), 10)
        assert after, "the delivery was not counted"
        for outcome in ("retried", "delivered"):
            assert value(after, "appointd_webhook_deliveries_total", outcome=outcome) - \
                value(before, "appointd_webhook_deliveries_total", outcome=outcome) >= 1, outcome
        assert ("appointd_webhook_deliveries_pending", frozenset()) in after


def test_metrics_and_status_only_for_loopback_127_0_0_1():
    # 127.0.0.2 is a local address, but not the one nginx allows.
    for path in ("/metrics", "/status"):
        c = http.client.HTTPConnection(lib.HOST, lib.PORT, timeout=10, source_address=("127.0.0.2", 0))
        try:
            c.request("GET", lib.PREFIX + path)
            r = c.getresponse()
            body = r.read()
        finally:
            c.close()
        assert r.status == 403, (path, r.status, body)
        assert b'"code":"FORBIDDEN"' in body, body
    expect(get("/metrics", auth=False), 200)


def test_status_agrees_with_metrics():
    j = expect(get("/status", auth=False), 200)
    lib.assert_utc_ms(j["startTime"], "startTime")  # every returned instant has milliseconds
    w = j["workers"]
    assert w["total"] == len(j["processes"]) >= 1 and w["busy"] >= 1, j
    s = scrape()
    assert value(s, "appointd_pool_start_time_seconds") == \
        int(lib.parse_instant(j["startTime"]).timestamp())
