#!/usr/bin/env python3
"""relay.py - the outbox relay from commit to receipt, with a local receiver.

Called by `./dev bench relay` with APPOINTD_URL, APPOINTD_VAR and
APPOINTD_PSQL set, against the stack ./dev up started (its relay included).
The receiver is a second nginx on its own 127.0.0.1 port that answers 204 to
every request and logs "$msec $http_webhook_id $status", so an event's
receipt time is nginx's clock (1 ms resolution) at the end of its POST, and
the event is known by its webhook-id header (evt_<outbox.event_id>).

Two phases, each run RUNS times, each run with its own webhook subscription
(deleted after the run, which drops its deliveries):

  latency     real bookings (POST /api/appointments through nginx and the
              pool) at a steady RATE for DURATION, open loop. An event's
              commit time is when its booking's 201 reached the client (the
              transaction had committed by then, so the figures leave out at
              most the response's way back, well under a millisecond);
              latency = receipt - commit: p50, p99 and max per run.
  throughput  BURST events inserted straight into the outbox in one
              transaction, for distinct appointments (per-appointment order
              serializes nothing). Commit time: PostgreSQL's clock in the
              statement after the COMMIT. events/s = BURST / (last receipt -
              commit); a burst not all received after BURST_CAP_S counts what
              arrived by then. The synthetic outbox rows are deleted at the end.

The planner statistics of webhook_deliveries are left as the stack has them
(BENCH_RELAY_ANALYZE=1 runs ANALYZE on it half a second into each burst, to
see the relay with statistics that know the backlog).

Prints figures, never pass/fail; the medians over the runs, and each run, go
to $APPOINTD_VAR/bench/relay.json. Bounded: every wait has a deadline and the
whole bench stops after BENCH_RELAY_BUDGET seconds (170) at the latest.
Environment (optional): BENCH_RELAY_RATE (bookings/s, 200),
BENCH_RELAY_DURATION (s, 15), BENCH_RELAY_BURST (events, 5000),
BENCH_RELAY_RUNS (3).
"""
import http.client
import json
import math
import os
import secrets
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

URL = os.environ["APPOINTD_URL"]
VAR = os.environ["APPOINTD_VAR"]
PSQL = shlex.split(os.environ["APPOINTD_PSQL"])
RATE = float(os.environ.get("BENCH_RELAY_RATE", "200"))
DURATION = float(os.environ.get("BENCH_RELAY_DURATION", "15"))
BURST = int(os.environ.get("BENCH_RELAY_BURST", "5000"))
RUNS = int(os.environ.get("BENCH_RELAY_RUNS", "3"))
BUDGET = float(os.environ.get("BENCH_RELAY_BUDGET", "170"))
ANALYZE = os.environ.get("BENCH_RELAY_ANALYZE") == "1"
AUTH = {"Authorization": "Bearer " + os.environ["APPOINTD_ADMIN_KEY"]} if os.environ.get("APPOINTD_ADMIN_KEY") else {}
CLIENTS = 8           # booking threads (open loop: they only keep to the schedule)
DRAIN_S = 15          # latency: longest wait for the last events after the last booking
BURST_CAP_S = 25      # throughput: longest wait for one burst
SETTLE_S = 5          # longest wait for the relay's running statement between runs

T_START = time.time()
DEADLINE = T_START + BUDGET
BENCH_DIR = os.path.join(VAR, "bench")
RCV_DIR = os.path.join(BENCH_DIR, "relay-receiver")
RUN_TAG = secrets.token_hex(4)   # first group of this invocation's synthetic event ids

_u = urllib.parse.urlsplit(URL)
API_HOST, API_PORT = _u.hostname, _u.port or 80


def say(*a):
    print(*a, flush=True)


def left():
    return DEADLINE - time.time()


# ------------------------------------------------------------- database
def sql(*statements):
    """Runs each statement in its own transaction (one -c each, one session);
    returns the rows of all of them, fields split on '|'."""
    cmd = PSQL + ["-qAt", "-v", "ON_ERROR_STOP=1"]
    for s in statements:
        cmd += ["-c", s]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout
    return [line.split("|") for line in out.splitlines() if line]


