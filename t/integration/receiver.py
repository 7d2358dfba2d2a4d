"""A real local webhook receiver for the integration tests (standard library only).

    with Receiver() as recv:
        j = post("/api/webhooks", {"url": recv.url("/a")}).json
        recv.set_secret(j["secret"], "/a")
        ...
        recv.wait(lambda arrivals: len(arrivals) >= 3, provider=pid)

It listens on 127.0.0.1 (an ephemeral port, kept across down()/up()), speaks
HTTP/1.1 with keep-alive (as a real receiver would, so the relay's connection
reuse is exercised), verifies Standard Webhooks signatures itself and records
every request in arrival order as an Arrival.

How it answers a request, decided when the request has arrived:
  1. the next entry of the fail_next() queue, if any;
  2. else the plan function's result, if it returns one (not None);
  3. else 204, after the slow() delay.
An entry / plan result is a status, (status, headers) or (status, headers,
delay_seconds). down() closes the listening socket and every open connection
(connections are then refused); up() listens again on the same port.

Run as a script for a quick self-test.
"""

import base64
import hashlib
import hmac
import http.server
import json
import socket
import threading
import time

SIG_PREFIX = "whsec_"


# ------------------------------------------------------------------ signatures
def secret_key(secret):
    """The HMAC key of a "whsec_<base64>" secret."""
    s = secret[len(SIG_PREFIX):] if secret.startswith(SIG_PREFIX) else secret
    return base64.b64decode(s)


