/*
 * store_delivery.c - the webhook_deliveries table: the deliveries log the
 * API shows, and the relay's claim and record.
 *
 * A relay leases the rows it delivers (leased_by = its owner key) in one
 * short transaction, delivers outside any transaction, and records the
 * results in another; a lease counts only while its owner's session holds
 * the advisory lock (SQL_RELAY_LOCK_CLASS, owner), so the leases of a relay
 * that was killed are free the moment PostgreSQL ends its session, and
 * several live relays never deliver one row twice. For one webhook, a
 * delivery waits while an earlier one of the same aggregate is pending:
 * the events of one appointment go out in commit order.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store.h"

#define DELIVERY_COLS "id, seq, event_id, event_type, status, attempts," \
	" coalesce(last_status_code, -1), last_error," \
	" CASE WHEN status = 'pending' THEN " SQL_MS("next_attempt_at") " END," \
	" " SQL_MS("delivered_at")

/* The relays alive now: their sessions hold their advisory locks. */
#define DELIVERY_LIVE_OWNERS \
	"SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory'" \
	" AND classid = " SQL_RELAY_LOCK_CLASS " AND objsubid = 2 AND granted"

/*
 * Claimable now: d is pending, unleased (or its owner is gone), and first in
 * line for its webhook and aggregate. The first-in-line test is a
 * correlated min() over the (webhook, aggregate, seq) index, one probe per
 * row, so no plan can make it quadratic in the backlog.
 */
#define DELIVERY_CLAIMABLE \
	" d.status = 'pending'" \
	" AND (d.leased_by IS NULL OR d.leased_until < now() OR d.leased_by NOT IN (" \
	DELIVERY_LIVE_OWNERS "))" \
	" AND d.seq = (SELECT min(e.seq) FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id" \
	"  AND e.aggregate_id = d.aggregate_id AND e.status = 'pending')"