def settle():
    """Waits (at most SETTLE_S) until no statement on the deliveries is
    running, so that a run does not start inside the last run's relay query."""
    until = min(time.time() + SETTLE_S, DEADLINE)
    while time.time() < until:
        rows = sql("SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                   " AND pid <> pg_backend_pid() AND query LIKE '%webhook_deliveries%'")
        if rows and rows[0][0] == "0":
            return
        time.sleep(0.2)


# ------------------------------------------------------------- the API
def api(method, path, body=None, conn=None):
    own = conn is None
    if own:
        conn = http.client.HTTPConnection(API_HOST, API_PORT, timeout=30)
    data = json.dumps(body) if body is not None else None
    headers = dict(AUTH)
    if data:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    raw = r.read()
    if own:
        conn.close()
    try:
        return r.status, (json.loads(raw) if raw else None)
    except ValueError:
        return r.status, None


def make_provider():
    pid = str(uuid.uuid4())
    day = {"start": "00:00", "end": "24:00"}
    week = {d: day for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}
    st, body = api("POST", f"/api/providers/{pid}/schedule",
                   {"timezone": "UTC", "appointmentDuration": 5, "slotInterval": 5, "weeklySchedule": week})
    if st != 200:
        sys.exit(f"relay bench: creating a provider answered {st}: {body}")
    return pid


SUBSCRIBED = set()   # deleted on the way out whatever happens


def subscribe(port):
    st, body = api("POST", "/api/webhooks",
                   {"url": f"http://127.0.0.1:{port}/hook", "description": "./dev bench relay"})
    if st != 201:
        sys.exit(f"relay bench: POST /api/webhooks answered {st}: {body}")
    SUBSCRIBED.add(body["id"])
    return body["id"]


def unsubscribe(wid):
    """Deletes the subscription and with it its deliveries. The API's DELETE
    gives up on a lock timeout while the relay sits in a long claim; then
    plain SQL, which waits."""
    try:
        st, _ = api("DELETE", f"/api/webhooks/{wid}")
    except (OSError, http.client.HTTPException):
        st = None
    if st not in (204, 404):
        sql(f"DELETE FROM webhooks WHERE id = '{wid}'")
    SUBSCRIBED.discard(wid)


# ------------------------------------------------------------- the receiver
class Receiver:
    def __init__(self):
        os.makedirs(os.path.join(RCV_DIR, "tmp"), exist_ok=True)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.log = os.path.join(RCV_DIR, "access.log")
        self.pidfile = os.path.join(RCV_DIR, "nginx.pid")
        if os.path.exists(self.log):
            os.unlink(self.log)
        conf = os.path.join(RCV_DIR, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""# written by t/bench/relay.py: the webhook receiver of ./dev bench relay
worker_processes 1;
pid {self.pidfile};
error_log {RCV_DIR}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {RCV_DIR}/tmp;
    client_body_buffer_size 64k;
    keepalive_requests 1000000;
    log_format relay '$msec $http_webhook_id $status';
    server {{
        listen 127.0.0.1:{self.port};
        access_log {self.log} relay;
        location / {{ return 204; }}
    }}
}}
""")
        r = subprocess.run(["nginx", "-c", conf, "-p", RCV_DIR], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"relay bench: the receiver nginx did not start: {r.stderr.strip()}")
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        self.pos = 0
        self.seen = {}    # webhook-id -> first receipt (epoch s)
        self.dups = 0
        self.non2xx = 0

    def poll(self):
        """Reads the log lines written since the last call."""
        try:
            with open(self.log, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        self.pos += end
        for line in data[:end].decode(errors="replace").splitlines():
            parts = line.split()
            if len(parts) != 3:
                continue
            t, wid, status = float(parts[0]), parts[1], parts[2]
            if not status.startswith("2"):
                self.non2xx += 1
            if wid in self.seen:
                self.dups += 1
            else:
                self.seen[wid] = t

    def stop(self):
        try:
            with open(self.pidfile) as f:
                os.kill(int(f.read().split()[0]), 15)  # TERM: nginx's fast shutdown
        except (OSError, ValueError, IndexError):
            pass


class RelayLog:
    """Counts the relay's database errors (statement timeouts among them)
    logged since the last call."""
    def __init__(self):
        self.path = os.path.join(VAR, "log", "appointd-relay.log")
        self.pos = os.path.getsize(self.path) if os.path.exists(self.path) else 0

    def errors(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except OSError:
            return None
        self.pos += len(data)
        return data.count(b'"event":"database_error"')


# ------------------------------------------------------------- figures
def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)]  # nearest rank


def median(xs):
    xs = [x for x in xs if x is not None and x == x]
    return statistics.median(xs) if xs else None


def finite(o):
    """NaN is not JSON: null instead."""
    if isinstance(o, float) and o != o:
        return None
    if isinstance(o, dict):
        return {k: finite(v) for k, v in o.items()}
    if isinstance(o, list):
        return [finite(v) for v in o]
    return o


def fmt(x, f):
    return f % x if x is not None and x == x else "n/a"


def rate(x):
    return fmt(x, "%.1f" if x is not None and x < 10 else "%.0f")


# ------------------------------------------------------------- latency
def latency_run(rcv, relay_log, run):
    n = int(RATE * DURATION)
    provider = make_provider()
    wid = subscribe(rcv.port)
    rcv.poll()
    base = (int(time.time()) // 86400 + 70) * 86400
    t_begin = time.time()
    t0 = t_begin + 0.2
    lock = threading.Lock()
    state = {"next": 0}
    done = {}      # appointment id -> (request sent, 201 received)
    errors = []

    def client():
        conn = http.client.HTTPConnection(API_HOST, API_PORT, timeout=30)
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= n:
                break
            delay = t0 + i / RATE - time.time()
            if delay > 0:
                time.sleep(delay)
            start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + i * 300))
            sent = time.time()
            try:
                st, body = api("POST", "/api/appointments",
                               {"patientId": "bench-relay", "providerId": provider, "startTime": start}, conn)
            except (OSError, http.client.HTTPException) as ex:
                errors.append(str(ex))
                conn.close()
                conn = http.client.HTTPConnection(API_HOST, API_PORT, timeout=30)
                continue
            got = time.time()
            if st == 201:
                with lock:
                    done[body["appointmentId"]] = (sent, got)
            else:
                errors.append(f"HTTP {st}")
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_end = time.time()
    rows = sql("SELECT aggregate_id, event_id FROM outbox WHERE event_type = 'APPOINTMENT_CONFIRMED'"
               f" AND created_at >= to_timestamp({t_begin - 1})")
    want = {"evt_" + eid: done[agg][1] for agg, eid in rows if agg in done}
    wait_until = min(time.time() + DRAIN_S, DEADLINE)
    while True:
        rcv.poll()
        if all(w in rcv.seen for w in want) or time.time() >= wait_until:
            break
        time.sleep(0.1)
    lat = [(rcv.seen[w] - c) * 1000 for w, c in want.items() if w in rcv.seen]
    rtt = [(g - s) * 1000 for s, g in done.values()]
    unsubscribe(wid)
    db_errors = relay_log.errors()
    res = {
        "bookings": len(done), "bookingErrors": len(errors),
        "bookingsPerS": len(done) / (t_end - t0) if t_end > t0 else None,
        "bookingP50Ms": pct(rtt, 50),
        "events": len(want), "received": len(lat), "missing": len(done) - len(lat),
        "p50Ms": pct(lat, 50), "p99Ms": pct(lat, 99), "maxMs": max(lat) if lat else float("nan"),
        "relayDbErrors": db_errors,
    }
    say(f"  run {run}: {res['bookings']} bookings at {fmt(res['bookingsPerS'], '%.0f')}/s "
        f"(round trip p50 {res['bookingP50Ms']:.1f} ms{', %d errors' % len(errors) if errors else ''}), "
        f"{res['received']} events received{', %d missing' % res['missing'] if res['missing'] else ''}: "
        f"p50 {res['p50Ms']:.1f} ms, p99 {res['p99Ms']:.1f} ms, max {res['maxMs']:.1f} ms"
        f"{'; relay logged %d database errors' % db_errors if db_errors else ''}")
    return res


# ------------------------------------------------------------- throughput
BURST_SQL = """
INSERT INTO outbox (event_id, event_type, aggregate_id, payload)
SELECT e, 'APPOINTMENT_CONFIRMED', a::text,
       format('{{"eventId":"evt_%s","eventType":"APPOINTMENT_CONFIRMED","timestamp":"%s",'
              '"payload":{{"appointmentId":"%s","patientId":"bench-relay","providerId":"{provider}",'
              '"appointmentTime":"%s","endTime":"%s"}}}}',
              e, ts, a, to_char(st, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              to_char(st + interval '5 minutes', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
FROM (SELECT ('{prefix}' || lpad(to_hex(n), 12, '0'))::uuid AS e, gen_random_uuid() AS a,
             date_trunc('day', now() AT TIME ZONE 'UTC') + interval '200 days' + n * interval '5 minutes' AS st
      FROM generate_series(1, {n}) n) s,
     (SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts) t
"""


def dispatch_span(wid, t0):
    """How many of the burst's deliveries appointd_dispatch() has created,
    and seconds from t0 to the last (next_attempt_at is set then, and a
    successful attempt keeps it)."""
    rows = sql("SELECT count(*), extract(epoch FROM max(next_attempt_at))"
               f" FROM webhook_deliveries WHERE webhook_id = '{wid}'")
    if not rows or not rows[0][1]:
        return 0, None
    return int(rows[0][0]), float(rows[0][1]) - t0


def throughput_run(rcv, relay_log, run):
    n = BURST
    prefix = f"{RUN_TAG}-{run:04x}-4000-8000-"
    wid = subscribe(rcv.port)
    rcv.poll()
    rows = sql(BURST_SQL.format(prefix=prefix, n=n, provider=uuid.uuid4()),
               "SELECT extract(epoch FROM clock_timestamp())")
    t_commit = float(rows[-1][0])
    if ANALYZE:
        time.sleep(max(0.0, t_commit + 0.5 - time.time()))
        sql("ANALYZE webhook_deliveries")
    tag = "evt_" + prefix
    wait_until = min(time.time() + BURST_CAP_S, DEADLINE)
    got = []
    while True:
        rcv.poll()
        got = [t for w, t in rcv.seen.items() if w.startswith(tag)]
        if len(got) >= n or time.time() >= wait_until:
            break
        time.sleep(0.2)
    t_stop = time.time()
    numbered, last_numbered = dispatch_span(wid, t_commit)
    unsubscribe(wid)
    db_errors = relay_log.errors()
    complete = len(got) >= n
    first = (min(got) - t_commit) if got else float("nan")
    last = (max(got) - t_commit) if got else float("nan")
    span = last if complete else t_stop - t_commit
    res = {"events": n, "received": len(got), "complete": complete,
           "eventsPerS": len(got) / span if span > 0 else None,
           "firstReceiptMs": first * 1000, "lastReceiptS": last,
           "numbered": numbered, "lastNumberedS": last_numbered, "relayDbErrors": db_errors}
    say(f"  run {run}: {len(got)} of {n} received"
        f"{'' if complete else ' when it stopped waiting at %.0f s' % span}; "
        f"first after {fmt(first * 1000, '%.0f')} ms, last after {fmt(last, '%.2f')} s "
        f"({'all' if numbered >= n else numbered} numbered, the last after {fmt(last_numbered, '%.2f')} s): "
        f"{rate(res['eventsPerS'])} events/s"
        f"{'; relay logged %d database errors' % db_errors if db_errors else ''}")
    return res


def cleanup_synthetic():
    try:
        sql(f"DELETE FROM outbox WHERE event_id::text LIKE '{RUN_TAG}-%'")
    except subprocess.SubprocessError as ex:
        say(f"  (could not delete the synthetic outbox rows: {ex})")


# ------------------------------------------------------------- main
def booking_context():
    """The booking rate the last `./dev bench http` measured, if any."""
    try:
        with open(os.path.join(VAR, "bench.booking")) as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("relay bench: terminated"))
    os.makedirs(BENCH_DIR, exist_ok=True)
    rcv = Receiver()
    relay_log = RelayLog()
    lat_runs, tput_runs = [], []
    reserve = RUNS * (BURST_CAP_S + SETTLE_S + 3)   # kept for the throughput runs
    try:
        say(f"relay: receiver nginx on 127.0.0.1:{rcv.port}, {RUNS} runs per phase")
        say(f"commit -> receipt latency: bookings through the API at {RATE:.0f}/s for {DURATION:.0f} s")
        for run in range(1, RUNS + 1):
            if left() < DURATION + 5 + reserve:
                say("  (time budget spent: no more latency runs)")
                break
            settle()
            lat_runs.append(latency_run(rcv, relay_log, run))
        say(f"throughput: {BURST} events committed in one transaction"
            f"{' (ANALYZE webhook_deliveries 0.5 s in)' if ANALYZE else ''}")
        for run in range(1, RUNS + 1):
            if left() < 10:
                say("  (time budget spent: no more throughput runs)")
                break
            settle()
            tput_runs.append(throughput_run(rcv, relay_log, run))
    finally:
        for wid in list(SUBSCRIBED):
            unsubscribe(wid)
        rcv.stop()
        cleanup_synthetic()

    summary = {
        "latency": {
            "rateTarget": RATE, "durationS": DURATION,
            "bookingsPerS": median([r["bookingsPerS"] for r in lat_runs]),
            "p50Ms": median([r["p50Ms"] for r in lat_runs]),
            "p99Ms": median([r["p99Ms"] for r in lat_runs]),
            "maxMs": median([r["maxMs"] for r in lat_runs]),
            "missing": sum(r["missing"] for r in lat_runs),
            "runs": lat_runs,
        },
        "throughput": {
            "burst": BURST, "analyze": ANALYZE,
            "eventsPerS": median([r["eventsPerS"] for r in tput_runs]),
            "complete": bool(tput_runs) and all(r["complete"] for r in tput_runs),
            "runs": tput_runs,
        },
        "bookingRateHttpBench": booking_context(),
        "receiver": {"duplicates": rcv.dups, "non2xx": rcv.non2xx},
        "elapsedS": time.time() - T_START,
    }
    L, T = summary["latency"], summary["throughput"]
    say(f"latency (median of {len(lat_runs)}): p50 {fmt(L['p50Ms'], '%.1f')} ms, "
        f"p99 {fmt(L['p99Ms'], '%.1f')} ms, max {fmt(L['maxMs'], '%.1f')} ms "
        f"at {fmt(L['bookingsPerS'], '%.0f')} bookings/s"
        f"{', %d events never received' % L['missing'] if L['missing'] else ''}")
    say(f"throughput (median of {len(tput_runs)}): {rate(T['eventsPerS'])} events/s"
        f"{'' if T['complete'] else ' (a burst was not all received in time)'}"
        f"{', %d duplicate receipts' % rcv.dups if rcv.dups else ''}"
        f"{', %d non-2xx answers' % rcv.non2xx if rcv.non2xx else ''}")
    if summary["bookingRateHttpBench"]:
        say(f"booking rate (last ./dev bench http): {summary['bookingRateHttpBench']:.0f} req/s")
    with open(os.path.join(BENCH_DIR, "relay.json"), "w") as fh:
        json.dump(finite(summary), fh, indent=2)
        fh.write("\n")
    say(f"figures in {os.path.join(BENCH_DIR, 'relay.json')} ({summary['elapsedS']:.0f} s)")


if __name__ == "__main__":
    main()
