"""Idempotency-Key on POST, PUT and DELETE of appointments: replays with
Idempotent-Replayed, 422 for another request, 409 while in flight, scoped
to the API key, only successes stored, concurrent retries book once, and
answers older than 24 hours forgotten and pruned."""

import os
import signal
import threading

import lib


def idem(key):
    return {"Idempotency-Key": key}


def booking_body(pid, start, patient):
    return {"patientId": patient, "providerId": pid, "startTime": start}


def slot(d, hhmm):
    return lib.iso_z(lib.local_dt("Europe/Berlin", d, hhmm))


def count_appts(pid, patient):
    j = lib.expect(lib.get("/api/appointments?providerId=%s&patientId=%s" % (pid, patient)), 200)
    return len(j["appointments"])


def test_replay_and_reuse():
    pid = lib.make_provider()
    d = lib.future_date(weekday=2)
    p = lib.patient()
    k = "k-" + lib.uuid4()
    body = booking_body(pid, slot(d, "10:00"), p)
    first = lib.post("/api/appointments", body, headers=idem(k))
    a = lib.expect(first, 201)
    assert "idempotent-replayed" not in first.headers
    again = lib.post("/api/appointments", body, headers=idem(k))
    assert again.status == 201 and again.json == a, again
    assert again.headers.get("idempotent-replayed") == "true", again.headers
    assert count_appts(pid, p) == 1
    assert lib.outbox_count(a["appointmentId"]) == 1
    # the same key for another request
    other = dict(body, startTime=slot(d, "11:00"))
    lib.check_error(lib.post("/api/appointments", other, headers=idem(k)), 422, "IDEMPOTENCY_KEY_REUSED")
    assert count_appts(pid, p) == 1
    # PUT and DELETE replay too, and change (and announce) once
    k2, k3 = "k-" + lib.uuid4(), "k-" + lib.uuid4()
    mv = {"startTime": slot(d, "12:00")}
    r1 = lib.expect(lib.put("/api/appointments/" + a["appointmentId"], mv, headers=idem(k2)), 200)
    r2 = lib.put("/api/appointments/" + a["appointmentId"], mv, headers=idem(k2))
    assert r2.status == 200 and r2.json == r1 and r2.headers.get("idempotent-replayed") == "true"
    c1 = lib.delete("/api/appointments/" + a["appointmentId"], headers=idem(k3))
    c2 = lib.delete("/api/appointments/" + a["appointmentId"], headers=idem(k3))
    assert c1.status == 200 and c2.status == 200 and c2.json == c1.json
    assert c2.headers.get("idempotent-replayed") == "true"
    assert lib.outbox_count(a["appointmentId"]) == 3  # confirmed, rescheduled, cancelled


def test_scoped_to_the_api_key_and_errors_not_stored():
    pid = lib.make_provider()
    d = lib.future_date(weekday=3)
    k = "k-" + lib.uuid4()
    body = booking_body(pid, slot(d, "10:00"), lib.patient())
    lib.expect(lib.post("/api/appointments", body, headers=idem(k)), 201)
    out = lib.dev("ctl", "key", "create", "--scope", "booking").splitlines()
    other = {"Authorization": "Bearer " + out[-1], "Idempotency-Key": k}
    # another API key's request with the same Idempotency-Key really runs: the slot is taken
    r = lib.request("POST", "/api/appointments", body=body, headers=other, auth=False)
    lib.check_error(r, 409, "CONFLICT")
    assert "idempotent-replayed" not in r.headers
    # and a failure is not stored: the retry runs again (and fails again, unreplayed)
    r = lib.request("POST", "/api/appointments", body=body, headers=other, auth=False)
    lib.check_error(r, 409, "CONFLICT")
    assert "idempotent-replayed" not in r.headers


def test_bad_keys_are_422():
    for bad in ["x" * 256, "caf\u00e9".encode("utf-8").decode("latin-1"), "tab\there"]:
        r = lib.post("/api/appointments", {"patientId": "p"}, headers=idem(bad))
        lib.check_error(r, 422, "VALIDATION_ERROR", field="Idempotency-Key")


def test_concurrent_retries_book_once():
    pid = lib.make_provider()
    d = lib.future_date(weekday=4)
    p = lib.patient()
    k = "k-" + lib.uuid4()
    body = booking_body(pid, slot(d, "09:00"), p)
    results = []
    gate = threading.Barrier(16)

    def go():
        gate.wait()
        r = lib.post("/api/appointments", body, headers=idem(k))
        results.append((r.status, (r.json or {}).get("error", {}).get("code"),
                        r.headers.get("idempotent-replayed"), r.json))

    threads = [threading.Thread(target=go) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 16
    oks = [x for x in results if x[0] == 201]
    assert oks, results
    assert all(x[0] == 201 or (x[0] == 409 and x[1] == "IDEMPOTENCY_KEY_IN_USE") for x in results), results
    assert len({x[3]["appointmentId"] for x in oks}) == 1, oks
    assert len([x for x in oks if x[2] != "true"]) == 1, oks
    assert count_appts(pid, p) == 1
    assert lib.outbox_count(oks[0][3]["appointmentId"]) == 1


def test_answers_expire_after_24_hours():
    pid = lib.make_provider()
    d = lib.future_date(weekday=0, days=7)
    k = "k-" + lib.uuid4()
    a = lib.expect(lib.post("/api/appointments", booking_body(pid, slot(d, "10:00"), lib.patient()),
                            headers=idem(k)), 201)
    lib.sql("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE idem_key = %s" % lib.q(k))
    # forgotten: the key may now name another request
    b = lib.expect(lib.post("/api/appointments", booking_body(pid, slot(d, "11:00"), lib.patient()),
                            headers=idem(k)), 201)
    assert b["appointmentId"] != a["appointmentId"]
    k2 = "k-" + lib.uuid4()
    lib.expect(lib.post("/api/appointments", booking_body(pid, slot(d, "12:00"), lib.patient()),
                        headers=idem(k2)), 201)
    lib.sql("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE idem_key = %s" % lib.q(k2))
    with open(os.path.join(lib.VAR, "run", "appointd-relay.pid")) as f:
        os.kill(int(f.read().split()[0]), signal.SIGHUP)  # the relay's maintenance prunes at once
    assert lib.wait_until(lambda: not lib.sql("SELECT 1 FROM idempotency_keys WHERE idem_key = %s"
                                              % lib.q(k2)), 10), "an expired answer was not pruned"
