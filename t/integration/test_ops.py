"""Operations: /health, X-Request-Id, keep-alive behaviour through nginx."""

import threading
import time

from lib import (assert_utc_ms, availability, check_error, connection, future_date, get,
                 make_provider, post_schedule, request, uuid4, worker_pids)


def test_health():
    r = get("/health", auth=False)
    assert r.status == 200, r
    j = r.json
    assert j["status"] == "UP" and j["checks"] == {"database": "UP"}, j
    assert isinstance(j["timestamp"], str), j
    assert_utc_ms(j["timestamp"], "timestamp")
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    r = request("HEAD", "/health", auth=False)
    assert r.status in (200, 405), r


def test_request_id_on_every_response():
    pid = make_provider()
    cases = [get("/health"), get("/api/providers/%s" % pid), get("/api/nope"),
             get("/api/providers/%s" % uuid4()), request("GET", "/api/providers/%s/schedule" % pid),
             post_schedule(uuid4(), {"timezone": "EST"}),
             request("POST", "/api/providers/%s/schedule" % uuid4(), raw="x" * (70 * 1024),
                     headers={"Content-Type": "application/json"}),
             availability(pid, date=str(future_date()))]
    ids = []
    for r in cases:
        rid = r.headers.get("x-request-id")
        assert rid, "no X-Request-Id on %r" % r
        ids.append(rid)
    assert len(set(ids)) == len(ids), "request ids repeat: %r" % ids


def test_request_id_echoed():
    for rid in ("itest-" + uuid4(), "abc123"):
        r = get("/health", headers={"X-Request-Id": rid})
        assert r.headers.get("x-request-id") == rid, (rid, r.headers)
        r = get("/api/providers/%s" % uuid4(), headers={"X-Request-Id": rid})
        check_error(r, 404, "NOT_FOUND")
        assert r.headers.get("x-request-id") == rid, (rid, r.headers)


def test_keepalive_connections_do_not_stall_pool():
    """Open (workers x 3) concurrent keep-alive connections through nginx and use
    each several times: nothing may wait on an idle kept-alive upstream."""
    workers = len(worker_pids())
    assert workers >= 1, "no workers"
    pid = make_provider()
    d = str(future_date())
    n_conn = workers * 3
    per_conn = 5
    deadline = time.monotonic() + 10.0
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(n_conn)

    def client(i):
        c = connection(timeout=3)
        try:
            barrier.wait(timeout=10)
            for k in range(per_conn):
                if time.monotonic() > deadline:
                    with lock:
                        results.append((i, k, None, "deadline"))
                    return
                t0 = time.monotonic()
                try:
                    path = "/health" if k % 2 == 0 else "/api/providers/%s/availability?date=%s" % (pid, d)
                    r = request("GET", path, conn=c, headers={"Connection": "keep-alive"})
                    res = (i, k, time.monotonic() - t0, r.status)
                except Exception as e:  # noqa: BLE001
                    res = (i, k, time.monotonic() - t0, "%s: %s" % (type(e).__name__, e))
                with lock:
                    results.append(res)
                # hold the connection open idle for a moment between requests
                time.sleep(0.2)
        finally:
            c.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(n_conn)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads), "clients still running"
    bad = [r for r in results if r[3] != 200 or r[2] is None or r[2] > 2.0]
    assert len(results) == n_conn * per_conn, "only %d of %d requests ran: %r" % (
        len(results), n_conn * per_conn, bad[:5])
    assert not bad, "%d slow or failed requests over %d keep-alive connections (%d workers), e.g. %r" % (
        len(bad), n_conn, workers, bad[:5])


def test_idle_keepalive_client_does_not_block_others():
    """A client that opens a kept-alive connection and then goes quiet must not
    hold a worker: with every worker's worth of idle clients parked, new
    requests still complete."""
    workers = len(worker_pids())
    idle = []
    try:
        for _ in range(workers * 2):
            c = connection(timeout=3)
            r = request("GET", "/health", conn=c, headers={"Connection": "keep-alive"})
            assert r.status == 200, r
            idle.append(c)
        t0 = time.monotonic()
        for _ in range(workers * 2):
            r = get("/health", timeout=3)
            assert r.status == 200, r
        assert time.monotonic() - t0 < 5.0, "requests slowed down by idle keep-alive clients"
    finally:
        for c in idle:
            c.close()


def _tail_lines(path, nbytes=512 * 1024):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - nbytes))
            return f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def test_request_logged_as_json_line_with_id():
    import glob
    import json
    import os
    from lib import VAR
    rid = "itest-log-" + uuid4()
    r = get("/api/providers/%s" % uuid4(), headers={"X-Request-Id": rid})
    assert r.status == 404, r

    def found():
        for path in glob.glob(os.path.join(VAR, "log", "*")):
            for line in _tail_lines(path):
                if rid in line:
                    try:
                        j = json.loads(line)
                    except ValueError:
                        continue
                    if rid in j.values():
                        return j
        return None
    from lib import wait_until
    j = wait_until(found, timeout=3.0)
    assert j, "no JSON log line carrying request id %s under %s/log" % (rid, VAR)
