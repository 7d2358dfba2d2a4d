/*
 * store_outbox.c - the transactional outbox. Events are written only here,
 * always inside the transaction of the change they announce.
 */
#include "store/stmt.h"
#include "store/store.h"

const struct store_stmt store_outbox_stmts[] = {
	{ "outbox_add",
	  "INSERT INTO outbox (event_id, event_type, aggregate_id, payload) VALUES ($1, $2, $3, $4)" },
	{ NULL, NULL }
};

int store_outbox_add(struct store *s, struct arena *a, const char *event_id, const char *type,
		     const char *aggregate_id, const char *payload, struct err *e)
{
	const char *p[4] = { event_id, type, aggregate_id, payload };

	return store_exec(s, a, "outbox_add", 4, p, e) ? 0 : -1;
}