const struct store_stmt store_delivery_stmts[] = {
	{ "delivery_list",
	  "SELECT " DELIVERY_COLS " FROM webhook_deliveries WHERE webhook_id = $1"
	  " AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR event_type = $3)"
	  " AND seq < $4::bigint ORDER BY seq DESC, id LIMIT $5::integer" },
	{ "delivery_get",
	  "SELECT " DELIVERY_COLS " FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2" },
	{ "delivery_get_for_update",
	  "SELECT " DELIVERY_COLS " FROM webhook_deliveries WHERE webhook_id = $1 AND id = $2"
	  " FOR UPDATE" },
	{ "delivery_requeue",
	  "UPDATE webhook_deliveries SET status = 'pending', round_start = attempts,"
	  " next_attempt_at = now(), delivered_at = NULL, leased_by = NULL, leased_until = NULL,"
	  " updated_at = now() WHERE id = $1 RETURNING " DELIVERY_COLS },
	/*
	 * $4 caps the deliveries in flight to one webhook (live leases of all
	 * relays), so a slow or dead endpoint cannot take every slot: webhooks
	 * at the cap are skipped, the others' rows are taken in due order from
	 * the first few times $2, then capped per webhook, then locked. A row
	 * another relay leased after this statement's snapshot fails the
	 * re-check of leased_by on the locked version.
	 */
	{ "delivery_claim",
	  "WITH busy AS (SELECT webhook_id, count(*) AS n FROM webhook_deliveries"
	  "  WHERE status = 'pending' AND leased_by IS NOT NULL AND leased_until > now()"
	  "  AND leased_by IN (" DELIVERY_LIVE_OWNERS ") GROUP BY webhook_id),"
	  " pool AS (SELECT d.id, d.webhook_id, d.next_attempt_at, d.seq, d.leased_by"
	  "  FROM webhook_deliveries d WHERE d.next_attempt_at <= now() AND" DELIVERY_CLAIMABLE
	  "  AND d.webhook_id NOT IN (SELECT webhook_id FROM busy WHERE n >= $4::integer)"
	  "  ORDER BY d.next_attempt_at, d.seq LIMIT $2::integer * 4),"
	  " ranked AS (SELECT p.id, p.next_attempt_at, p.seq, p.leased_by AS lb, coalesce(b.n, 0)"
	  "  + row_number() OVER (PARTITION BY p.webhook_id ORDER BY p.next_attempt_at, p.seq) AS r"
	  "  FROM pool p LEFT JOIN busy b ON b.webhook_id = p.webhook_id),"
	  " cand AS (SELECT d.id FROM webhook_deliveries d JOIN ranked k ON k.id = d.id"
	  "  WHERE k.r <= $4::integer AND d.status = 'pending'"
	  "  AND d.leased_by IS NOT DISTINCT FROM k.lb"
	  "  ORDER BY k.next_attempt_at, k.seq LIMIT $2::integer FOR UPDATE OF d SKIP LOCKED),"
	  " claimed AS (UPDATE webhook_deliveries d SET leased_by = $1::integer,"
	  "  leased_until = now() + $3::integer * interval '1 millisecond'"
	  "  FROM cand WHERE d.id = cand.id"
	  "  RETURNING d.id, d.webhook_id, d.outbox_id, d.event_id, d.attempts - d.round_start AS n,"
	  "  d.seq)"
	  " SELECT c.id, c.webhook_id, c.event_id, c.n, w.url, w.secret, o.payload"
	  " FROM claimed c JOIN webhooks w ON w.id = c.webhook_id"
	  " JOIN outbox o ON o.id = c.outbox_id ORDER BY c.seq" },
	/* The earliest unleased pending delivery (it may wait behind an earlier one). */
	{ "delivery_next_due",
	  "SELECT (extract(epoch FROM min(next_attempt_at) - now()) * 1000)::bigint"
	  " FROM webhook_deliveries WHERE status = 'pending' AND leased_by IS NULL"
	  " AND next_attempt_at IS NOT NULL" },
	/* After a large fan-out: statistics from a small table make poor plans. */
	{ "delivery_analyze", "ANALYZE webhook_deliveries" },
	/* Records attempts and counts them by outcome in one statement (metrics). */
	{ "delivery_record",
	  "WITH u AS (UPDATE webhook_deliveries d SET status = r.status, attempts = d.attempts + 1,"
	  " last_status_code = r.code, last_error = r.error,"
	  " next_attempt_at = CASE WHEN r.status = 'pending'"
	  "  THEN now() + r.delay_ms * interval '1 millisecond' ELSE d.next_attempt_at END,"
	  " delivered_at = CASE WHEN r.status = 'delivered' THEN now() END,"
	  " leased_by = NULL, leased_until = NULL, updated_at = now()"
	  " FROM json_to_recordset($2::json)"
	  "  AS r(id uuid, status text, code integer, error text, delay_ms bigint)"
	  " WHERE d.id = r.id AND d.leased_by = $1::integer RETURNING d.status)"
	  " UPDATE delivery_stats t SET total = t.total + n.count"
	  " FROM (SELECT CASE status WHEN 'pending' THEN 'retried' ELSE status END AS outcome,"
	  "  count(*) FROM u GROUP BY 1) n WHERE t.outcome = n.outcome" },
	{ "delivery_totals", "SELECT outcome, total FROM delivery_stats ORDER BY outcome" },
	{ "delivery_gone",
	  "WITH w AS (UPDATE webhooks SET active = false WHERE id = $1 RETURNING id)"
	  " UPDATE webhook_deliveries d SET status = 'failed',"
	  " last_error = 'the subscription was deactivated by a 410 Gone',"
	  " leased_by = NULL, leased_until = NULL, updated_at = now()"
	  " FROM w WHERE d.webhook_id = w.id AND d.status = 'pending'" },
	{ "delivery_hold_owner",
	  "SELECT pg_advisory_lock(" SQL_RELAY_LOCK_CLASS ", $1::integer)" },
	{ NULL, NULL }
};

static int64_t ms_or(PGresult *r, int i, int col, int64_t none)
{
	return PQgetisnull(r, i, col) ? none : strtoll(PQgetvalue(r, i, col), NULL, 10);
}

static void row_to_delivery(PGresult *r, int i, struct delivery *d)
{
	memset(d, 0, sizeof *d);
	snprintf(d->id, sizeof d->id, "%s", PQgetvalue(r, i, 0));
	d->seq = strtoll(PQgetvalue(r, i, 1), NULL, 10);
	snprintf(d->event_id, sizeof d->event_id, "%s", PQgetvalue(r, i, 2));
	d->event_type = PQgetvalue(r, i, 3);
	d->status = PQgetvalue(r, i, 4);
	d->attempts = atoi(PQgetvalue(r, i, 5));
	d->last_status_code = atoi(PQgetvalue(r, i, 6));
	d->last_error = PQgetisnull(r, i, 7) ? NULL : PQgetvalue(r, i, 7);
	d->next_attempt_ms = ms_or(r, i, 8, INT64_MIN);
	d->delivered_ms = ms_or(r, i, 9, INT64_MIN);
}

/* The one row a get or requeue returns; 404 when there is none. */
static int one_delivery(PGresult *r, struct delivery *out, struct err *e)
{
	if (!r)
		return -1;
	if (PQntuples(r) == 0)
		return ERR_NOT_FOUND(e, "Delivery not found.");
	row_to_delivery(r, 0, out);
	return 0;
}

int store_delivery_list(struct store *s, struct arena *a, const struct delivery_filter *f,
			struct delivery **out, int *n, struct err *e)
{
	char before[24], limit[16];
	const char *p[5] = { f->webhook_id, f->status, f->event_type, before, limit };
	PGresult *r;
	int i;

