"""A soak of mixed requests, so the sanitizer and leak checks that ./dev
check runs over the workers' logs after the stack stops have something to
find: tens of thousands of requests across every route, on keep-alive
connections, bounded in time."""

import threading
import time

import lib

REQUESTS = 20000
THREADS = 4
TIME_LIMIT = 120.0


def test_soak_mixed_requests():
    pid = lib.make_provider("Europe/Berlin", appointmentDuration=15, slotInterval=15)
    d = lib.future_date(days=30)
    days = [lib.future_date(days=30 + k) for k in range(40)]
    counts = {"ok": 0, "bad": 0}
    errors = []
    lock = threading.Lock()
    deadline = time.monotonic() + TIME_LIMIT

    def worker(n):
        conn = lib.connection()
        booked = []
        for i in range(REQUESTS // THREADS):
            if time.monotonic() > deadline:
                break
            k = i % 10
            day = days[(n * 7 + i) % len(days)]
            if k < 5:
                r = lib.request("GET", f"/api/providers/{pid}/availability?date={day}", conn=conn)
                good = r.status == 200
            elif k == 5:
                r = lib.request("GET", f"/api/providers/{pid}/availability?startDate={d}&endDate={days[6]}", conn=conn)
                good = r.status == 200
            elif k == 6:
                slot = f"{day}T{8 + (i // 10) % 8:02d}:{15 * (n % 4):02d}:00+01:00"
                r = lib.request("POST", "/api/appointments",
                                body={"patientId": f"soak-{n}", "providerId": pid, "startTime": slot}, conn=conn)
                good = r.status in (201, 409)
                if r.status == 201:
                    booked.append(r.json["appointmentId"])
            elif k == 7 and booked:
                r = lib.request("DELETE", f"/api/appointments/{booked.pop()}?reason=soak", conn=conn)
                good = r.status == 200
            elif k == 8:
                r = lib.request("POST", f"/api/providers/{pid}/schedule", raw=b"{not json",
                                headers={"Content-Type": "application/json"}, conn=conn)
                good = r.status == 400
            else:
                r = lib.request("GET", f"/api/appointments?providerId={pid}&limit=5", conn=conn)
                good = r.status == 200
            with lock:
                counts["ok" if good else "bad"] += 1
                if not good and len(errors) < 5:
                    errors.append(repr(r))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counts["bad"] == 0, f"{counts['bad']} unexpected answers, e.g. {errors}"
    assert counts["ok"] >= 5000, f"only {counts['ok']} requests in {TIME_LIMIT}s"
