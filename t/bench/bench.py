#!/usr/bin/env python3
"""bench.py - ./dev bench: appointd's figures side by side with the ceilings
of its architecture, measured in one run on one machine (issue 7).

Called by `./dev bench [PART...]` once the stack is up (rate limits off),
with APPOINTD_ROOT, APPOINTD_VAR, APPOINTD_URL, APPOINTD_ADMIN_KEY,
APPOINTD_PSQL, APPOINTD_DB_URL, APPOINTD_BUILD_DIR, APPOINTD_PGBENCH and
APPOINTD_PG_DATA (empty with an external DATABASE_URL) set. Parts, in the
order they run when none is named (`all`):

  engine    the engine bench (t/bench/engine_bench.c), no I/O
  http      every figure at each connection count, interleaved run by run
            with the ceilings (so a ceiling and the figures it bounds see the
            same machine), after a warm-up of each: wrk with t/bench/wrk.lua
  ceilings  the ceilings alone (part of http):
              nginx `return 200` on its own port;
              nginx in front of t/bench/fcgi_ceiling.c (prefork, as many
              workers as the pool) answering a fixed body, and running one
              prepared primary-key SELECT over a persistent connection; both
              through the same nginx site template as appointd;
              pgbench with t/bench/booking.pgbench (the booking transaction's
              statements, durable commits) at the same client counts, in
              sessions that set appointd.notify_after_commit as appointd's
              do, so that the outbox trigger does not NOTIFY; appointd's
              wake-up after the commit (migration 0006) is not in it, so
              the ceiling is PostgreSQL's share alone
  relay     t/bench/relay.py (commit -> webhook receipt, events/s)
  rss       the pool workers' VmRSS (sum, max) after a warm-up and after
            BENCH_RSS_REQUESTS requests of the mixed workload, the pool
            reloaded with max_requests = 0 for the part so that no worker is
            recycled in between (restored afterwards)
  bulk      BENCH_BULK_APPOINTMENTS rows for other providers loaded with one
            INSERT ... SELECT generate_series, then availability (one date)
            and booking measured again; the rows are deleted afterwards

Prints one table (figure, appointd req/s, ceiling req/s, ratio, p50, p99,
non-2xx, CPU seconds of nginx / pool / PostgreSQL / the load generator /
everything else on the machine, each the median per run) and the issue's
targets next to the ratios, never asserted. Everything goes to
$APPOINTD_VAR/bench/bench-<UTC time>.json.

Bounded: 127.0.0.1 only; every run has a duration; the whole invocation
gives up measuring after BENCH_BUDGET seconds (what was not measured is
named). Environment (optional):
  BENCH_DURATION      one run, seconds ("4", "4s"; default 4: with the
                      rest of the defaults, ./dev bench takes about 13
                      minutes here)
  BENCH_RUNS          runs per figure, medians reported (3)
  BENCH_WARMUP        warm-up before each figure, seconds (1)
  BENCH_CONNECTIONS   connection counts (16,64)
  BENCH_THREADS       wrk threads and pgbench -j (2)
  BENCH_PROVIDERS     providers the writes spread over (64)
  BENCH_RSS_REQUESTS  requests between the two RSS readings (200000)
  BENCH_BULK_APPOINTMENTS  rows loaded for the bulk part (1000000)
  BENCH_BUDGET        seconds for the whole invocation (830): a part that
                      would not fit is skipped and named; rss runs fewer
                      requests than BENCH_RSS_REQUESTS (and says so)
  BENCH_ONLY          http/ceilings: only these figures, by key (e.g.
                      avail_1d,fcgi_query; keys in make_items), for profiling
  BENCH_KEEP=1        leave this run's providers and appointments in place
                      for inspection (the next run sweeps them away)
"""
import datetime as dt
import glob
import http.client
import json
import math
import os
import re
import resource
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse

ROOT = os.environ.get("APPOINTD_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VAR = os.environ["APPOINTD_VAR"]
BUILD = os.environ["APPOINTD_BUILD_DIR"]
URL = os.environ.get("APPOINTD_URL", "")
KEY = os.environ.get("APPOINTD_ADMIN_KEY", "")
PSQL = shlex.split(os.environ.get("APPOINTD_PSQL", ""))
DB_URL = os.environ.get("APPOINTD_DB_URL", "")
PGBENCH = os.environ.get("APPOINTD_PGBENCH") or shutil.which("pgbench") or "pgbench"
PG_DATA = os.environ.get("APPOINTD_PG_DATA", "")
BENCH = os.path.join(ROOT, "t", "bench")
OUT_DIR = os.path.join(VAR, "bench")


def seconds(v, dflt):
    v = (v or "").strip()
    if not v:
        return dflt
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|m)?", v)
    if not m:
        sys.exit(f"bench: cannot read the duration {v!r} (e.g. 5 or 5s)")
    x = float(m.group(1))
    return x / 1000 if m.group(2) == "ms" else x * 60 if m.group(2) == "m" else x


def env_int(name, dflt):
    v = os.environ.get(name, "").strip()
    return int(float(v)) if v else dflt


DURATION = seconds(os.environ.get("BENCH_DURATION"), 4.0)
RUNS = max(1, env_int("BENCH_RUNS", 3))
WARMUP = seconds(os.environ.get("BENCH_WARMUP"), 1.0)
CONNS = [int(c) for c in (os.environ.get("BENCH_CONNECTIONS") or "16,64").split(",") if c.strip()]
THREADS = max(1, env_int("BENCH_THREADS", 2))
PROVIDERS = max(1, env_int("BENCH_PROVIDERS", 64))
RSS_N = env_int("BENCH_RSS_REQUESTS", 200000)
BULK_N = env_int("BENCH_BULK_APPOINTMENTS", 1000000)
BUDGET = seconds(os.environ.get("BENCH_BUDGET"), 830.0)
ONLY = [k.strip() for k in os.environ.get("BENCH_ONLY", "").split(",") if k.strip()]

T0 = time.time()
DEADLINE = T0 + BUDGET
STAMP = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
WORK = os.path.join(OUT_DIR, "work-" + STAMP)
HZ = os.sysconf("SC_CLK_TCK")
TAG = secrets.token_hex(4)          # first group of every id this invocation makes
PATIENT = "appointd-bench"           # patientId of every appointment it makes
SLOT_S = 300                         # the write providers' slots: 5 minutes, 24/7
SVC = "bench-class"                  # the service of the two service figures
SVC_READERS = 4                      # providers its availability figure reads
SEAT_PROVIDERS = 4                   # providers its seat bookings spread over
SEATS = 1000                         # the seat figure's capacity: seats per session

u = urllib.parse.urlsplit(URL) if URL else None
API_HOST, API_PORT = (u.hostname, u.port or 80) if u else (None, None)


def say(*a):
    print(*a, flush=True)


def left():
    return DEADLINE - time.time()


class OutOfTime(Exception):
    pass


# ------------------------------------------------------------- database
def sql(*statements, timeout=600):
    """Runs each statement in its own transaction (one -c each, one
    session); returns the rows of all of them, fields split on '|'."""
    cmd = PSQL + ["-qAt", "-v", "ON_ERROR_STOP=1"]
    for s in statements:
        cmd += ["-c", s]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"psql failed: {r.stderr.strip()}")
    return [line.split("|") for line in r.stdout.splitlines() if line]


# ------------------------------------------------------------- the API
def api(method, path, body=None):
    conn = http.client.HTTPConnection(API_HOST, API_PORT, timeout=30)
    headers = {"Authorization": "Bearer " + KEY}
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    raw = r.read()
    conn.close()
    return r.status, raw


