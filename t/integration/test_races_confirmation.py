"""Races on one PENDING appointment: confirm, decline and cancel sent at once
by many clients behind a barrier end in one consistent state, with exactly
the events of the transitions that happened, matching every HTTP answer.

The legal histories from PENDING are: DECLINED; CANCELLED; CONFIRMED then
CANCELLED (a cancel always comes, and it cancels a confirmed one too).
Whatever happened, the seat is free afterwards."""

import collections

from lib import cancel, expect, outbox, q, sql
from test_concurrency import race, summarize
from test_confirmation import base_payload, confirm, decline, pending, setup, requested_payload
from test_service_booking import book_svc, utc

CLIENTS = 48
ROUNDS = 10


def one_round(pid, d, hour):
    a = pending(pid, utc(d, "%02d:00" % hour))
    aid = a["appointmentId"]
    kinds = ["confirm", "decline", "cancel"]

    def go(i):
        k = kinds[i % 3]
        if k == "confirm":
            return k, confirm(aid, timeout=60)
        if k == "decline":
            return k, decline(aid, "race %d" % i, timeout=60)
        return k, cancel(aid, "race %d" % i, timeout=60)

    results = race(CLIENTS, go)
    bad = [r for r in results if isinstance(r, Exception)]
    assert not bad, bad[:3]
    by = collections.defaultdict(list)
    for k, r in results:
        by[k].append(r)
    got = {k: summarize(v) for k, v in by.items()}
    for k, rs in by.items():
        for r in rs:
            assert r.status in (200, 400), (k, r)
            if r.status == 400:
                assert r.json["error"]["code"] == "BAD_REQUEST", r

    row = sql("SELECT status, coalesce(decline_reason, ''), coalesce(cancellation_reason, '') "
              "FROM appointments WHERE id = %s" % q(aid))
    assert len(row) == 1, row
    status, dreason, creason = row[0]
    evs = [(x["event_type"], x["envelope"]["payload"]) for x in outbox(aggregate_id=aid)]
    types = [t for t, _ in evs]
    assert evs[0] == ("APPOINTMENT_REQUESTED", requested_payload(a)), evs[0]
    confirms_ok = [r for r in by["confirm"] if r.status == 200]
    declines_ok = [r for r in by["decline"] if r.status == 200]
    cancels_ok = [r for r in by["cancel"] if r.status == 200]

    if status == "DECLINED":
        # the decline came first: every confirm and cancel was refused, every decline answered 200
        assert types == ["APPOINTMENT_REQUESTED", "APPOINTMENT_DECLINED"], (got, types)
        assert not confirms_ok and not cancels_ok and len(declines_ok) == len(by["decline"]), got
        assert all(r.json["status"] == "DECLINED" and r.json["declineReason"] == dreason for r in declines_ok)
        assert evs[1][1] == dict(base_payload(a, "DECLINED"), reason=dreason), evs[1]
        assert dreason.startswith("race ") and creason == "", row
        history = "declined"
    else:
        assert status == "CANCELLED", row
        # every cancel answers 200 (cancelling a cancelled one too); no decline ever succeeds
        assert len(cancels_ok) == len(by["cancel"]) and not declines_ok, got
        assert creason.startswith("race ") and dreason == "", row
        cancelled = [p for t, p in evs if t == "APPOINTMENT_CANCELLED"]
        assert len(cancelled) == 1 and cancelled[0] == dict(base_payload(a, "CANCELLED"), reason=creason), evs
        if confirms_ok:
            assert types == ["APPOINTMENT_REQUESTED", "APPOINTMENT_CONFIRMED", "APPOINTMENT_CANCELLED"], (got, types)
            assert evs[1][1] == dict(base_payload(a, "CONFIRMED"), endTime=a["endTime"]), evs[1]
            assert all(r.json["status"] == "CONFIRMED" for r in confirms_ok), confirms_ok
            history = "confirmed+cancelled"
        else:
            assert types == ["APPOINTMENT_REQUESTED", "APPOINTMENT_CANCELLED"], (got, types)
            history = "cancelled"
        for r in by["decline"]:
            assert r.status == 400, r
    # whatever happened, the seat is free again
    expect(book_svc(pid, utc(d, "%02d:00" % hour)), 201)
    return history, got


def test_confirm_decline_cancel_race_on_one_pending():
    pid, d = setup()
    seen = collections.Counter()
    for n in range(ROUNDS):
        history, got = one_round(pid, d, 6 + n)
        seen[history] += 1
    print("    histories over %d rounds: %s" % (ROUNDS, dict(seen)))


def test_concurrent_confirms_write_one_event():
    pid, d = setup()
    a = pending(pid, utc(d, "10:00"))
    results = race(32, lambda i: confirm(a["appointmentId"], timeout=60))
    assert summarize(results) == {200: 32}, summarize(results)
    assert all(r.json["status"] == "CONFIRMED" for r in results)
    types = [x["event_type"] for x in outbox(aggregate_id=a["appointmentId"])]
    assert types == ["APPOINTMENT_REQUESTED", "APPOINTMENT_CONFIRMED"], types
