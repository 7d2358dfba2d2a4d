/*
 * store_outbox.c - the transactional outbox and the event feed. Events are
 * written only here, always inside the transaction of the change they
 * announce; they are numbered for the feed only after they are committed
 * (appointd_dispatch() in db/migrations/0002_events.sql says why).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store.h"

const struct store_stmt store_outbox_stmts[] = {
	{ "outbox_add",
	  "INSERT INTO outbox (event_id, event_type, aggregate_id, payload) VALUES ($1, $2, $3, $4)" },
	{ "outbox_dispatch", "SELECT appointd_dispatch($1::integer)" },
	{ "outbox_feed",
	  "SELECT seq, payload FROM outbox WHERE seq > $1::bigint ORDER BY seq LIMIT $2::integer" },
	{ "outbox_backlog",
	  "SELECT (SELECT count(*) FROM outbox WHERE seq IS NULL),"
	  " (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending')" },
	/*
	 * Finished deliveries, and events no delivery refers to (as of the
	 * statement's snapshot: an event whose last deliveries go now goes on
	 * the next call).
	 */
	{ "outbox_prune",
	  "WITH d AS (DELETE FROM webhook_deliveries WHERE id IN ("
	  "  SELECT id FROM webhook_deliveries WHERE status <> 'pending'"
	  "  AND updated_at < now() - $1::integer * interval '1 hour' LIMIT $2::integer)"
	  "  RETURNING outbox_id),"
	  " o AS (DELETE FROM outbox WHERE id IN ("
	  "  SELECT x.id FROM outbox x WHERE x.seq IS NOT NULL"
	  "  AND x.created_at < now() - $1::integer * interval '1 hour'"
	  "  AND NOT EXISTS (SELECT 1 FROM webhook_deliveries w WHERE w.outbox_id = x.id)"
	  "  ORDER BY x.created_at LIMIT $2::integer) RETURNING 1)"
	  " SELECT (SELECT count(*) FROM d) + (SELECT count(*) FROM o)" },
	{ "outbox_wake", "SELECT pg_notify('" STORE_OUTBOX_CHANNEL "', '')" },
	{ "outbox_unannounced",
	  "SELECT p.id FROM providers p WHERE NOT EXISTS"
	  " (SELECT 1 FROM outbox o WHERE o.aggregate_id = p.id::text) ORDER BY p.created_at, p.id" },
	{ NULL, NULL }
};

int store_outbox_add(struct store *s, struct arena *a, const char *event_id, const char *type,
		     const char *aggregate_id, const char *payload, struct err *e)
{
	const char *p[4] = { event_id, type, aggregate_id, payload };

	if (store_exec_later(s, a, "outbox_add", 4, p, e))
		return -1;
	return store_outbox_wake(s, a, e);
}

int store_outbox_unannounced(struct store *s, struct arena *a, const char ***ids, int *n,
			     struct err *e)
{
	PGresult *r = store_exec(s, a, "outbox_unannounced", 0, NULL, e);
	int i;

	if (!r)
		return -1;
	*n = PQntuples(r);
	*ids = arena_alloc(a, sizeof **ids * (size_t)(*n ? *n : 1));
	for (i = 0; i < *n; i++)
		(*ids)[i] = PQgetvalue(r, i, 0);
	return 0;
}

int store_outbox_dispatch(struct store *s, struct arena *a, int max, int *n, struct err *e)
{
	char m[16];
	const char *p[1] = { m };
	PGresult *r;

	snprintf(m, sizeof m, "%d", max);
	r = store_exec(s, a, "outbox_dispatch", 1, p, e);
	if (!r)
		return -1;
	*n = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
	return 0;
}

int store_outbox_feed(struct store *s, struct arena *a, int64_t after, int limit,
		      struct feed_event **out, int *n, struct err *e)
{
	char af[24], li[16];
	const char *p[2] = { af, li };
	PGresult *r;
	int i;

	snprintf(af, sizeof af, "%" PRId64, after);
	snprintf(li, sizeof li, "%d", limit);
	r = store_exec(s, a, "outbox_feed", 2, p, e);
	if (!r)
		return -1;
	*n = PQntuples(r);
	*out = arena_alloc(a, sizeof **out * (size_t)(*n ? *n : 1));
	for (i = 0; i < *n; i++) {
		(*out)[i].seq = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		(*out)[i].envelope = PQgetvalue(r, i, 1);
	}
	return 0;
}

int store_outbox_backlog(struct store *s, struct arena *a, int64_t *events,
			 int64_t *deliveries, struct err *e)
{
	PGresult *r = store_exec(s, a, "outbox_backlog", 0, NULL, e);

	if (!r)
		return -1;
	*events = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	*deliveries = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	return 0;
}

int store_outbox_prune(struct store *s, struct arena *a, int hours, int max, int64_t *deleted,
		       struct err *e)
{
	char h[16], m[16];
	const char *p[2] = { h, m };
	PGresult *r;

	snprintf(h, sizeof h, "%d", hours);
	snprintf(m, sizeof m, "%d", max);
	r = store_exec(s, a, "outbox_prune", 2, p, e);
	if (!r)
		return -1;
	*deleted = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	return 0;
}

int store_outbox_wake(struct store *s, struct arena *a, struct err *e)
{
	if (s->in_tx) {
		s->notify = 1; /* after the commit, off its path (store_commit) */
		return 0;
	}
	return store_exec(s, a, "outbox_wake", 0, NULL, e) ? 0 : -1;
}

int store_outbox_listen(struct store *s, struct err *e)
{
	return store_exec_sql(s, "LISTEN " STORE_OUTBOX_CHANNEL, e);
}