def upsert_provider(pid, config):
    st, raw = api("POST", f"/api/providers/{pid}/schedule", config)
    if st != 200:
        sys.exit(f"bench: creating provider {pid} answered {st}: {raw[:200]!r}")


def put_service(pid, sid, body):
    st, raw = api("PUT", f"/api/providers/{pid}/services/{sid}", body)
    if st not in (200, 201):
        sys.exit(f"bench: creating service {sid} of {pid} answered {st}: {raw[:200]!r}")


# ------------------------------------------------------------- processes
def read_pid(path):
    try:
        with open(path) as f:
            return int(f.readline().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def proc_table():
    """pid -> (ppid, own ticks, reaped children's ticks) for every process."""
    t = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(")") + 2:].split()
        t[int(d)] = (int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14]))
    return t


def descendants(table, root):
    kids = {}
    for pid, (ppid, _, _) in table.items():
        kids.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def machine_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]    # all but idle and iowait


class Groups:
    """CPU ticks of process trees (a master and everything under it, the
    children it has reaped included), read from /proc/<pid>/stat."""
    def __init__(self):
        self.roots = {}

    def set(self, name, pid):
        if pid:
            self.roots[name] = pid
        else:
            self.roots.pop(name, None)

    def snapshot(self):
        table = proc_table()
        ticks = {}
        for name, root in self.roots.items():
            if root not in table:
                continue
            total = 0
            for p in descendants(table, root):
                if p in table:
                    total += table[p][1] + table[p][2]
            ticks[name] = total
        return {"groups": ticks, "busy": machine_busy(), "client": client_ticks()}


def client_ticks():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * HZ


def cpu_delta(a, b, cols):
    """Seconds per column (cols: column -> group name or None), the load
    generator's, and everything else the machine ran meanwhile."""
    out = {}
    ours = 0.0
    for name in b["groups"]:
        if name in a["groups"]:
            ours += b["groups"][name] - a["groups"][name]
    for col, name in cols.items():
        if name and name in a["groups"] and name in b["groups"]:
            out[col] = (b["groups"][name] - a["groups"][name]) / HZ
        else:
            out[col] = None
    client = b["client"] - a["client"]
    out["client"] = client / HZ
    out["other"] = max(0.0, (b["busy"] - a["busy"]) - ours - client) / HZ
    return out


GROUPS = Groups()


def find_stack():
    GROUPS.set("nginx", read_pid(os.path.join(VAR, "run", "nginx.pid")))
    GROUPS.set("pool", read_pid(os.path.join(VAR, "run", "appointd.pid")))
    GROUPS.set("relay", read_pid(os.path.join(VAR, "run", "appointd-relay.pid")))
    GROUPS.set("pg", read_pid(os.path.join(PG_DATA, "postmaster.pid")) if PG_DATA else None)


def pool_config():
    conf = {"workers": 4, "max_requests": 10000, "listen_backlog": 1024}
    try:
        with open(os.path.join(VAR, "etc", "appointd.conf")) as f:
            for line in f:
                m = re.match(r"\s*(workers|max_requests|listen_backlog)\s*=\s*(\d+)", line)
                if m:
                    conf[m.group(1)] = int(m.group(2))
    except OSError:
        pass
    for k in conf:
        v = os.environ.get("APPOINTD_" + k.upper())
        if v and v.isdigit():
            conf[k] = int(v)
    return conf


def pool_workers():
    master = read_pid(os.path.join(VAR, "run", "appointd.pid"))
    table = proc_table()
    return sorted(p for p, (pp, _, _) in table.items() if pp == master)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10):
    until = time.time() + timeout
    while time.time() < until:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


# ------------------------------------------------------------- fixtures
def pid_of(kind, i=0):
    """The bench's ids: TAG, a kind nibble group, an index."""
    return f"{TAG}-{kind}-4000-8000-{i:012x}"


WEEK_ALL = {d: {"start": "00:00", "end": "24:00"}
            for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}
WRITE_CONFIG = {"timezone": "UTC", "appointmentDuration": 5, "slotInterval": 5, "weeklySchedule": WEEK_ALL}
# A realistic provider for the reads: two intervals a weekday, 30-minute
# slots, a third of them booked for the next 90 days.
READ_CONFIG = {"timezone": "Europe/Berlin", "appointmentDuration": 30, "slotInterval": 30,
               "weeklySchedule": {d: [{"start": "08:00", "end": "12:00"}, {"start": "13:00", "end": "18:00"}]
                                  for d in ("monday", "tuesday", "wednesday", "thursday", "friday")}}
# The service figure's providers: the same week, with provider limits too.
SVC_READ_CONFIG = dict(READ_CONFIG, limits={"perDay": 8, "perWeek": 30})
# Their service: an hour, 10 seats a session, at most 5 sessions a local day
# and 20 an ISO week; the seat providers' one has 1000 seats and no limits.
SVC_READ_BODY = {"name": "Bench class", "duration": 60, "capacity": 10, "limits": {"perDay": 5, "perWeek": 20}}
SVC_SEAT_BODY = {"name": "Bench seats", "duration": 60, "capacity": SEATS}


