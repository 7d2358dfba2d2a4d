"""Idempotency-Key on POST, PUT and DELETE of appointments: replays with
Idempotent-Replayed, 422 for another request, 409 while in flight, scoped
to the API key, every outcome but a rejection (422) remembered (409, 404,
400 included), the key bare or as an RFC 8941 string, concurrent retries book
once, and answers older than 24 hours forgotten and pruned."""

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


def test_scoped_to_the_api_key_and_failures_replayed():
    pid = lib.make_provider()
    d = lib.future_date(weekday=3)
    k = "k-" + lib.uuid4()
    body = booking_body(pid, slot(d, "10:00"), lib.patient())
    mine = lib.expect(lib.post("/api/appointments", body, headers=idem(k)), 201)
    out = lib.dev("ctl", "key", "create", "--scope", "booking").splitlines()
    other = {"Authorization": "Bearer " + out[-1], "Idempotency-Key": k}
    # another API key's request with the same Idempotency-Key really runs: the slot is taken
    first = lib.request("POST", "/api/appointments", body=body, headers=other, auth=False)
    lib.check_error(first, 409, "CONFLICT")
    assert "idempotent-replayed" not in first.headers
    # a 409 is an outcome: its retry replays it, even once the slot is free again
    lib.expect(lib.delete("/api/appointments/" + mine["appointmentId"]), 200)
    again = lib.request("POST", "/api/appointments", body=body, headers=other, auth=False)
    assert again.status == 409 and again.body == first.body, again
    assert again.headers.get("idempotent-replayed") == "true", again.headers
    # without the key the slot books: the replay changed nothing
    lib.expect(lib.post("/api/appointments", body), 201)


def test_404_and_400_replayed_422_not_remembered():
    pid = lib.make_provider()
    d = lib.future_date(weekday=5)
    k = "k-" + lib.uuid4()
    gone = lib.uuid4()
    r1 = lib.put("/api/appointments/" + gone, {"startTime": slot(d, "10:00")}, headers=idem(k))
    lib.check_error(r1, 404, "NOT_FOUND")
    r2 = lib.put("/api/appointments/" + gone, {"startTime": slot(d, "10:00")}, headers=idem(k))
    assert r2.status == 404 and r2.body == r1.body and r2.headers.get("idempotent-replayed") == "true"
    # a cancelled appointment cannot move: 400, remembered
    a = lib.book_ok(pid, slot(d, "11:00"))
    lib.expect(lib.delete("/api/appointments/" + a["appointmentId"]), 200)
    k2 = "k-" + lib.uuid4()
    b1 = lib.put("/api/appointments/" + a["appointmentId"], {"startTime": slot(d, "12:00")}, headers=idem(k2))
    lib.check_error(b1, 400, "BAD_REQUEST")
    b2 = lib.put("/api/appointments/" + a["appointmentId"], {"startTime": slot(d, "12:00")}, headers=idem(k2))
    assert b2.status == 400 and b2.headers.get("idempotent-replayed") == "true", b2
    # a 422 is a rejection: the corrected retry with the same key runs
    k3 = "k-" + lib.uuid4()
    p = lib.patient()
    bad = booking_body(pid, "not-an-instant", p)
    lib.check_error(lib.post("/api/appointments", bad, headers=idem(k3)), 422, "VALIDATION_ERROR")
    fixed = lib.post("/api/appointments", booking_body(pid, slot(d, "13:00"), p), headers=idem(k3))
    # a different body under the key is only "reused" if the 422 had been stored
    assert fixed.status == 201 and "idempotent-replayed" not in fixed.headers, fixed
    assert count_appts(pid, p) == 1


def test_quoted_and_bare_key_are_one_key():
    pid = lib.make_provider()
    d = lib.future_date(weekday=6)
    p = lib.patient()
    body = booking_body(pid, slot(d, "10:00"), p)
    k = "qk-" + lib.uuid4()
    a = lib.expect(lib.post("/api/appointments", body, headers=idem('"%s"' % k)), 201)
    r = lib.post("/api/appointments", body, headers=idem(k))
    assert r.status == 201 and r.json == a and r.headers.get("idempotent-replayed") == "true", r
    # escapes inside the quotes
    k2 = 'q\\"x-' + lib.uuid4()          # sent as "q\\\"x-..." (backslash, quote)
    body2 = booking_body(pid, slot(d, "11:00"), p)
    sent = '"' + k2.replace("\\", "\\\\").replace('"', '\\"') + '"'
    b = lib.expect(lib.post("/api/appointments", body2, headers=idem(sent)), 201)
    r = lib.post("/api/appointments", body2, headers=idem(k2))
    assert r.status == 201 and r.json == b and r.headers.get("idempotent-replayed") == "true", r
    assert count_appts(pid, p) == 2
    for bad in ['""', '"open', '"bad\\q"', '"in"side"']:
        lib.check_error(lib.post("/api/appointments", body, headers=idem(bad)), 422, "VALIDATION_ERROR",
                        field="Idempotency-Key")


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