	snprintf(before, sizeof before, "%" PRId64, f->before);
	snprintf(limit, sizeof limit, "%d", f->limit);
	r = store_exec(s, a, "delivery_list", 5, p, e);
	if (!r)
		return -1;
	*n = PQntuples(r);
	*out = arena_alloc(a, sizeof **out * (size_t)(*n ? *n : 1));
	for (i = 0; i < *n; i++)
		row_to_delivery(r, i, &(*out)[i]);
	return 0;
}

int store_delivery_get(struct store *s, struct arena *a, const char *webhook_id,
		       const char *id, int lock, struct delivery *out, struct err *e)
{
	const char *p[2] = { webhook_id, id };

	return one_delivery(store_exec(s, a, lock ? "delivery_get_for_update" : "delivery_get", 2, p,
				       e), out, e);
}

int store_delivery_requeue(struct store *s, struct arena *a, const char *id,
			   struct delivery *out, struct err *e)
{
	const char *p[1] = { id };

	return one_delivery(store_exec(s, a, "delivery_requeue", 1, p, e), out, e);
}

int store_delivery_claim(struct store *s, struct arena *a, int owner, int max, int per_webhook,
			 int lease_ms, struct delivery_claim **out, int *n, struct err *e)
{
	char o[16], m[16], l[16], w[16];
	const char *p[4] = { o, m, l, w };
	PGresult *r;
	int i;

	snprintf(o, sizeof o, "%d", owner);
	snprintf(m, sizeof m, "%d", max);
	snprintf(l, sizeof l, "%d", lease_ms);
	snprintf(w, sizeof w, "%d", per_webhook);
	r = store_exec(s, a, "delivery_claim", 4, p, e);
	if (!r)
		return -1;
	*n = PQntuples(r);
	*out = arena_calloc(a, (size_t)(*n ? *n : 1), sizeof **out);
	for (i = 0; i < *n; i++) {
		struct delivery_claim *c = &(*out)[i];

		snprintf(c->id, sizeof c->id, "%s", PQgetvalue(r, i, 0));
		snprintf(c->webhook_id, sizeof c->webhook_id, "%s", PQgetvalue(r, i, 1));
		snprintf(c->event_id, sizeof c->event_id, "evt_%s", PQgetvalue(r, i, 2));
		c->attempt = atoi(PQgetvalue(r, i, 3));
		c->url = PQgetvalue(r, i, 4);
		c->secret = PQgetvalue(r, i, 5);
		c->body = PQgetvalue(r, i, 6);
		c->body_len = (size_t)PQgetlength(r, i, 6);
	}
	return 0;
}

int store_delivery_next_due(struct store *s, struct arena *a, int64_t *ms, struct err *e)
{
	PGresult *r = store_exec(s, a, "delivery_next_due", 0, NULL, e);

	if (!r)
		return -1;
	*ms = ms_or(r, 0, 0, -1);
	if (!PQgetisnull(r, 0, 0) && *ms < 0)
		*ms = 0;
	return 0;
}

int store_delivery_record(struct store *s, struct arena *a, int owner, const char *results_json,
			  struct err *e)
{
	char o[16];
	const char *p[2] = { o, results_json };

	snprintf(o, sizeof o, "%d", owner);
	return store_exec(s, a, "delivery_record", 2, p, e) ? 0 : -1;
}

int store_delivery_totals(struct store *s, struct arena *a, struct delivery_totals *t,
			  struct err *e)
{
	PGresult *r = store_exec(s, a, "delivery_totals", 0, NULL, e);

	memset(t, 0, sizeof *t);
	if (!r)
		return -1;
	for (int i = 0; i < PQntuples(r); i++) {
		const char *outcome = PQgetvalue(r, i, 0);
		int64_t n = strtoll(PQgetvalue(r, i, 1), NULL, 10);

		if (strcmp(outcome, "delivered") == 0)
			t->delivered = n;
		else if (strcmp(outcome, "retried") == 0)
			t->retried = n;
		else if (strcmp(outcome, "failed") == 0)
			t->failed = n;
	}
	return 0;
}

int store_delivery_gone(struct store *s, struct arena *a, const char *webhook_id,
			struct err *e)
{
	const char *p[1] = { webhook_id };

	return store_exec(s, a, "delivery_gone", 1, p, e) ? 0 : -1;
}

int store_delivery_analyze(struct store *s, struct arena *a, struct err *e)
{
	return store_exec(s, a, "delivery_analyze", 0, NULL, e) ? 0 : -1;
}

int store_delivery_hold_owner(struct store *s, struct arena *a, int owner, struct err *e)
{
	char o[16];
	const char *p[1] = { o };

	snprintf(o, sizeof o, "%d", owner);
	return store_exec(s, a, "delivery_hold_owner", 1, p, e) ? 0 : -1;
}