class Fixtures:
    def __init__(self):
        os.makedirs(WORK, exist_ok=True)
        self.reader = pid_of("000a")
        self.writers = [pid_of("000b", i) for i in range(PROVIDERS)]
        self.svc_readers = [pid_of("000d", i) for i in range(SVC_READERS)]
        self.seat_writers = [pid_of("000f", i) for i in range(SEAT_PROVIDERS)]
        self.pgb_prefix = f"{TAG}-000c-4000-8000-"
        self.bulk_prefix = f"{TAG}-000e-4000-8000-"
        # Write regions: each run books or moves into slots no earlier run
        # used, from 30 days ahead on.
        self.next_region = (int(time.time()) // 86400 + 30) * 86400
        self.nfiles = 0
        self.pgbench_runs = 0

    def region(self, slots_per_provider):
        days = max(1, math.ceil(slots_per_provider * SLOT_S / 86400) + 1)
        start = self.next_region
        self.next_region += days * 86400
        return start

    def file(self, lines):
        self.nfiles += 1
        path = os.path.join(WORK, f"in-{self.nfiles}.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def create(self):
        say(f"fixtures: providers {TAG}-*: 1 to read, {SVC_READERS} to read a service of, {PROVIDERS} to write "
            f"through the API, {SEAT_PROVIDERS} to book seats of, {PROVIDERS} for pgbench")
        upsert_provider(self.reader, READ_CONFIG)
        for p in self.writers:
            upsert_provider(p, WRITE_CONFIG)
        for p in self.svc_readers:
            upsert_provider(p, SVC_READ_CONFIG)
            put_service(p, SVC, SVC_READ_BODY)
        for p in self.seat_writers:
            upsert_provider(p, WRITE_CONFIG)
            put_service(p, SVC, SVC_SEAT_BODY)
        readers = ", ".join(f"'{p}'::uuid" for p in self.svc_readers)
        sql(f"""INSERT INTO providers (id, config, created_at, updated_at)
                SELECT ('{self.pgb_prefix}' || lpad(to_hex(i), 12, '0'))::uuid, w.config, now(), now()
                FROM generate_series(0, {PROVIDERS - 1}) i, providers w WHERE w.id = '{self.writers[0]}'""",
            # A third of the reader's slots booked, 90 days ahead.
            f"""INSERT INTO appointments (id, provider_id, patient_id, start_at, end_at, status,
                                          version, created_at, updated_at)
                SELECT gen_random_uuid(), '{self.reader}', '{PATIENT}', s, s + interval '30 minutes',
                       'CONFIRMED', 1, now(), now()
                FROM generate_series(current_date + 1, current_date + 90, interval '1 day') d,
                     generate_series(0, 17) k,
                     LATERAL (SELECT (d::date + CASE WHEN k < 8 THEN time '08:00' + k * interval '30 minutes'
                                                     ELSE time '13:00' + (k - 8) * interval '30 minutes' END)
                                     AT TIME ZONE 'Europe/Berlin' AS s) x
                WHERE extract(isodow FROM d) < 6 AND (k + extract(doy FROM d)::int) % 3 = 0""",
            # The service providers, 90 days ahead, each weekday: one default
            # appointment at 11:00 and 1 to 5 sessions of the service (so
            # some days reach its perDay and offer only the seats left), 08:00,
            # 10:00, 13:00, 15:00, 17:00 local, with 1 to 9 seats taken each.
            f"""INSERT INTO appointments (id, provider_id, patient_id, start_at, end_at, status,
                                          version, created_at, updated_at, service_id)
                SELECT gen_random_uuid(), p, '{PATIENT}', s, s + interval '30 minutes',
                       'CONFIRMED', 1, now(), now(), 'default'
                FROM unnest(ARRAY[{readers}]) p,
                     generate_series(current_date + 1, current_date + 90, interval '1 day') d,
                     LATERAL (SELECT (d::date + time '11:00') AT TIME ZONE 'Europe/Berlin' AS s) x
                WHERE extract(isodow FROM d) < 6""",
            f"""INSERT INTO appointments (id, provider_id, patient_id, start_at, end_at, status,
                                          version, created_at, updated_at, service_id)
                SELECT gen_random_uuid(), p, '{PATIENT}', s, s + interval '60 minutes',
                       'CONFIRMED', 1, now(), now(), '{SVC}'
                FROM unnest(ARRAY[{readers}]) p,
                     generate_series(current_date + 1, current_date + 90, interval '1 day') d,
                     generate_series(0, 4) j,
                     LATERAL (SELECT (d::date + (ARRAY[time '08:00', time '10:00', time '13:00', time '15:00',
                                                       time '17:00'])[j + 1]) AT TIME ZONE 'Europe/Berlin' AS s) x,
                     generate_series(1, 1 + (j + extract(doy FROM d)::int) % 9) seat
                WHERE extract(isodow FROM d) < 6 AND j <= extract(doy FROM d)::int % 5""",
            "ANALYZE appointments")
        today = dt.datetime.now(dt.timezone.utc).date()
        days = [today + dt.timedelta(days=i) for i in range(1, 40)]
        weekdays = [d for d in days if d.weekday() < 5][:20]
        r = f"/api/providers/{self.reader}/availability"
        self.paths_1d = self.file([f"{r}?date={d}" for d in weekdays])
        self.paths_svc = self.file([f"/api/providers/{p}/availability?date={d}&service={SVC}"
                                    for d in weekdays for p in self.svc_readers])
        self.seat_writers_file = self.file(self.seat_writers)
        self.paths_7d = self.file([f"{r}?startDate={d}&endDate={d + dt.timedelta(days=6)}" for d in days[:20]])
        self.paths_62d = self.file([f"{r}?startDate={d}&endDate={d + dt.timedelta(days=61)}" for d in days[:7]])
        ids = [row[0] for row in sql(f"SELECT id FROM appointments WHERE provider_id = '{self.reader}'"
                                     " ORDER BY start_at LIMIT 500")]
        self.paths_get = self.file([f"/api/appointments/{i}" for i in ids])
        monday = today + dt.timedelta(days=7 - today.weekday())
        self.paths_week = self.file([
            f"/api/appointments?providerId={self.reader}&from={monday + dt.timedelta(weeks=w)}T00:00:00Z"
            f"&to={monday + dt.timedelta(weeks=w + 1)}T00:00:00Z&limit=100" for w in range(8)])
        self.writers_file = self.file(self.writers)
        self.ceiling_paths = {"fixed": self.file(["/api/ceiling/fixed"]),
                              "query": self.file([f"/api/ceiling/query?id={self.reader}"]),
                              "static": self.file(["/"])}
        st, raw = api("GET", f"/api/providers/{self.reader}/availability?date={weekdays[0]}")
        self.sample_1d_bytes = len(raw)
        st, raw = api("GET", f"/api/providers/{self.svc_readers[0]}/availability?date={weekdays[0]}&service={SVC}")
        if st != 200:
            sys.exit(f"bench: the service's availability answered {st}: {raw[:200]!r}")
        self.sample_svc_bytes = len(raw)

    def pool(self, n):
        """n CONFIRMED appointments spread over the write providers, each
        with a free slot right after it: returns (moves file, ids file);
        the moves and the cancellations take alternate halves."""
        n = max(n, 2 * THREADS)
        per = math.ceil(n / PROVIDERS)
        base = self.region(2 * per)
        rows = sql(f"""INSERT INTO appointments (id, provider_id, patient_id, start_at, end_at, status,
                                                  version, created_at, updated_at)
                       SELECT gen_random_uuid(), ('{TAG}-000b-4000-8000-' || lpad(to_hex(k % {PROVIDERS}), 12, '0'))::uuid,
                              '{PATIENT}', to_timestamp({base} + (2 * (k / {PROVIDERS})) * {SLOT_S}),
                              to_timestamp({base} + (2 * (k / {PROVIDERS})) * {SLOT_S} + {SLOT_S}),
                              'CONFIRMED', 1, now(), now()
                       FROM generate_series(0, {n - 1}) k
                       RETURNING id, extract(epoch FROM start_at)::bigint, provider_id""")
        rows.sort(key=lambda r: (int(r[1]), r[2]))
        return rows

    def moves_file(self, n):
        rows = self.pool(n)
        return self.file([f"{i} {iso(int(t) + SLOT_S)}" for i, t, _ in rows])

    def cancel_file(self, n):
        return self.file([i for i, _, _ in self.pool(n)])

    def cleanup(self):
        """The appointments and providers this invocation made (their
        events stay in the outbox, as a real service's would)."""
        # One transaction that first takes the providers' row locks, as a
        # booking does: a booking still in flight (queued in the pool after
        # wrk hung up) either commits before it or finds no provider.
        sql(f"SELECT count(*) FROM (SELECT 1 FROM providers WHERE id::text LIKE '{TAG}-%' FOR UPDATE) x;"
            f" DELETE FROM appointments WHERE provider_id::text LIKE '{TAG}-%';"
            f" DELETE FROM services WHERE provider_id::text LIKE '{TAG}-%';"
            f" DELETE FROM providers WHERE id::text LIKE '{TAG}-%'",
            "VACUUM ANALYZE appointments")
        shutil.rmtree(WORK, ignore_errors=True)


def sweep_leftovers():
    """What an interrupted earlier run left: its appointments (patientId
    appointd-bench) and its providers (ids shaped like ours, without
    appointments)."""
    rows = sql(f"WITH a AS (DELETE FROM appointments WHERE patient_id = '{PATIENT}' RETURNING 1)"
               " SELECT count(*) FROM a",
               "DELETE FROM services s WHERE provider_id::text ~ '^[0-9a-f]{8}-000[a-f]-4000-8000-'"
               " AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.provider_id = s.provider_id)",
               "WITH p AS (DELETE FROM providers p WHERE id::text ~ '^[0-9a-f]{8}-000[a-f]-4000-8000-'"
               " AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.provider_id = p.id) RETURNING 1)"
               " SELECT count(*) FROM p")
    n_appt, n_prov = int(rows[0][0]), int(rows[1][0])
    for (table,) in sql("SELECT tablename FROM pg_tables WHERE tablename LIKE 'bench\\_outbox\\_%'"):
        sql(f"DROP TABLE {table}")
    if n_appt or n_prov:
        say(f"(removed what an earlier interrupted bench left: {n_appt} appointments, {n_prov} providers)")
        sql("VACUUM ANALYZE appointments")
    for d in glob.glob(os.path.join(OUT_DIR, "work-*")):
        shutil.rmtree(d, ignore_errors=True)


def iso(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------- the ceilings
class Ceilings:
    """A second nginx from the same templates as the stack's (the site with
    its maps, headers and JSON access log; rate limits off as in the
    stack), in front of fcgi_ceiling, plus a `return 200` server."""
    def __init__(self, workers, backlog):
        self.dir = os.path.join(OUT_DIR, "ceiling")
        self.workers = workers
        self.backlog = backlog
        self.fcgi = None
        self.nginx_pid = None

    def start(self):
        d = self.dir
        shutil.rmtree(d, ignore_errors=True)
        for sub in ("etc", "run", "log", "nginx"):
            os.makedirs(os.path.join(d, sub))
        os.chmod(d, 0o755)
        sock = os.path.join(d, "run", "fcgi.sock")
        self.fcgi = subprocess.Popen(
            [os.path.join(BUILD, "t", "bench", "fcgi_ceiling"), "-s", sock, "-w", str(self.workers),
             "-b", str(self.backlog), "-d", DB_URL, "-p", os.path.join(d, "run", "fcgi.pid")],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "log", "fcgi.log"), "w"),
            start_new_session=True)
        self.fcgi_port, self.static_port = free_port(), free_port()
        root = os.geteuid() == 0
        with open(os.path.join(ROOT, "conf", "nginx.conf.in")) as f:
            conf = f.read().replace("@VAR@", d).replace("@USER_LINE@", "user appointd;" if root else "")
        with open(os.path.join(ROOT, "conf", "appointd-site.conf.in")) as f:
            site = "".join(line for line in f if "zone=appointd_addr" not in line and "zone=appointd_key" not in line)
        site = (site.replace("@LISTEN@", f"127.0.0.1:{self.fcgi_port}")
                .replace("@UPSTREAM@", "unix:" + sock)
                .replace("@ACCESS_LOG@", os.path.join(d, "log", "access.log")))
        site += f"""
# ./dev bench: the HTTP ceiling, nginx alone (same access log).
server {{
    listen 127.0.0.1:{self.static_port};
    access_log {os.path.join(d, "log", "access.log")} appointd;
    default_type application/json;
    location / {{ return 200 '{{"status":"UP"}}'; }}
}}
"""
        with open(os.path.join(d, "etc", "nginx.conf"), "w") as f:
            f.write(conf)
        with open(os.path.join(d, "etc", "appointd-site.conf"), "w") as f:
            f.write(site)
        r = subprocess.run(["nginx", "-c", os.path.join(d, "etc", "nginx.conf"), "-p", os.path.join(d, "nginx")],
                           capture_output=True, text=True)
        self.nginx_pid = read_pid(os.path.join(d, "run", "nginx.pid"))
        if r.returncode != 0 or not self.nginx_pid:
            raise RuntimeError(f"the ceiling nginx did not start: {r.stderr.strip()}")
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        if not (wait_port(self.fcgi_port) and wait_port(self.static_port)):
            raise RuntimeError("the ceiling nginx does not answer")
        GROUPS.set("ceil_nginx", self.nginx_pid)
        GROUPS.set("ceil_fcgi", self.fcgi.pid)
        # Every worker connected and answering before anything is measured.
        for _ in range(50):
            st, _ = http_get(self.fcgi_port, "/api/ceiling/query?id=" + FIX.reader)
            if st == 200:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("fcgi_ceiling does not answer its query (see " + os.path.join(d, "log", "fcgi.log") + ")")

    def stop(self):
        if self.nginx_pid:
            try:
                os.kill(self.nginx_pid, signal.SIGQUIT)
            except OSError:
                pass
        if self.fcgi and self.fcgi.poll() is None:
            self.fcgi.terminate()
            try:
                self.fcgi.wait(10)
            except subprocess.TimeoutExpired:
                self.fcgi.kill()
        GROUPS.set("ceil_nginx", None)
        GROUPS.set("ceil_fcgi", None)


def http_get(port, path):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        c.request("GET", path, headers={"Authorization": "Bearer " + KEY})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body
    except OSError:
        return None, b""


# ------------------------------------------------------------- one run
def run_wrk(conns, duration, port, args, expect=None, limit=None, cols=None):
    """One wrk run through wrk.lua; returns its figures."""
    cmd = ["wrk", f"-t{THREADS}", f"-c{conns}", f"-d{max(1, math.ceil(duration))}s", "--timeout", "10s",
           "-s", os.path.join(BENCH, "wrk.lua"), f"http://127.0.0.1:{port}", "--",
           args[0], KEY or "-", str(THREADS)] + list(args[1:])
    donefile = None
    if limit:
        donefile = os.path.join(WORK, "done-%d" % time.monotonic_ns())
        cmd += [str(limit), donefile]
    a = GROUPS.snapshot()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if donefile:
        # wrk sleeps for its whole -d; SIGINT ends it early, with its report,
        # once every thread has counted its share.
        while p.poll() is None:
            try:
                with open(donefile) as f:
                    if len(f.read().split()) >= THREADS:
                        p.send_signal(signal.SIGINT)
                        break
            except OSError:
                pass
            time.sleep(0.1)
    out, err = p.communicate()
    b = GROUPS.snapshot()
    m = re.search(r"^BENCH (\{.*\})$", out, re.M)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"wrk failed ({p.returncode}): {err.strip() or out.strip()}")
    w = json.loads(m.group(1))
    secs = w["durationUs"] / 1e6
    statuses = {int(k): v for k, v in w["statuses"].items()}
    ok = (lambda s: s == expect) if expect else (lambda s: 200 <= s < 300)
    bad = sum(v for s, v in statuses.items() if not ok(s))
    errs = sum(w["errors"][k] for k in ("connect", "read", "write", "timeout"))
    return {"rps": w["requests"] / secs if secs > 0 else 0.0, "requests": w["requests"],
            "seconds": secs, "bytesPerResponse": w["bytes"] / w["requests"] if w["requests"] else None, "p50Ms": w["latencyUs"]["p50"] / 1000, "p99Ms": w["latencyUs"]["p99"] / 1000,
            "maxMs": w["latencyUs"]["max"] / 1000, "bad": bad, "socketErrors": errs,
            "statuses": statuses, "dry": w["dry"], "cpu": cpu_delta(a, b, cols or {})}


