"""The prefork pool master (lib/http/pool.c), driven through t/unit/pool_echo.

Each test starts its own pool_echo master on a unix socket in a fresh
temporary directory, with its own configuration file, pidfile and log, talks
FastCGI to it directly (a minimal client below) and kills everything it
started before returning. The main stack (nginx, appointd, PostgreSQL) is not
used. pool_echo answers "hello pid N"; its query string drives the cases:
sleep=N holds the worker N seconds, crash=1 aborts it, status=1 returns the
scoreboard as JSON (pool_status_json).

Environment: APPOINTD_BUILD_DIR (pool_echo is <dir>/t/unit/pool_echo, appointd
is <dir>/app/appointd).
"""

import json
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

BUILD_DIR = os.environ.get("APPOINTD_BUILD_DIR", "")
POOL_ECHO = os.path.join(BUILD_DIR, "t", "unit", "pool_echo")
APPOINTD = os.path.join(BUILD_DIR, "app", "appointd")

# Configuration keys (lib/core/config.c): their APPOINTD_* overrides must not
# leak from the caller's environment into our masters.
CONFIG_KEYS = ("listen", "listen_backlog", "workers", "max_requests", "request_timeout",
               "slow_request_ms", "database_url", "db_statement_timeout_ms",
               "db_lock_timeout_ms", "log_path", "pidfile", "user", "zoneinfo_dir")


