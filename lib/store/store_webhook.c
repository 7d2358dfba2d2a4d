/*
 * store_webhook.c - the webhooks table: subscriptions as the API manages
 * them. The secret is written once and read only by the relay's claim
 * (store_delivery.c); nothing here ever returns it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store.h"

#define WEBHOOK_COLS "id, url, coalesce(to_json(event_types)::text, 'null'), description, active, " \
	SQL_MS("created_at")

const struct store_stmt store_webhook_stmts[] = {
	{ "webhook_insert",
	  "INSERT INTO webhooks (id, url, event_types, description, secret, active, created_at)"
	  " VALUES ($1, $2, $3::text[], $4, $5, true, " SQL_TS("$6") ")" },
	{ "webhook_get", "SELECT " WEBHOOK_COLS " FROM webhooks WHERE id = $1" },
	{ "webhook_get_for_share", "SELECT " WEBHOOK_COLS " FROM webhooks WHERE id = $1 FOR SHARE" },
	{ "webhook_list", "SELECT " WEBHOOK_COLS " FROM webhooks ORDER BY created_at, seq" },
	{ "webhook_delete", "DELETE FROM webhooks WHERE id = $1" },
	{ NULL, NULL }
};

static void row_to_webhook(PGresult *r, int i, struct webhook *w)
{
	memset(w, 0, sizeof *w);
	snprintf(w->id, sizeof w->id, "%s", PQgetvalue(r, i, 0));
	w->url = PQgetvalue(r, i, 1);
	w->event_types_json = PQgetvalue(r, i, 2);
	w->description = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3);
	w->active = PQgetvalue(r, i, 4)[0] == 't';
	w->created_ms = strtoll(PQgetvalue(r, i, 5), NULL, 10);
}

int store_webhook_insert(struct store *s, struct arena *a, const struct webhook *w,
			 const char *event_types, const char *secret, struct err *e)
{
	char created[24];
	const char *p[6] = { w->id, w->url, event_types, w->description, secret, created };

	snprintf(created, sizeof created, "%lld", (long long)w->created_ms);
	return store_exec(s, a, "webhook_insert", 6, p, e) ? 0 : -1;
}

int store_webhook_get(struct store *s, struct arena *a, const char *id, int lock,
		      struct webhook *out, struct err *e)
{
	const char *p[1] = { id };
	PGresult *r = store_exec(s, a, lock ? "webhook_get_for_share" : "webhook_get", 1, p, e);

	if (!r)
		return -1;
	if (PQntuples(r) == 0)
		return ERR_NOT_FOUND(e, "Webhook not found.");
	row_to_webhook(r, 0, out);
	return 0;
}

int store_webhook_list(struct store *s, struct arena *a, struct webhook **out, int *n,
		       struct err *e)
{
	PGresult *r = store_exec(s, a, "webhook_list", 0, NULL, e);
	int i;

	if (!r)
		return -1;
	*n = PQntuples(r);
	*out = arena_alloc(a, sizeof **out * (size_t)(*n ? *n : 1));
	for (i = 0; i < *n; i++)
		row_to_webhook(r, i, &(*out)[i]);
	return 0;
}

int store_webhook_delete(struct store *s, struct arena *a, const char *id, struct err *e)
{
	const char *p[1] = { id };
	PGresult *r = store_exec(s, a, "webhook_delete", 1, p, e);

	if (!r)
		return -1;
	if (strcmp(PQcmdTuples(r), "0") == 0)
		return ERR_NOT_FOUND(e, "Webhook not found.");
	return 0;
}