def run_pgbench(conns, duration, cols, script):
    FIX.pgbench_runs += 1
    n = FIX.pgbench_runs
    per = math.ceil(30000 * max(duration, 1) / PROVIDERS)   # room for 30,000 tps
    base = FIX.region(per)
    logdir = os.path.join(WORK, f"pgbench-{n}")
    os.makedirs(logdir)
    cmd = [PGBENCH, "-n", "-M", "prepared", "-c", str(conns), "-j", str(min(THREADS, conns)),
           "-T", str(max(1, round(duration))), "-f", script,
           "-D", f"nclients={conns}", "-D", f"nproviders={PROVIDERS}", "-D", f"base={base}",
           "-D", f"prefix={FIX.pgb_prefix}", "-D", f"idprefix={TAG}-{n:04x}-4000-8000-",
           "-D", f"patient={PATIENT}", "-D", "n=0",
           "-l", "--log-prefix", os.path.join(logdir, "tx"), DB_URL]
    a = GROUPS.snapshot()
    # As appointd's sessions: the outbox trigger leaves the NOTIFY to the writer.
    env = dict(os.environ, PGOPTIONS="-c appointd.notify_after_commit=on")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120, env=env)
    time.sleep(0.2)  # the backends' exit, so that the postmaster has reaped them
    b = GROUPS.snapshot()
    if r.returncode not in (0, 2):
        raise RuntimeError(f"pgbench failed ({r.returncode}): {r.stderr.strip()[-500:]}")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", r.stdout)
    done = re.search(r"number of transactions actually processed: (\d+)", r.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", r.stdout)
    lat = []
    for path in glob.glob(os.path.join(logdir, "tx*")):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[2].isdigit():
                    lat.append(int(parts[2]))
    shutil.rmtree(logdir, ignore_errors=True)
    lat.sort()
    aborted = r.returncode == 2 or "aborted" in r.stderr
    return {"rps": float(tps.group(1)) if tps else 0.0, "requests": int(done.group(1)) if done else 0,
            "seconds": round(duration), "p50Ms": pct(lat, 50) / 1000, "p99Ms": pct(lat, 99) / 1000,
            "maxMs": (lat[-1] / 1000) if lat else float("nan"),
            "bad": (int(failed.group(1)) if failed else 0) + (1 if aborted else 0), "socketErrors": 0,
            "statuses": {}, "dry": 0, "cpu": cpu_delta(a, b, cols),
            **({"stderr": r.stderr.strip()[-500:]} if aborted else {})}


def pct(xs, p):
    if not xs:
        return float("nan")
    return xs[max(0, math.ceil(p / 100 * len(xs)) - 1)]   # nearest rank, xs sorted


# ------------------------------------------------------------- the figures
APPOINTD_COLS = {"nginx": "nginx", "pool": "pool", "pg": "pg"}
CEILING_COLS = {"nginx": "ceil_nginx", "pool": "ceil_fcgi", "pg": "pg"}
STATIC_COLS = {"nginx": "ceil_nginx", "pool": None, "pg": None}
PGBENCH_COLS = {"nginx": None, "pool": None, "pg": "pg"}


class Item:
    def __init__(self, key, label, kind, ceiling, fn, expect=None):
        self.key, self.label, self.kind, self.ceiling, self.fn, self.expect = key, label, kind, ceiling, fn, expect
        self.rate_hint = 3000.0   # req/s, for sizing the next run's pool of appointments

    def run(self, conns, duration):
        r = self.fn(self, conns, duration)
        if r["rps"] > 0:
            self.rate_hint = r["rps"]
        return r


def get_fn(paths_attr, port_attr="api"):
    def fn(item, conns, duration):
        port = API_PORT if port_attr == "api" else getattr(CEIL, port_attr)
        cols = APPOINTD_COLS if port_attr == "api" else STATIC_COLS if port_attr == "static_port" else CEILING_COLS
        paths = getattr(FIX, paths_attr) if isinstance(paths_attr, str) else FIX.ceiling_paths[paths_attr[0]]
        return run_wrk(conns, duration, port, ["get", paths], cols=cols)
    return fn


def estimate(item, duration, share=1.0):
    """Requests a run may make: twice the last rate seen, at least 2,000."""
    return max(2000, int(item.rate_hint * share * duration * 2))


def book_fn(item, conns, duration):
    base = FIX.region(math.ceil(estimate(item, duration) / PROVIDERS))
    return run_wrk(conns, duration, API_PORT, ["book", FIX.writers_file, str(base)],
                   expect=201, cols=APPOINTD_COLS)


def seats_fn(item, conns, duration):
    # Sessions an hour apart, each filled to its SEATS before the next opens.
    # A booking reads every entry of the ISO weeks around its date (limits
    # count there), full sessions of earlier runs included: four weeks
    # between runs keep each run's reads to its own sessions.
    sessions = math.ceil(estimate(item, duration) / (SEAT_PROVIDERS * SEATS)) + 1
    base = FIX.region(sessions * 3600 // SLOT_S)
    FIX.next_region += 28 * 86400
    return run_wrk(conns, duration, API_PORT, ["seats", FIX.seat_writers_file, str(base), str(SEATS), SVC],
                   expect=201, cols=APPOINTD_COLS)


def resched_fn(item, conns, duration):
    return run_wrk(conns, duration, API_PORT, ["resched", FIX.moves_file(estimate(item, duration))],
                   cols=APPOINTD_COLS)


def cancel_fn(item, conns, duration):
    return run_wrk(conns, duration, API_PORT, ["cancel", FIX.cancel_file(estimate(item, duration))],
                   cols=APPOINTD_COLS)


def mixed_args(n_requests):
    """The mixed workload's inputs for n_requests: 3 in 20 book, 1 in 40
    reschedules, 1 in 40 cancels."""
    base = FIX.region(math.ceil(n_requests * 3 / 20 / PROVIDERS) + 1)
    each = math.ceil(n_requests / 40) + THREADS * 2
    return ["mixed", FIX.paths_1d, FIX.writers_file, str(base), FIX.moves_file(each), FIX.cancel_file(each)]


def mixed_fn(item, conns, duration):
    return run_wrk(conns, duration, API_PORT, mixed_args(estimate(item, duration)), cols=APPOINTD_COLS)


def pgbench_fn(item, conns, duration):
    return run_pgbench(conns, duration, PGBENCH_COLS, os.path.join(BENCH, "booking.pgbench"))


def make_items(with_figures, with_ceilings):
    items = []
    if with_ceilings:
        items += [Item("static200", "ceiling: nginx return 200", "ceiling", None, get_fn(("static",), "static_port")),
                  Item("fcgi_fixed", "ceiling: nginx+FastCGI fixed body", "ceiling", "static200",
                       get_fn(("fixed",), "fcgi_port")),
                  Item("fcgi_query", "ceiling: nginx+FastCGI+1 query", "ceiling", "fcgi_fixed",
                       get_fn(("query",), "fcgi_port"))]
    q = "fcgi_query" if with_ceilings else None
    pg = "pgbench" if with_ceilings else None
    if with_figures:
        items += [Item("avail_1d", "availability 1 date", "appointd", q, get_fn("paths_1d")),
                  Item("avail_svc", "availability 1 date, service 60 min cap 10 + limits", "appointd", q,
                       get_fn("paths_svc")),
                  Item("avail_7d", "availability 7 days", "appointd", q, get_fn("paths_7d")),
                  Item("avail_62d", "availability 62 days", "appointd", q, get_fn("paths_62d")),
                  Item("get_appt", "GET appointment", "appointd", q, get_fn("paths_get")),
                  Item("list_week", "list a provider's week", "appointd", q, get_fn("paths_week"))]
    if with_ceilings:
        items += [Item("pgbench", "ceiling: pgbench booking tx", "ceiling", None, pgbench_fn)]
    if with_figures:
        items += [Item("book", "POST booking", "appointd", pg, book_fn, expect=201),
                  Item("book_seats", "POST booking, seats of one session", "appointd", pg, seats_fn, expect=201),
                  Item("resched", "PUT reschedule", "appointd", pg, resched_fn),
                  Item("cancel", "DELETE cancel", "appointd", pg, cancel_fn),
                  Item("mixed", "mixed 80/15/5", "appointd", q, mixed_fn)]
    if ONLY:
        items = [it for it in items if it.key in ONLY]
    return items


def median(xs):
    xs = [x for x in xs if x is not None and x == x]
    return statistics.median(xs) if xs else None


def summarize(runs):
    if not runs:
        return None
    cpu = {}
    for col in ("nginx", "pool", "pg", "client", "other"):
        cpu[col] = median([r["cpu"].get(col) for r in runs])
    statuses = {}
    for r in runs:
        for s, v in r["statuses"].items():
            statuses[s] = statuses.get(s, 0) + v
    return {"rps": median([r["rps"] for r in runs]), "p50Ms": median([r["p50Ms"] for r in runs]),
            "p99Ms": median([r["p99Ms"] for r in runs]), "bad": sum(r["bad"] for r in runs),
            "socketErrors": sum(r["socketErrors"] for r in runs), "dry": sum(r["dry"] for r in runs),
            "statuses": statuses, "cpu": cpu, "runs": len(runs)}


def measure(items, label, reserve=0.0):
    """For each connection count: a warm-up of each item right before its
    first run, and the runs interleaved item by item (run 1 of everything,
    then run 2, ...). Returns ({(key, conns): {"runs": [...], "median":
    ...}}, None or why it stopped early); keeps `reserve` seconds of the
    budget for the parts after it."""
    res = {}
    try:
        measure_into(res, items, label, reserve)
        stopped = None
    except OutOfTime as ex:
        stopped = str(ex)
        say(f"  ({stopped}: the rest is not measured)")
    for e in res.values():
        e["median"] = summarize(e["runs"])
    return res, stopped


def measure_into(res, items, label, reserve):
    for conns in CONNS:
        for rnd in range(RUNS):
            for it in items:
                need = (WARMUP if rnd == 0 else 0) + DURATION + 1
                if left() - reserve < need:
                    raise OutOfTime(f"{label}: budget spent before {it.label} at {conns} connections, run {rnd + 1}")
                entry = res.setdefault((it.key, conns), {"runs": []})
                if rnd == 0 and WARMUP > 0:
                    w = it.run(conns, WARMUP)
                    entry["warmup"] = {"rps": w["rps"], "bad": w["bad"]}
                r = it.run(conns, DURATION)
                entry["runs"].append(r)
                say(f"  {conns:>3} conns  {it.label:<{label_width(items)}} run {rnd + 1}/{RUNS}: {r['rps']:>9.0f} req/s  "
                    f"p50 {r['p50Ms']:6.2f} ms  p99 {r['p99Ms']:7.2f} ms"
                    f"{'  non-%s %d' % (it.expect or '2xx', r['bad']) if r['bad'] else ''}"
                    f"{'  socket errors %d' % r['socketErrors'] if r['socketErrors'] else ''}"
                    f"{'  RAN DRY %d' % r['dry'] if r['dry'] else ''}")


# ------------------------------------------------------------- the table
def fnum(x, f="%.0f"):
    return "-" if x is None or x != x else f % x


def fcpu(c):
    return "/".join(fnum(c.get(k), "%.1f") for k in ("nginx", "pool", "pg", "client", "other"))


def label_width(items):
    return max([34] + [len(it.label) for it in items])


def table(items, res):
    labels = {it.key: it.label for it in items}
    rows = []
    w = label_width(items)
    hdr = (f"{'figure':<{w}} {'conns':>5} {'appointd/s':>10} {'ceiling/s':>10} {'ratio':>6} "
           f"{'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7}  CPU s per run: nginx/pool/pg/wrk/other")
    out = [hdr, "-" * len(hdr)]
    figures = []
    for conns in CONNS:
        for it in items:
            e = res.get((it.key, conns))
            if not e or not e.get("median"):
                continue
            m = e["median"]
            ceil = res.get((it.ceiling, conns), {}).get("median") if it.ceiling else None
            ratio = m["rps"] / ceil["rps"] if ceil and ceil["rps"] else None
            mine = m["rps"] if it.kind == "appointd" else None
            theirs = ceil["rps"] if it.kind == "appointd" and ceil else m["rps"] if it.kind == "ceiling" else None
            bad = f"{m['bad']}" + (f"+{m['socketErrors']}e" if m["socketErrors"] else "") + \
                  (f" dry{m['dry']}" if m["dry"] else "")
            out.append(f"{it.label:<{w}} {conns:>5} {fnum(mine):>10} {fnum(theirs):>10} "
                       f"{(fnum(100 * ratio, '%.0f') + '%') if ratio is not None else '-':>6} "
                       f"{fnum(m['p50Ms'], '%.2f'):>7} {fnum(m['p99Ms'], '%.2f'):>7} {bad:>7}  {fcpu(m['cpu'])}")
            figures.append({"key": it.key, "figure": it.label, "kind": it.kind, "connections": conns,
                            "ceiling": it.ceiling, "ceilingLabel": labels.get(it.ceiling),
                            "ratio": ratio, "median": m, "warmup": e.get("warmup"), "runs": e["runs"]})
        out.append("")
    return out, figures


def targets(res):
    def rate(key, c):
        m = res.get((key, c), {}).get("median")
        return m["rps"] if m else None

    def p99(key, c):
        m = res.get((key, c), {}).get("median")
        return m["p99Ms"] if m else None

    lines, found = [], []

    def ratio_line(text, a, b, target):
        if a is None or b is None or not b:
            return
        r = 100 * a / b
        lines.append(f"{text}: {r:.0f}% (target >= {target}%)")
        found.append({"what": text, "percent": r, "target": f">= {target}%"})

    for c in CONNS:
        ratio_line(f"availability 1 date vs FastCGI+1 query, {c} conns", rate("avail_1d", c), rate("fcgi_query", c), 70)
    for c in CONNS:
        ratio_line(f"availability 7 days vs availability 1 date, {c} conns", rate("avail_7d", c), rate("avail_1d", c), 70)
    for c in CONNS:
        ratio_line(f"POST booking vs pgbench booking tx, {c} conns", rate("book", c), rate("pgbench", c), 70)
    for c in CONNS:
        v = p99("avail_1d", c)
        if v is not None and c == max(CONNS):
            lines.append(f"availability 1 date p99 at {c} conns: {v:.1f} ms (target < 20 ms)")
            found.append({"what": f"availability 1 date p99 at {c} conns", "ms": v, "target": "< 20 ms"})
    return lines, found


# ------------------------------------------------------------- parts
REPORT = {}


def part_engine():
    say("== engine: t/bench/engine_bench")
    r = subprocess.run([os.path.join(BUILD, "t", "bench", "engine_bench")], capture_output=True, text=True, timeout=300)
    say(r.stdout.rstrip())
    REPORT["engine"] = {"output": r.stdout.splitlines(), "exit": r.returncode}


def part_http(with_figures=True, with_ceilings=True):
    name = "http" if with_figures else "ceilings"
    say(f"== {name}: wrk -t{THREADS}, {', '.join(map(str, CONNS))} connections, {RUNS} runs of {DURATION:g} s "
        f"after a {WARMUP:g} s warm-up per figure, runs interleaved across the figures")
    items = make_items(with_figures, with_ceilings)
    res, outcome = measure(items, name, reserve_after(name))
    MEASURED[name] = res
    lines, figures = table(items, res)
    tlines, tfound = targets(res)
    say("")
    say(f"appointd ({POOL['workers']} workers, max_requests {POOL['max_requests']}) and its ceilings; medians of "
        f"{RUNS} runs of {DURATION:g} s; CPU seconds are per run, 2 cores = {2 * DURATION:g} s at most")
    for line in lines:
        say(line)
    say("ratio: appointd over its ceiling (availability, GET, list, mixed: nginx+FastCGI+1 query; writes: pgbench's"
        " booking tx);\n       on a ceiling's row, over the one it builds on (FastCGI over nginx alone, +1 query"
        " over FastCGI).\n       non-2xx: non-201 for booking, failed transactions for pgbench;"
        " +Ne: socket errors.")
    if tlines:
        say("targets (issue 7; printed, never asserted):")
        for line in tlines:
            say("  " + line)
    REPORT[name] = {"figures": figures, "targets": tfound, "stoppedEarly": outcome,
                    "note": "non-2xx counts non-201 for POST booking, failed transactions for pgbench; "
                            "'+Ne' adds socket errors; CPU per run (median)"}
    b = res.get(("book", CONNS[0]), {}).get("median")
    if b:   # relay.py prints it next to its own figures
        with open(os.path.join(VAR, "bench.booking"), "w") as f:
            f.write(f"{b['rps']:.0f}\n")


MEASURED = {}


def part_relay():
    if left() - reserve_after("relay") < estimates()["relay"]:
        say("== relay: skipped (budget spent)")
        REPORT["relay"] = {"skipped": "budget"}
        return
    # relay.py's own cap: it keeps ~100 s for its throughput phase and
    # takes about a minute in all here.
    budget = min(170.0, left() - 60)
    say(f"== relay: t/bench/relay.py (budget {budget:.0f} s)")
    env = dict(os.environ, BENCH_RELAY_BUDGET=os.environ.get("BENCH_RELAY_BUDGET", str(int(budget))))
    r = subprocess.run([sys.executable, os.path.join(BENCH, "relay.py")], env=env, timeout=budget + 70)
    try:
        with open(os.path.join(OUT_DIR, "relay.json")) as f:
            REPORT["relay"] = json.load(f)
    except (OSError, ValueError):
        REPORT["relay"] = {"exit": r.returncode}


def rss_of(pids):
    out = {}
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        out[p] = int(line.split()[1])
        except OSError:
            pass
    return out


def reload_pool(conf_text):
    """Writes the pool's configuration and reloads it (SIGHUP); waits
    until every worker is a new one."""
    path = os.path.join(VAR, "etc", "appointd.conf")
    with open(path, "w") as f:
        f.write(conf_text)
    old = set(pool_workers())
    os.kill(read_pid(os.path.join(VAR, "run", "appointd.pid")), signal.SIGHUP)
    until = time.time() + 60
    while time.time() < until:
        now = set(pool_workers())
        if len(now) >= POOL["workers"] and not (now & old):
            return
        time.sleep(0.2)
    raise RuntimeError("the pool did not replace its workers after SIGHUP")


def part_rss():
    n = RSS_N
    say(f"== rss: pool workers' VmRSS before and after N = {n} requests of the mixed workload at "
        f"{min(CONNS)} connections")
    path = os.path.join(VAR, "etc", "appointd.conf")
    with open(path) as f:
        original = f.read()
    reloaded = False
    rep = {"requests": n}
    try:
        if POOL["max_requests"]:
            new = re.sub(r"(?m)^\s*max_requests\s*=.*$", "max_requests = 0", original)
            if new == original:
                new = original + "\nmax_requests = 0\n"
            say(f"  (max_requests {POOL['max_requests']} would recycle workers; reloading the pool with 0 for this part)")
            reload_pool(new)
            reloaded = True
        conns = min(CONNS)
        fresh_pids = pool_workers()
        fresh = rss_of(fresh_pids)
        warm_n = min(5000, max(1000, n // 20))
        w = run_wrk(conns, 600, API_PORT, mixed_args(warm_n * 2), limit=warm_n, cols=APPOINTD_COLS)
        pids = pool_workers()
        before = rss_of(pids)
        est = max(w["rps"], 50.0)
        cap = min(left() - reserve_after("rss") - 10, n / est * 3 + 30)
        if cap < 20:
            raise OutOfTime("rss: budget spent")
        n_run = min(n, int(est * cap * 0.9))
        say(f"  warm-up: {w['requests']} requests at {w['rps']:.0f} req/s; now {n_run} requests (at most {cap:.0f} s)"
            f"{'' if n_run == n else ' -- FEWER THAN N: that is what the budget leaves at this rate'}")
        r = run_wrk(conns, cap, API_PORT, mixed_args(int(n_run * 1.2)), limit=n_run, cols=APPOINTD_COLS)
        after_pids = pool_workers()
        after = rss_of(after_pids)
        same = set(after_pids) == set(pids)
        rep.update({
            "connections": conns, "workers": len(pids), "maxRequestsDuringPart": 0 if reloaded else POOL["max_requests"],
            "fresh": {"sumKiB": sum(fresh.values()), "maxKiB": max(fresh.values(), default=0), "perWorker": fresh},
            "afterWarmup": {"requests": w["requests"], "sumKiB": sum(before.values()),
                            "maxKiB": max(before.values(), default=0), "perWorker": before},
            "afterN": {"requests": r["requests"], "requested": n, "sumKiB": sum(after.values()),
                       "maxKiB": max(after.values(), default=0), "perWorker": after},
            "sameWorkers": same, "rps": r["rps"], "p50Ms": r["p50Ms"], "p99Ms": r["p99Ms"],
            "nonOk": r["bad"], "dry": r["dry"], "statuses": r["statuses"]})
        growth = sum(after.values()) - sum(before.values())
        say(f"  worker RSS (KiB, {len(pids)} workers): fresh sum {sum(fresh.values())} max {max(fresh.values(), default=0)}; "
            f"after {w['requests']} warm-up requests sum {sum(before.values())} max {max(before.values(), default=0)}; "
            f"after {r['requests']} more requests sum {sum(after.values())} max {max(after.values(), default=0)} "
            f"({growth:+d} KiB, {100 * growth / max(1, sum(before.values())):+.1f}%; target: flat)"
            f"{'' if same else '  -- WORKERS CHANGED in between, the figures are not comparable'}")
        say(f"  the N requests: {r['rps']:.0f} req/s, p99 {r['p99Ms']:.1f} ms, non-2xx {r['bad']}"
            f"{', ran dry %d' % r['dry'] if r['dry'] else ''}")
        say(f"  (N = {r['requests']} requests after the warm-up, {n} asked"
            f"{'; issue 7 asks for 10^6: BENCH_RSS_REQUESTS=1000000' if n < 1000000 else ''})")
    except OutOfTime as ex:
        say(f"  ({ex})")
        rep["skipped"] = str(ex)
    finally:
        if reloaded:
            reload_pool(original)
            say("  (the pool is back on its configuration)")
    REPORT["rss"] = rep


def part_bulk():
    n = BULK_N
    k = max(1, math.ceil(n / 1000))
    say(f"== bulk: availability 1 date and booking with {n} more appointments in the table "
        f"({k} other providers, loaded with one INSERT ... SELECT generate_series)")
    items = [it for it in make_items(True, False) if it.key in ("avail_1d", "book")]
    rep = {"appointments": n, "providers": k}
    rows_before = int(sql("SELECT count(*) FROM appointments")[0][0])
    rep["rowsBefore"] = rows_before
    loaded = False
    one_pass = n / 15000 + len(items) * len(CONNS) * (WARMUP + RUNS * DURATION + 1)
    try:
        # The baseline right before the load, so that the two sides are
        # minutes apart at most (the http part's figures are older).
        say(f"  baseline ({rows_before} rows in the table, this run's fixtures among them):")
        base, _ = measure(items, "bulk baseline", one_pass + 30)
        if left() < one_pass + 30:
            raise OutOfTime("bulk: not enough budget left to load and measure")
        t = time.time()
        sql(f"""INSERT INTO providers (id, config, created_at, updated_at)
                SELECT ('{FIX.bulk_prefix}' || lpad(to_hex(p), 12, '0'))::uuid, w.config, now(), now()
                FROM generate_series(0, {k - 1}) p, providers w WHERE w.id = '{FIX.writers[0]}'""")
        loaded = True
        # Provider by provider (the order an index-friendly load takes): 1,000
        # appointments each, 7 hours apart from about five months ago, one in
        # ten cancelled; CONFIRMED ones never overlap (the exclusion constraint).
        sql(f"""INSERT INTO appointments (id, provider_id, patient_id, start_at, end_at, status,
                                          version, created_at, updated_at)
                SELECT gen_random_uuid(), ('{FIX.bulk_prefix}' || lpad(to_hex(i / 1000), 12, '0'))::uuid,
                       'bulk-' || (i % 50000), s, s + interval '30 minutes',
                       CASE WHEN i % 10 = 9 THEN 'CANCELLED' ELSE 'CONFIRMED' END, 1, now(), now()
                FROM generate_series(0, {n - 1}) i,
                     LATERAL (SELECT date_trunc('hour', now()) - interval '146 days'
                                     + (i % 1000) * interval '7 hours' + (i / 1000 % 84) * interval '5 minutes' AS s) x""",
            # As a table that has held its rows for a while: vacuumed and
            # analyzed (else autovacuum would run in the middle of the runs).
            "VACUUM ANALYZE appointments", timeout=1800)
        rep["loadSeconds"] = time.time() - t
        rep["rowsLoaded"] = int(sql("SELECT count(*) FROM appointments")[0][0])
        say(f"  loaded in {rep['loadSeconds']:.0f} s: {rep['rowsLoaded']} rows in the table")
        after, stopped = measure(items, "bulk")
        if stopped:
            rep["stoppedEarly"] = stopped
        out = []
        http = MEASURED.get("http", {})
        for c in CONNS:
            for it in items:
                h = http.get((it.key, c), {}).get("median")
                a = base.get((it.key, c), {}).get("median")
                b = after.get((it.key, c), {}).get("median")
                if not a or not b:
                    continue
                r = b["rps"] / a["rps"] if a["rps"] else None
                out.append({"figure": it.label, "connections": c, "emptyRps": a["rps"], "bulkRps": b["rps"],
                            "ratio": r, "emptyP99Ms": a["p99Ms"], "bulkP99Ms": b["p99Ms"], "bulkNonOk": b["bad"],
                            "httpPartRps": h["rps"] if h else None, "empty": a, "bulk": b})
        rep["figures"] = out
        say(f"  {'figure':<24} {'conns':>5} {'before/s':>9} {'with/s':>9} {'ratio':>6} "
            f"{'p99 before':>10} {'p99 with':>9}   (with = {n} more rows)")
        for o in out:
            say(f"  {o['figure']:<24} {o['connections']:>5} {o['emptyRps']:>9.0f} {o['bulkRps']:>9.0f} "
                f"{fnum(o['ratio'] and 100 * o['ratio']):>5}% {o['emptyP99Ms']:>10.2f} {o['bulkP99Ms']:>9.2f}"
                f"   (target: no figure worse by more than 10%)")
    except OutOfTime as ex:
        say(f"  ({ex})")
        rep["skipped"] = str(ex)
    finally:
        if loaded:
            t = time.time()
            # VACUUM FULL: plain VACUUM would leave the indexes at their
            # bulk size, and the next run would measure that.
            sql(f"DELETE FROM appointments WHERE provider_id::text LIKE '{FIX.bulk_prefix}%'",
                f"DELETE FROM providers WHERE id::text LIKE '{FIX.bulk_prefix}%'",
                "VACUUM FULL appointments", "ANALYZE appointments", timeout=1800)
            say(f"  (the bulk rows are deleted again, {time.time() - t:.0f} s)")
    REPORT["bulk"] = rep


# Rough seconds each part takes here (the bulk load: about 13,000 rows/s).
def estimates():
    per_fig = WARMUP + RUNS * DURATION + 0.5
    return {"engine": 5, "http": 16 * len(CONNS) * per_fig + 15, "ceilings": 5 * len(CONNS) * per_fig + 15,
            "relay": 65, "rss": RSS_N / 1200 + 15,
            "bulk": BULK_N / 13000 + 4 * len(CONNS) * per_fig + 30}


# What an earlier part leaves for each later one: its estimate, except the
# rss part, which runs fewer requests (and says so) when time is short.
def minimums():
    return dict(estimates(), rss=60)


PLAN = []


def reserve_after(part):
    later = PLAN[PLAN.index(part) + 1:] if part in PLAN else []
    return sum(minimums()[p] for p in later)


# ------------------------------------------------------------- main
FIX = None
CEIL = None
POOL = {}


def main():
    global FIX, CEIL, POOL, PLAN
    parts = sys.argv[1:] or ["all"]
    known = ["engine", "http", "ceilings", "relay", "rss", "bulk"]
    if "all" in parts:
        parts = ["engine", "http", "relay", "rss", "bulk"]
    for p in parts:
        if p not in known:
            sys.exit(f"bench: unknown part {p} (known: {', '.join(known)}, all)")
    if "http" in parts and "ceilings" in parts:
        parts.remove("ceilings")
    PLAN = [p for p in known if p in parts]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))
    os.makedirs(OUT_DIR, exist_ok=True)
    est = estimates()
    say(f"bench: parts {', '.join(PLAN)}; estimated {sum(est[p] for p in PLAN) / 60:.1f} min, "
        f"budget {BUDGET / 60:.1f} min; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    REPORT.update({"startedAt": STAMP, "parts": PLAN,
                   "settings": {"durationS": DURATION, "runs": RUNS, "warmupS": WARMUP, "connections": CONNS,
                                "threads": THREADS, "providers": PROVIDERS, "rssRequests": RSS_N,
                                "bulkAppointments": BULK_N, "budgetS": BUDGET},
                   "machine": {"cores": os.cpu_count(), "loadavgStart": os.getloadavg()}})
    try:
        if "engine" in PLAN:
            part_engine()
        if any(p in PLAN for p in ("http", "ceilings", "rss", "bulk", "relay")):
            POOL = pool_config()
            find_stack()
            live = len(pool_workers())
            REPORT["pool"] = dict(POOL, liveWorkers=live)
            if live != POOL["workers"]:
                say(f"(the pool runs {live} workers, its configuration says {POOL['workers']}: the ceiling gets {live})")
                POOL["workers"] = live
        if any(p in PLAN for p in ("http", "ceilings", "rss", "bulk")):
            sweep_leftovers()
            FIX = Fixtures()
            FIX.create()
            REPORT["fixtures"] = {"availabilityOneDateBytes": FIX.sample_1d_bytes,
                                  "availabilityServiceBytes": FIX.sample_svc_bytes, "tag": TAG}
        try:
            if "http" in PLAN or "ceilings" in PLAN:
                CEIL = Ceilings(POOL["workers"], POOL["listen_backlog"])
                try:
                    CEIL.start()
                    part_http(with_figures="http" in PLAN, with_ceilings=True)
                finally:
                    CEIL.stop()
            if "relay" in PLAN:
                part_relay()
            if "rss" in PLAN:
                part_rss()
            if "bulk" in PLAN:
                part_bulk()
        finally:
            if FIX and os.environ.get("BENCH_KEEP") != "1":
                FIX.cleanup()
    finally:
        REPORT["elapsedS"] = time.time() - T0
        REPORT["machine"]["loadavgEnd"] = os.getloadavg()
        path = os.path.join(OUT_DIR, f"bench-{STAMP}.json")
        with open(path, "w") as f:
            json.dump(finite(REPORT), f, indent=1, default=str)
            f.write("\n")
        say(f"bench: {REPORT['elapsedS']:.0f} s; figures in {path}")


def finite(o):
    if isinstance(o, float) and o != o:
        return None
    if isinstance(o, dict):
        return {str(k): finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [finite(v) for v in o]
    return o


if __name__ == "__main__":
    main()
