"""The relay's retention: old, finished events and delivery logs are pruned
(SIGHUP prunes at once), an event with a pending delivery stays, and
sequence numbers carry on after the rows that held the last ones are gone."""

import os
import signal

import lib


def relay_pid():
    with open(os.path.join(lib.VAR, "run", "appointd-relay.pid")) as f:
        return int(f.read().split()[0])


def prune_until(pred, timeout=10):
    """SIGHUP makes the relay prune at once; an event goes one pass after its
    last delivery log entry, so keep asking until pred holds."""
    def step():
        os.kill(relay_pid(), signal.SIGHUP)
        lib.wait_until(pred, 0.5)
        return pred()
    return lib.wait_until(step, timeout, 0)


def numbered(aggregate):
    return lib.sql("SELECT seq FROM outbox WHERE aggregate_id = %s AND seq IS NOT NULL"
                   % lib.q(aggregate))


def feed_max():
    after = 0
    while True:
        j = lib.expect(lib.get("/api/events?after=%d&limit=1000" % after), 200)
        if not j["events"]:
            return after
        after = j["nextAfter"]


def test_prune_old_events_keeps_pending_and_numbering():
    old = lib.make_provider()
    assert lib.wait_until(lambda: numbered(old), 10), "the schedule event was never numbered"
    # A subscription whose endpoint refuses connections: its delivery stays pending.
    hook = lib.expect(lib.post("/api/webhooks", {"url": "http://127.0.0.1:9/refused",
                                                 "eventTypes": ["PROVIDER_SCHEDULE_UPDATED"]}), 201)
    try:
        kept = lib.make_provider()
        assert lib.wait_until(lambda: lib.sql(
            "SELECT 1 FROM webhook_deliveries WHERE webhook_id = %s AND aggregate_id = %s"
            % (lib.q(hook["id"]), lib.q(kept))), 10), "no delivery was fanned out"
        last = feed_max()
        lib.sql("UPDATE outbox SET created_at = now() - interval '200 hours'"
                " WHERE aggregate_id IN (%s, %s)" % (lib.q(old), lib.q(kept)))
        lib.sql("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now() + interval '1 hour'"
                " WHERE webhook_id = %s" % lib.q(hook["id"]))
        # (Should another subscription have delivered `old`, its log entry is old too.)
        lib.sql("UPDATE webhook_deliveries SET updated_at = now() - interval '200 hours'"
                " WHERE aggregate_id = %s AND status <> 'pending'" % lib.q(old))
        assert prune_until(lambda: not lib.outbox(aggregate_id=old)), \
            "an old event nothing refers to was not pruned"
        assert lib.outbox(aggregate_id=kept), "an event with a pending delivery was pruned"
        # The numbers carry on from the last one given out.
        newer = lib.make_provider()
        j = lib.expect(lib.get("/api/events?after=%d" % last), 200)
        mine = [e for e in j["events"] if e["payload"].get("providerId") == newer]
        assert len(mine) == 1 and mine[0]["sequence"] > last, j
        seqs = [e["sequence"] for e in j["events"]]
        assert seqs == list(range(last + 1, last + 1 + len(seqs))), seqs
    finally:
        lib.expect(lib.delete("/api/webhooks/" + hook["id"]), 204)


def test_prune_finished_delivery_logs():
    hook = lib.expect(lib.post("/api/webhooks", {"url": "http://127.0.0.1:9/refused",
                                                 "eventTypes": ["PROVIDER_SCHEDULE_UPDATED"]}), 201)
    try:
        pid = lib.make_provider()
        assert lib.wait_until(lambda: lib.sql(
            "SELECT 1 FROM webhook_deliveries WHERE aggregate_id = %s" % lib.q(pid)), 10)
        # Finished long ago: the log entry goes first, the event on the next pass.
        lib.sql("UPDATE webhook_deliveries SET status = 'failed', leased_by = NULL,"
                " updated_at = now() - interval '200 hours' WHERE aggregate_id = %s" % lib.q(pid))
        lib.sql("UPDATE outbox SET created_at = now() - interval '200 hours'"
                " WHERE aggregate_id = %s" % lib.q(pid))
        assert prune_until(lambda: not lib.sql(
            "SELECT 1 FROM webhook_deliveries WHERE aggregate_id = %s" % lib.q(pid))), \
            "a finished delivery log entry past retention was not pruned"
        assert prune_until(lambda: not lib.outbox(aggregate_id=pid)), \
            "the event of a pruned delivery was not pruned"
    finally:
        lib.expect(lib.delete("/api/webhooks/" + hook["id"]), 204)
