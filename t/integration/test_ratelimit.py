"""Rate limits: nginx's limit_req per API key and per client address,
answered with 429, the contract's JSON body and Retry-After. The suite's own
nginx runs the generous defaults; these tests start a second, real nginx
from the same template (./dev nginx-conf) with tight limits, in front of the
same pool."""

import http.client
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import lib


class Nginx:
    """A second nginx for the sandbox's pool, with the given limits."""

    def __init__(self, **limits):
        self.dir = tempfile.mkdtemp(prefix="appointd-rl.")
        os.chmod(self.dir, 0o755)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("APPOINTD_RATE_")}
        env.update(APPOINTD_VAR=self.dir, APPOINTD_HTTP_PORT=str(self.port),
                   APPOINTD_SOCKET=os.path.join(lib.VAR, "run", "appointd.sock"))
        env.update({"APPOINTD_RATE_" + k.upper(): str(v) for k, v in limits.items()})
        p = subprocess.run([os.path.join(lib.ROOT, "dev"), "nginx-conf"], env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        self.conf = p.stdout.strip().splitlines()[-1]
        self.site = os.path.join(os.path.dirname(self.conf), "appointd-site.conf")
        self.nginx("-q")
        assert lib.wait_until(lambda: self.request("/health", source=None)[0] == 200, 10), \
            "the second nginx did not come up"

    def nginx(self, *args):
        p = subprocess.run(["nginx", "-c", self.conf, "-p", os.path.join(self.dir, "nginx")] + list(args),
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr

    def request(self, path, key=None, source="127.0.0.1"):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                       source_address=(source, 0) if source else None)
        try:
            c.request("GET", path, headers={"Authorization": "Bearer " + key} if key else {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        except OSError:
            return None, {}, b""
        finally:
            c.close()

    def close(self):
        try:
            self.nginx("-s", "stop")
        finally:
            time.sleep(0.2)
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def check_429(status, headers, body):
    assert status == 429, (status, body)
    assert json.loads(body) == {"error": {"message": "Too many requests; retry shortly.",
                                          "code": "RATE_LIMITED"}}, body
    assert int(headers["retry-after"]) >= 1, headers
    assert headers.get("x-content-type-options") == "nosniff", headers
    assert headers.get("x-request-id"), headers
    assert headers["content-type"].startswith("application/json"), headers


def burst(ng, n, **kw):
    t0 = time.monotonic()
    out = [ng.request("/api/providers/%s" % lib.uuid4(), **kw) for _ in range(n)]
    return out, time.monotonic() - t0


def test_per_key_limit_answers_429_and_leaves_other_keys_alone():
    _, other = lib.dev("ctl", "key", "create", "--scope", "read").splitlines()[-2:]
    with Nginx(per_addr=0, per_key=1, burst_key=5) as ng:
        got, took = burst(ng, 20, key=lib.ADMIN_KEY)
        statuses = [s for s, _, _ in got]
        assert statuses[:6] == [404] * 6, statuses  # 1 + a burst of 5 pass at once
        limited = [g for g in got if g[0] == 429]
        assert limited and len(limited) >= 20 - 6 - int(took) - 1, (statuses, took)
        check_429(*limited[0])
        # Another key has its own allowance; no key is not counted as a key.
        assert ng.request("/api/providers/%s" % lib.uuid4(), key=other)[0] == 404
        assert [ng.request("/api/providers/x")[0] for _ in range(10)] == [401] * 10
        # Neither /health nor /metrics is limited.
        assert [ng.request("/health", key=lib.ADMIN_KEY)[0] for _ in range(10)] == [200] * 10
        # The allowance comes back at the configured rate.
        time.sleep(1.5)
        assert ng.request("/api/providers/%s" % lib.uuid4(), key=lib.ADMIN_KEY)[0] == 404


def test_per_address_limit():
    with Nginx(per_addr=1, burst_addr=3, per_key=0) as ng:
        got, took = burst(ng, 12)
        statuses = [s for s, _, _ in got]
        assert statuses[:4] == [401] * 4, statuses
        limited = [g for g in got if g[0] == 429]
        assert limited and len(limited) >= 12 - 4 - int(took) - 1, (statuses, took)
        check_429(*limited[0])
        # Another client address is not held back by this one's requests.
        assert ng.request("/api/providers/x", source="127.0.0.2")[0] == 401


def test_limits_off():
    with Nginx(per_addr=0, per_key=0) as ng:
        conf = open(ng.site).read()
        assert "limit_req zone" not in conf
        got, _ = burst(ng, 30, key=lib.ADMIN_KEY)
        assert [s for s, _, _ in got] == [404] * 30


def test_generous_defaults():
    with Nginx() as ng:
        conf = open(ng.site).read()
        for zone in ("appointd_addr", "appointd_key"):
            assert "zone=%s:10m rate=1000r/s;" % zone in conf, zone
            assert "limit_req zone=%s burst=2000 nodelay;" % zone in conf, zone
        got, _ = burst(ng, 50, key=lib.ADMIN_KEY)
        assert [s for s, _, _ in got] == [404] * 50