def sign(secret, msg_id, timestamp, body):
    """The "v1,<base64>" Standard Webhooks signature of one message."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    signed = ("%s.%s." % (msg_id, timestamp)).encode("utf-8") + body
    mac = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def verify(secret, msg_id, timestamp, body, header):
    """True if any space-separated "v1,<sig>" in header matches."""
    if not secret or not msg_id or not timestamp or not header:
        return False
    want = sign(secret, msg_id, timestamp, body).encode("ascii")
    return any(part.startswith("v1,") and hmac.compare_digest(part.encode("ascii", "replace"), want)
               for part in header.split(" "))


# ------------------------------------------------------------------ arrivals
class Arrival:
    """One request as the receiver saw it.

    t / wall       monotonic / wall-clock time the request (headers and body) arrived
    attempt        1 for the first request with this webhook-id, 2 for the next, ...
    status         what the receiver decided to answer (None while not decided)
    answered_t     monotonic time the answer was written (None if not yet / never)
    sent           True once the answer was written and flushed without error
    """

    def __init__(self, recv, n, method, path, headers, body):
        self._recv = recv
        self.n = n
        self.t = time.monotonic()
        self.wall = time.time()
        self.method = method
        self.path = path
        self.headers = headers                      # lower-cased names
        self.body = body                            # raw bytes
        self.webhook_id = headers.get("webhook-id")
        self.timestamp = headers.get("webhook-timestamp")
        self.signature = headers.get("webhook-signature")
        self.content_type = headers.get("content-type")
        try:
            self.json = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            self.json = None
        self.attempt = 0
        self.status = None
        self.answered_t = None
        self.sent = False

    @property
    def sig_ok(self):
        """The signature checked against the secret now set for this path."""
        return verify(self._recv.secret_for(self.path), self.webhook_id, self.timestamp,
                      self.body, self.signature)

    @property
    def event_type(self):
        return self.json.get("eventType") if isinstance(self.json, dict) else None

    @property
    def payload(self):
        p = self.json.get("payload") if isinstance(self.json, dict) else None
        return p if isinstance(p, dict) else {}

    @property
    def provider_id(self):
        return self.payload.get("providerId")

    @property
    def patient_id(self):
        return self.payload.get("patientId")

    @property
    def appointment_id(self):
        return self.payload.get("appointmentId")

    @property
    def ok(self):
        """Answered 2xx (and the answer was written)."""
        return self.sent and self.status is not None and 200 <= self.status < 300

    @property
    def in_flight(self):
        return self.answered_t is None

    def __repr__(self):
        return "<Arrival #%d %s %s id=%s type=%s try=%d -> %s%s>" % (
            self.n, self.method, self.path, self.webhook_id, self.event_type, self.attempt,
            self.status, "" if self.sent else " (not sent)")


def _normalize(resp, default_delay):
    if resp is None:
        return None
    if isinstance(resp, int):
        return resp, {}, default_delay
    resp = tuple(resp)
    status = int(resp[0])
    headers = dict(resp[1]) if len(resp) > 1 and resp[1] else {}
    delay = float(resp[2]) if len(resp) > 2 and resp[2] is not None else default_delay
    return status, headers, delay


# ------------------------------------------------------------------ server
class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60            # an idle kept-alive connection is dropped after this

    def setup(self):
        super().setup()
        self.server.recv._track(self.connection, True)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        self.server.recv._track(self.connection, False)

    def log_message(self, fmt, *args):  # quiet
        pass

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _handle(self):
        recv = self.server.recv
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        a, (status, extra, delay) = recv._arrive(self.command, self.path, headers, body)
        if delay > 0:
            recv._stopping.wait(delay)
        payload = b"" if status in (204, 304) or status < 200 else (b"status %d\n" % status)
        try:
            self.send_response(status)
            names = set()
            for k, v in extra.items():
                self.send_header(k, str(v))
                names.add(k.lower())
            if status not in (204, 304) and status >= 200:
                if "content-type" not in names:
                    self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)
            self.wfile.flush()
            sent = True
        except OSError:
            self.close_connection = True
            sent = False
        recv._answered(a, sent)

    do_POST = do_PUT = do_GET = do_DELETE = do_PATCH = _handle


class _Server(http.server.ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request, client_address):  # a dropped connection is normal here
        pass


class Receiver:
    def __init__(self, secret=None, host="127.0.0.1", port=0):
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._arrivals = []
        self._per_id = {}
        self._secrets = {None: secret}
        self._queue = []
        self._plan = None
        self._slow = 0.0
        self._conns = set()
        self._stopping = threading.Event()
        self._server = None
        self._thread = None
        self.up()

    # -- lifecycle
    def up(self):
        """Listen (again, on the same port once one was chosen)."""
        if self._server is not None:
            return
        last = None
        for _ in range(50):
            try:
                srv = _Server((self.host, self.port), _Handler)
                break
            except OSError as e:  # the port may linger briefly after down()
                last = e
                time.sleep(0.1)
        else:
            raise last
        srv.recv = self
        self.port = srv.server_address[1]
        self._server = srv
        self._thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="receiver-%d" % self.port, daemon=True)
        self._thread.start()

    def down(self):
        """Stop listening and drop every open connection: connections are refused."""
        srv, self._server = self._server, None
        if srv is None:
            return
        srv.shutdown()
        srv.server_close()
        self._thread.join(timeout=5)
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @property
    def is_up(self):
        return self._server is not None

    def stop(self):
        self._stopping.set()
        self.down()

    close = stop

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- configuration
    def url(self, path="/hook"):
        if not path.startswith("/"):
            path = "/" + path
        return "http://%s:%d%s" % (self.host, self.port, path)

    def set_secret(self, secret, path=None):
        """The secret that signs requests to `path` (None: every other path)."""
        with self._lock:
            self._secrets[path] = secret

    def secret_for(self, path):
        with self._lock:
            p = path.split("?", 1)[0]
            return self._secrets.get(p, self._secrets.get(None))

    def fail_next(self, *responses):
        """Answer the next requests with these (then revert to plan / 204)."""
        with self._lock:
            self._queue.extend(responses)

    def plan(self, fn):
        """fn(arrival) -> None (default answer) | status | (status, headers[, delay])."""
        with self._lock:
            self._plan = fn

    def slow(self, seconds):
        """Wait this long before every default (and delay-less planned) answer; 0 = off."""
        with self._lock:
            self._slow = float(seconds)

    def reset(self):
        """Forget the arrivals, the queue, the plan and the slow mode."""
        with self._lock:
            self._arrivals = []
            self._per_id = {}
            self._queue = []
            self._plan = None
            self._slow = 0.0

    # -- reading
    def arrivals(self, path=None, provider=None, event_id=None, event_type=None, patient=None,
                 where=None):
        """A snapshot of the arrivals (in arrival order) matching every filter given."""
        with self._lock:
            out = list(self._arrivals)
        if path is not None:
            out = [a for a in out if a.path.split("?", 1)[0] == path]
        if provider is not None:
            out = [a for a in out if a.provider_id == provider]
        if event_id is not None:
            out = [a for a in out if a.webhook_id == event_id]
        if event_type is not None:
            out = [a for a in out if a.event_type == event_type]
        if patient is not None:
            out = [a for a in out if a.patient_id == patient]
        if where is not None:
            out = [a for a in out if where(a)]
        return out

    def wait(self, pred, timeout=15.0, **filters):
        """Wait until pred(arrivals(**filters)) is truthy; return that value
        (or the last falsy one on timeout)."""
        end = time.monotonic() + timeout
        while True:
            v = pred(self.arrivals(**filters))
            if v or time.monotonic() >= end:
                return v
            with self._changed:
                self._changed.wait(min(0.1, max(0.0, end - time.monotonic())))

    # -- internals
    def _track(self, conn, add):
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def _arrive(self, method, path, headers, body):
        with self._lock:
            a = Arrival(self, len(self._arrivals) + 1, method, path, headers, body)
            if a.webhook_id is not None:
                self._per_id[a.webhook_id] = self._per_id.get(a.webhook_id, 0) + 1
                a.attempt = self._per_id[a.webhook_id]
            self._arrivals.append(a)
            queued = self._queue.pop(0) if self._queue else None
            plan, slow = self._plan, self._slow
        decided = _normalize(queued, slow)
        if decided is None and plan is not None:
            try:
                decided = _normalize(plan(a), slow)
            except Exception as e:  # noqa: BLE001 - a broken plan answers 599 and says why
                a.plan_error = e
                decided = (599, {}, 0.0)
        if decided is None:
            decided = (204, {}, slow)
        a.status = decided[0]
        with self._changed:
            self._changed.notify_all()
        return a, decided

    def _answered(self, a, sent):
        with self._changed:
            a.answered_t = time.monotonic()
            a.sent = sent
            self._changed.notify_all()


# ------------------------------------------------------------------ self-test
def _self_test():
    import http.client
    import urllib.error
    import urllib.request

    # The Standard Webhooks reference vector.
    assert sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                "1614265330", b'{"test": 2432232314}') == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    assert verify(secret, "m", "1", b"x", "v1,bogus " + sign(secret, "m", "1", b"x"))
    assert not verify(secret, "m", "1", b"y", sign(secret, "m", "1", b"x"))

    def send(recv, body=b'{"eventType":"X","payload":{"providerId":"p1"}}', msg="evt_1", conn=None):
        ts = str(int(time.time()))
        c = conn or http.client.HTTPConnection("127.0.0.1", recv.port, timeout=5)
        c.request("POST", "/a", body=body, headers={
            "content-type": "application/json", "webhook-id": msg, "webhook-timestamp": ts,
            "webhook-signature": sign(secret, msg, ts, body)})
        r = c.getresponse()
        r.read()
        return r

    with Receiver() as recv:
        recv.set_secret(secret, "/a")
        recv.fail_next(500, (503, {"Retry-After": "2"}))
        c = http.client.HTTPConnection("127.0.0.1", recv.port, timeout=5)
        assert send(recv, conn=c).status == 500
        r = send(recv, conn=c)                      # same kept-alive connection
        assert r.status == 503 and r.getheader("Retry-After") == "2"
        assert send(recv, conn=c).status == 204
        arr = recv.arrivals(provider="p1")
        assert [a.attempt for a in arr] == [1, 2, 3] and all(a.sig_ok and a.ok == (a.status == 204) for a in arr), arr
        recv.plan(lambda a: (410, {}) if a.attempt == 4 else None)
        assert send(recv).status == 410
        recv.slow(0.3)
        t0 = time.monotonic()
        assert send(recv, msg="evt_2").status == 204 and time.monotonic() - t0 >= 0.3
        recv.slow(0)
        port = recv.port
        recv.down()
        try:
            send(recv, conn=http.client.HTTPConnection("127.0.0.1", port, timeout=2))
            raise AssertionError("still listening while down")
        except ConnectionRefusedError:
            pass
        try:                                        # a kept-alive connection is dropped too
            send(recv, conn=c)
            raise AssertionError("kept-alive connection survived down()")
        except (OSError, http.client.HTTPException):
            pass
        recv.up()
        assert recv.port == port and send(recv, msg="evt_3").status == 204
        assert recv.wait(lambda a: len(a) == 6, timeout=2), recv.arrivals()
        bad = recv.arrivals(event_id="evt_3")[0]
        assert bad.sig_ok and bad.json["payload"]["providerId"] == "p1"
        try:
            urllib.request.urlopen(urllib.request.Request(recv.url("/a"), data=b"{}", method="POST"))
        except urllib.error.HTTPError:
            raise
        unsigned = recv.arrivals()[-1]
        assert not unsigned.sig_ok and unsigned.webhook_id is None
    print("receiver self-test ok")


if __name__ == "__main__":
    _self_test()