def clean_env():
    env = dict(os.environ)
    for k in CONFIG_KEYS:
        env.pop("APPOINTD_" + k.upper(), None)
    for k in ("DATABASE_URL", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        env.pop(k, None)
    return env


def _no_core():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# ------------------------------------------------------------------ FastCGI
FCGI_BEGIN_REQUEST, FCGI_END_REQUEST, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6
FCGI_RESPONDER = 1


class FcgiClosed(Exception):
    """The server closed the connection before FCGI_END_REQUEST."""


def _fcgi_record(rtype, content, rid=1):
    return struct.pack("!BBHHBx", 1, rtype, rid, len(content), 0) + content


def _fcgi_len(n):
    return struct.pack("!B", n) if n < 128 else struct.pack("!I", n | 0x80000000)


def _fcgi_params(params):
    out = b""
    for k, v in params.items():
        k, v = k.encode(), v.encode()
        out += _fcgi_len(len(k)) + _fcgi_len(len(v)) + k + v
    return out


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise FcgiClosed("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def fcgi_send(s, query=""):
    params = {"REQUEST_METHOD": "GET", "SCRIPT_NAME": "/echo", "DOCUMENT_URI": "/echo",
              "REQUEST_URI": "/echo" + ("?" + query if query else ""),
              "QUERY_STRING": query, "SERVER_PROTOCOL": "HTTP/1.1"}
    s.sendall(_fcgi_record(FCGI_BEGIN_REQUEST, struct.pack("!HB5x", FCGI_RESPONDER, 0))
              + _fcgi_record(FCGI_PARAMS, _fcgi_params(params))
              + _fcgi_record(FCGI_PARAMS, b"") + _fcgi_record(FCGI_STDIN, b""))


def fcgi_read(s):
    """Records until FCGI_END_REQUEST; returns the FCGI_STDOUT bytes."""
    out = b""
    while True:
        hdr = _recv_exact(s, 8)
        _, rtype, _, clen, plen = struct.unpack("!BBHHBx", hdr)
        content = _recv_exact(s, clen + plen)[:clen]
        if rtype == FCGI_STDOUT:
            out += content
        elif rtype == FCGI_END_REQUEST:
            return out


def fcgi(sock_path, query="", timeout=10.0):
    """One responder request; returns the FCGI_STDOUT bytes. Raises FcgiClosed
    when the connection ends before FCGI_END_REQUEST, socket.timeout on time-out."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        try:
            fcgi_send(s, query)
            return fcgi_read(s)
        except (ConnectionResetError, BrokenPipeError) as e:
            raise FcgiClosed(repr(e))
    finally:
        s.close()


def split_response(raw):
    """(status, body) of a CGI-style response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    m = re.search(rb"^Status: (\d+)", head, re.M)
    return (int(m.group(1)) if m else 200), body


def hello_pid(raw):
    status, body = split_response(raw)
    m = re.fullmatch(rb"hello pid (\d+)\n", body)
    assert status == 200 and m, "unexpected response %r" % raw
    return int(m.group(1))


# ------------------------------------------------------------------ processes
def children_of(pid):
    """Pids whose parent is pid (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(d))
    return sorted(out)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2:].split()[0] != "Z"


def wait_until(pred, timeout=5.0, interval=0.05):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(interval)


class Pool:
    """A pool_echo master in its own temporary directory. Use as a context
    manager: everything it started is killed and the directory removed."""

    def __init__(self, workers=2, max_requests=0, request_timeout=30, slow_request_ms=0,
                 start=True, **extra):
        assert os.access(POOL_ECHO, os.X_OK), \
            "%s missing: set APPOINTD_BUILD_DIR and build (./dev build)" % POOL_ECHO
        self.dir = tempfile.mkdtemp(prefix="apool", dir="/tmp")
        self.sock = os.path.join(self.dir, "s.sock")
        self.pidfile = os.path.join(self.dir, "pool.pid")
        self.log = os.path.join(self.dir, "pool.log")
        self.conf = os.path.join(self.dir, "pool.conf")
        self.stderr_path = os.path.join(self.dir, "stderr.txt")
        self.settings = {"listen": self.sock, "pidfile": self.pidfile, "log_path": self.log,
                         "workers": workers, "max_requests": max_requests,
                         "request_timeout": request_timeout,
                         "slow_request_ms": slow_request_ms}
        self.settings.update(extra)
        self.proc = None
        self.others = []  # further processes started by a test
        self.seen_pids = set()
        self.write_conf()
        if start:
            self.start()

    # configuration
    def write_conf(self, extra_lines=(), **changes):
        self.settings.update(changes)
        lines = ["# written by t/integration/test_pool.py"]
        lines += ["%s = %s" % (k, v) for k, v in self.settings.items()]
        lines += list(extra_lines)
        tmp = self.conf + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.rename(tmp, self.conf)

    # processes
    def spawn(self, conf=None, stderr_path=None):
        """Start a pool_echo (not waiting for it); returns the Popen."""
        err = open(stderr_path or self.stderr_path, "ab")
        try:
            p = subprocess.Popen([POOL_ECHO, "-c", conf or self.conf], cwd=self.dir,
                                 env=clean_env(), stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=err,
                                 preexec_fn=_no_core)
        finally:
            err.close()
        return p

    def start(self):
        self.proc = self.spawn()
        n = int(self.settings["workers"])
        ok = wait_until(lambda: self.proc.poll() is not None or
                        (os.path.exists(self.sock) and len(self.children()) == n), 5.0)
        assert self.proc.poll() is None, "pool_echo exited %s: %s" % (self.proc.returncode,
                                                                      self.diag())
        assert ok, "pool did not start %d workers: %s" % (n, self.diag())
        st = self.wait_status(lambda s: s["workers"]["total"] == n, 5.0)
        assert st["workers"]["total"] == n, st

    @property
    def pid(self):
        return self.proc.pid

    def children(self):
        pids = children_of(self.proc.pid)
        self.seen_pids.update(pids)
        return pids

    def kill_all(self):
        procs = [p for p in [self.proc] + self.others if p is not None]
        for p in procs:
            if p.poll() is None:
                # stopped, a master forks no more workers behind our back
                try:
                    os.kill(p.pid, signal.SIGSTOP)
                except OSError:
                    pass
                self.seen_pids.update(children_of(p.pid))
        for p in procs:
            if p.poll() is None:
                p.kill()
        for pid in self.seen_pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        wait_until(lambda: not any(alive(pid) for pid in self.seen_pids), 2.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.kill_all()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    # requests
    def request(self, query="", timeout=10.0):
        return fcgi(self.sock, query, timeout)

    def hello(self, timeout=10.0):
        return hello_pid(self.request("", timeout))

    def status(self, timeout=10.0):
        status, body = split_response(self.request("status=1", timeout))
        assert status == 200, body
        return json.loads(body)

    def wait_status(self, pred, timeout=5.0):
        last = [None]

        def check():
            try:
                last[0] = self.status(timeout=2.0)
            except (OSError, FcgiClosed):
                return False
            return pred(last[0])
        wait_until(check, timeout, 0.05)
        return last[0]

    # log
    def log_lines(self, path=None):
        try:
            with open(path or self.log, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        out = []
        for line in data.decode("utf-8", "replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"unparsed": line})
        return out

    def events(self, name, path=None):
        return [o for o in self.log_lines(path) if o.get("event") == name]

    def diag(self):
        parts = []
        for path in (self.stderr_path, self.log):
            try:
                with open(path, "rb") as f:
                    parts.append("%s: %s" % (os.path.basename(path),
                                             f.read()[-3000:].decode("utf-8", "replace")))
            except OSError:
                pass
        return " | ".join(parts)


class Loop:
    """Requests back to back from a thread until stopped; records every
    outcome as (ok, pid-or-error)."""

    def __init__(self, pool, timeout=5.0):
        self.pool = pool
        self.timeout = timeout
        self.results = []
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_flag.is_set():
            try:
                self.results.append((True, self.pool.hello(self.timeout)))
            except Exception as e:  # noqa: BLE001 - every failure is recorded
                self.results.append((False, repr(e)))
                time.sleep(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join(self.timeout + 2)
        return False

    def failures(self):
        return [r for ok, r in self.results if not ok]


# ------------------------------------------------------------------ tests
def test_startup_forks_workers():
    with Pool(workers=3) as p:
        with open(p.pidfile) as f:
            assert int(f.read().split()[0]) == p.pid, "pidfile does not hold the master's pid"
        kids = p.children()
        assert len(kids) == 3, kids
        # every worker leaves "starting" once it waits for its first request
        st = p.wait_status(lambda s: s["workers"]["busy"] + s["workers"]["idle"] == 3, 3.0)
        assert st["workers"]["total"] == 3, st
        assert st["workers"]["busy"] + st["workers"]["idle"] == 3, st
        assert sorted(x["pid"] for x in st["processes"]) == kids, (st, kids)
        assert p.pid not in kids
        for key in ("acceptedRequests", "respawns", "recycled", "killedSlow", "slowRequests"):
            assert key in st, (key, st)
        assert st["respawns"] == 0 and st["recycled"] == 0 and st["killedSlow"] == 0, st
        # a plain request is served by one of the master's children
        assert p.hello() in kids
        assert os.stat(p.sock).st_mode & 0o777 == 0o666, oct(os.stat(p.sock).st_mode)
        started = p.events("started")
        assert started and started[0]["pid"] == p.pid and started[0]["workers"] == 3, started
        assert len(p.events("worker_spawned")) == 3, p.diag()


def test_kill9_worker_is_replaced():
    with Pool(workers=2) as p:
        before = p.children()
        victim = before[0]
        with Loop(p, timeout=5.0) as loop:
            time.sleep(0.3)
            n_before = len(loop.results)
            os.kill(victim, signal.SIGKILL)
            t_kill = time.monotonic()
            ok = wait_until(lambda: victim not in p.children() and len(p.children()) == 2, 3.0)
            time.sleep(0.5)
        assert ok, "worker %d not replaced: %s" % (victim, p.children())
        assert time.monotonic() - t_kill < 5
        assert n_before > 0, loop.results
        fails = loop.failures()
        assert len(fails) <= 1, "the loop saw %d failures: %r" % (len(fails), fails[:5])
        after_kill = [r for ok_, r in loop.results[n_before + 1:] if ok_]
        assert after_kill and victim not in after_kill, (victim, after_kill[-10:])
        st = p.status()
        pids = [x["pid"] for x in st["processes"]]
        assert st["workers"]["total"] == 2 and victim not in pids, (victim, st)
        assert set(pids) - set(before), ("no new pid", before, st)
        assert st["respawns"] == 1, st
        crashed = p.events("worker_crashed")
        assert len(crashed) == 1 and crashed[0]["pid"] == victim, crashed
        assert crashed[0].get("level") == "error" and crashed[0].get("signal"), crashed


def test_crash_loop_backs_off():
    with Pool(workers=2) as p:
        t0 = time.monotonic()
        crashes = 0
        spurious = []
        # Gate every crash behind a status request: a status request waits in
        # the backlog while no worker is up (back-off), so no crash request is
        # ever left queued behind the window to kill a later worker.
        while time.monotonic() - t0 < 3.0:
            try:
                p.status(timeout=8.0)
            except (OSError, FcgiClosed) as e:
                spurious.append(repr(e))
                continue
            try:
                p.request("crash=1", timeout=8.0)
                spurious.append("crash=1 answered")
            except FcgiClosed:
                crashes += 1
        window = time.monotonic() - t0
        spawned = len(p.events("worker_spawned"))
        assert not spurious, spurious
        assert crashes >= 3, "only %d crashes in %.1fs" % (crashes, window)
        # Without back-off every crash is replaced at once and the loop above
        # makes hundreds of forks; the back-off (100 ms doubling to 5 s) keeps
        # it to about a dozen.
        assert spawned <= 16, "fork storm: %d forks, %d crashes in %.1fs" % (spawned, crashes,
                                                                             window)
        backoffs = p.events("respawn_backoff")
        assert backoffs, p.diag()
        delays = [b["delayMs"] for b in backoffs]
        assert delays == sorted(delays) and delays[0] >= 100 and delays[-1] <= 5000, delays
        # back to full strength once the back-off has run out
        st = p.wait_status(lambda s: s["workers"]["total"] == 2, 8.0)
        assert st and st["workers"]["total"] == 2, (st, p.diag())
        # The scoreboard may be ahead of the process table by a reap or a fork,
        # and the loop's last crash (a request that waited out a back-off in
        # the backlog) can start one more back-off of up to 5 s.
        deadline = time.monotonic() + 12.0
        while len(p.children()) != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(p.children()) == 2, (p.children(), p.diag())
        st = p.wait_status(lambda s: s["workers"]["total"] == 2, 8.0)
        assert st["respawns"] == crashes == len(p.events("worker_crashed")), (st, crashes)
        p.hello()


def wait_for_events(p, name, at_least, timeout=2.0):
    """The pool's log lines of one event, once at least `at_least` are there."""
    deadline = time.monotonic() + timeout
    while True:
        ev = p.events(name)
        if len(ev) >= at_least or time.monotonic() > deadline:
            return ev
        time.sleep(0.05)


def test_max_requests_recycles():
    with Pool(workers=2, max_requests=3) as p:
        served = {}
        for _ in range(20):
            pid = p.hello(timeout=5.0)
            served[pid] = served.get(pid, 0) + 1
        assert sum(served.values()) == 20
        assert all(n <= 3 for n in served.values()), "a worker served > max_requests: %r" % served
        assert len(served) >= 7, served
        st = p.wait_status(lambda s: s["recycled"] >= 6 and s["workers"]["total"] == 2, 5.0)
        assert st["recycled"] >= 6, st
        assert st["respawns"] == 0, st
        assert st["workers"]["total"] == 2, st
        # 20 hellos plus the status requests so far
        assert st["acceptedRequests"] >= 21, st
        assert not p.events("worker_crashed"), p.diag()
        # The status request itself counts toward max_requests: the worker
        # that answered it may be recycled (and log it) right after.
        logged = len(wait_for_events(p, "worker_recycled", st["recycled"]))
        assert st["recycled"] <= logged <= st["recycled"] + 1, p.diag()


def test_request_timeout_kills_worker():
    with Pool(workers=2, request_timeout=1) as p:
        t0 = time.monotonic()
        try:
            raw = p.request("sleep=5", timeout=4.0)
        except FcgiClosed:
            pass
        else:
            raise AssertionError("sleep=5 answered despite request_timeout=1: %r" % raw)
        took = time.monotonic() - t0
        assert 0.9 <= took <= 2.5, "cut off after %.2fs" % took
        st = p.wait_status(lambda s: s["killedSlow"] == 1 and s["workers"]["total"] == 2, 3.0)
        assert st["killedSlow"] == 1 and st["workers"]["total"] == 2, st
        assert st["respawns"] == 0, st
        p.hello()
        ev = p.events("worker_killed_slow")
        assert len(ev) == 1, p.diag()
        ev = ev[0]
        assert ev["level"] == "error" and ev["route"] == "sleep=5", ev
        assert 1000 < ev["durationMs"] < 2500 and ev["timeoutMs"] == 1000, ev
        # The kill is logged before the master reaps the worker: under load the
        # process can still be there (a zombie) for a moment.
        assert wait_until(lambda: not alive(ev["pid"]) and ev["pid"] not in p.children(), 3.0), ev


def test_slow_request_logged():
    with Pool(workers=2, slow_request_ms=200) as p:
        t0 = time.monotonic()
        p.hello()
        hello_pid(p.request("sleep=1", timeout=5.0))
        assert time.monotonic() - t0 >= 1.0
        ok = wait_until(lambda: p.events("slow_request"), 3.0)
        assert ok, p.diag()
        st = p.status()
        assert st["slowRequests"] == 1, st
        ev = p.events("slow_request")
        assert len(ev) == 1, ev
        ev = ev[0]
        assert ev["route"] == "sleep=1" and 1000 <= ev["durationMs"] < 3000, ev
        assert ev["thresholdMs"] == 200 and ev["level"] == "warn", ev
        assert ev["pid"] in p.children(), ev


def test_sighup_resizes_without_dropping_requests():
    with Pool(workers=2) as p:
        with Loop(p, timeout=5.0) as loop:
            time.sleep(0.3)
            for n, reload_no in ((4, 1), (1, 2)):
                p.write_conf(workers=n)
                os.kill(p.pid, signal.SIGHUP)
                ok = wait_until(lambda: len(p.events("reload_done")) >= reload_no, 8.0)
                assert ok, "reload to %d workers not done: %s" % (n, p.diag())
                assert wait_until(lambda: len(p.children()) == n, 3.0), (n, p.children())
                time.sleep(0.3)
            count = len(loop.results)
        assert count >= 10, loop.results
        fails = loop.failures()
        assert not fails, "%d of %d requests failed during reloads: %r" % (
            len(fails), len(loop.results), fails[:5])
        st = p.status()
        assert st["workers"]["total"] == 1, st
        assert st["respawns"] == 0, st
        reloads = p.events("reload")
        assert [(r["workersBefore"], r["workers"]) for r in reloads] == [(2, 4), (4, 1)], reloads
        assert not p.events("worker_crashed"), p.diag()


def test_sighup_broken_config_keeps_running():
    with Pool(workers=2) as p:
        before = p.children()
        # workers = 3 first, so a partly applied file would show
        p.write_conf(extra_lines=["workers_typo = 3"], workers=3)
        os.kill(p.pid, signal.SIGHUP)
        ok = wait_until(lambda: p.events("reload_failed"), 3.0)
        assert ok, p.diag()
        ev = p.events("reload_failed")[0]
        assert ev["level"] == "error", ev
        assert re.search(r"pool\.conf:\d+: workers_typo: unknown key", ev["message"]), ev
        time.sleep(0.5)
        assert p.proc.poll() is None, p.diag()
        assert p.children() == before, (before, p.children())
        for _ in range(5):
            assert p.hello() in before
        st = p.status()
        assert st["workers"]["total"] == 2, st
        assert not p.events("reload"), p.diag()


def test_sigterm_finishes_request_in_flight():
    with Pool(workers=2) as p:
        result = {}

        def slow():
            try:
                result["raw"] = p.request("sleep=2", timeout=10.0)
            except Exception as e:  # noqa: BLE001
                result["error"] = repr(e)
            result["t"] = time.monotonic()
        th = threading.Thread(target=slow, daemon=True)
        th.start()
        st = p.wait_status(lambda s: any(x.get("route") == "sleep=2" and x["state"] == "busy"
                                         for x in s["processes"]), 2.0)
        assert st and any(x.get("route") == "sleep=2" for x in st["processes"]), st
        kids = p.children()
        os.kill(p.pid, signal.SIGTERM)
        t_term = time.monotonic()
        th.join(5.0)
        assert "raw" in result, "request in flight failed on SIGTERM: %r" % result
        hello_pid(result["raw"])
        try:
            rc = p.proc.wait(5.0)
        except subprocess.TimeoutExpired:
            raise AssertionError("master still running 5 s after the last request: %s" % p.diag())
        assert rc == 0, (rc, p.diag())
        assert time.monotonic() - t_term < 6.0
        assert not os.path.exists(p.pidfile), "pidfile left behind"
        assert not os.path.exists(p.sock), "socket left behind"
        assert wait_until(lambda: not any(alive(k) for k in kids), 2.0), "workers outlived the master"
        assert p.events("stopping") and p.events("stopped"), p.diag()
        assert not p.events("worker_crashed") and not p.events("stop_timeout"), p.diag()


def test_sigusr1_reopens_log():
    with Pool(workers=2, slow_request_ms=500) as p:
        rotated = p.log + ".1"
        os.rename(p.log, rotated)
        os.kill(p.pid, signal.SIGUSR1)
        assert wait_until(lambda: p.events("log_reopened"), 3.0), \
            "no log_reopened in a new log: %s" % p.diag()
        # both workers write their next lines to the new file too
        outs = []
        ths = [threading.Thread(target=lambda: outs.append(p.request("sleep=1", timeout=5.0)))
               for _ in range(2)]
        for t in ths:
            t.start()
        for t in ths:
            t.join(6.0)
        assert len(outs) == 2, outs
        assert wait_until(lambda: len(p.events("slow_request")) == 2, 3.0), p.diag()
        pids = {e["pid"] for e in p.events("slow_request")}
        assert pids == set(p.children()), (pids, p.children())
        old = p.log_lines(rotated)
        assert any(o.get("event") == "started" for o in old), old
        assert not any(o.get("event") in ("log_reopened", "slow_request") for o in old), old


def test_second_master_refused():
    with Pool(workers=1) as p:
        # same pidfile, another socket
        conf2 = os.path.join(p.dir, "second.conf")
        sock2 = os.path.join(p.dir, "t.sock")
        with open(conf2, "w") as f:
            f.write("listen = %s\npidfile = %s\nlog_path = \nworkers = 1\n" % (sock2, p.pidfile))
        err2 = os.path.join(p.dir, "second.err")
        q = p.spawn(conf2, err2)
        p.others.append(q)
        try:
            rc = q.wait(5.0)
        except subprocess.TimeoutExpired:
            raise AssertionError("a second master with the same pidfile kept running")
        assert rc != 0, rc
        with open(err2) as f:
            err = f.read()
        assert "pidfile" in err and str(p.pid) in err, err
        with open(p.pidfile) as f:
            assert int(f.read().split()[0]) == p.pid, "the pidfile was overwritten"
        assert not os.path.exists(sock2)
        # same socket, another pidfile: must not steal a live socket
        conf3 = os.path.join(p.dir, "third.conf")
        pid3 = os.path.join(p.dir, "third.pid")
        with open(conf3, "w") as f:
            f.write("listen = %s\npidfile = %s\nlog_path = \nworkers = 1\n" % (p.sock, pid3))
        err3 = os.path.join(p.dir, "third.err")
        q = p.spawn(conf3, err3)
        p.others.append(q)
        try:
            rc = q.wait(5.0)
        except subprocess.TimeoutExpired:
            raise AssertionError("a second master on the same socket kept running")
        assert rc != 0, rc
        with open(err3) as f:
            err = f.read()
        assert "another server" in err, err
        assert not os.path.exists(pid3)
        assert os.path.exists(p.sock)
        assert p.hello() in p.children()


def test_config_check_flag():
    assert os.access(APPOINTD, os.X_OK), "%s missing" % APPOINTD
    d = tempfile.mkdtemp(prefix="apool", dir="/tmp")
    try:
        good = os.path.join(d, "good.conf")
        with open(good, "w") as f:
            f.write("# ok\nlisten = %s/s.sock\nworkers = 3\nmax_requests = 0\n" % d)
        p = subprocess.run([APPOINTD, "-t", "-c", good], capture_output=True, text=True,
                           env=clean_env(), timeout=10)
        assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
        assert "ok" in p.stdout and good in p.stdout, p.stdout
        assert not os.path.exists(os.path.join(d, "s.sock")), "-t must not bind"
        bad = os.path.join(d, "bad.conf")
        with open(bad, "w") as f:
            f.write("# bad on line 3\nlisten = %s/s.sock\nworkers = 0\n" % d)
        p = subprocess.run([APPOINTD, "-t", "-c", bad], capture_output=True, text=True,
                           env=clean_env(), timeout=10)
        assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
        assert "%s:3: workers: must be 1..256" % bad in p.stderr, p.stderr
        missing = os.path.join(d, "missing.conf")
        p = subprocess.run([APPOINTD, "-t", "-c", missing], capture_output=True, text=True,
                           env=clean_env(), timeout=10)
        assert p.returncode == 1 and missing in p.stderr, (p.returncode, p.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ------------------------------------------------------------------ signals vs. accepted connections
# A worker blocks in libfcgi's FCGX_Accept_r between requests. After accept()
# returns, libfcgi 2.4.2 waits (poll, up to 2 s) for the connection to become
# readable before it reads the request; a client such as nginx may connect a
# moment before it writes. A signal the master sends then (SIGTERM to finish,
# SIGUSR1 to reopen the log) must not cost that client its request.

def _connect_then_signal(p, sig):
    """Open a connection to a 1-worker pool and let the worker accept it, send
    sig to the master while no request bytes have arrived yet, then send the
    request. Returns (raw response or None, error or None)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(4.0)
    try:
        s.connect(p.sock)
        time.sleep(0.3)  # the idle worker has accepted it and waits for data
        os.kill(p.pid, sig)
        time.sleep(0.3)
        try:
            fcgi_send(s)
            return fcgi_read(s), None
        except (OSError, FcgiClosed) as e:
            return None, repr(e)
    finally:
        s.close()


def _cpu_share(pid):
    """The share of one CPU pid used over the next second (None if gone)."""
    def cpu():
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
        fields = st[st.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    try:
        a = cpu()
        time.sleep(1.0)
        return cpu() - a
    except OSError:
        return None


def _describe(pid):
    share = _cpu_share(pid)
    if share is None or not alive(pid):
        return "worker %d gone" % pid
    return "worker %d alive, using %d%% of a CPU" % (pid, round(share * 100))


def test_sigterm_keeps_connection_accepted_before_its_request():
    with Pool(workers=1) as p:
        worker = p.children()[0]
        raw, err = _connect_then_signal(p, signal.SIGTERM)
        try:
            rc = p.proc.wait(5.0)
        except subprocess.TimeoutExpired:
            rc = None
        problems = []
        if raw is None:
            problems.append("the accepted connection was dropped (%s)" % err)
        if rc is None:
            problems.append("master still running 5.6 s after SIGTERM (%s)" % _describe(worker))
        assert not problems, "; ".join(problems) + " | " + p.diag()
        hello_pid(raw)
        assert rc == 0, rc


def test_sighup_keeps_connection_accepted_before_its_request():
    with Pool(workers=1) as p:
        worker = p.children()[0]
        raw, err = _connect_then_signal(p, signal.SIGHUP)
        done = wait_until(lambda: p.events("reload_done"), 3.0)
        problems = []
        if raw is None:
            problems.append("the accepted connection was dropped (%s)" % err)
        if not done:
            problems.append("reload not done after 3 s (old %s)" % _describe(worker))
        assert not problems, "; ".join(problems) + " | " + p.diag()
        hello_pid(raw)
        assert wait_until(lambda: len(p.children()) == 1 and worker not in p.children(), 2.0)


def test_sigusr1_keeps_connection_accepted_before_its_request():
    with Pool(workers=1) as p:
        raw, err = _connect_then_signal(p, signal.SIGUSR1)
        assert raw is not None, "the accepted connection was dropped on SIGUSR1 (%s) | %s" % (
            err, p.diag())
        hello_pid(raw)
        assert p.events("log_reopened"), p.diag()
