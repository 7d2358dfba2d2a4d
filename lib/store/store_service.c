/*
 * store_service.c - the services table: a provider's services with their
 * canonical configuration (the PUT body, as api/codec_service.c writes it).
 * Callers lock the provider's row first (store_provider_get with lock), as
 * booking does, so a service change and a booking of that provider are
 * serialized; migration 0008's triggers give the provider's row a new
 * version with every change, which the workers' caches follow.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store.h"

#define SERVICE_COLS "service_id, config::text, active, " SQL_MS("created_at") ", " SQL_MS("updated_at")

const struct store_stmt store_service_stmts[] = {
	/* A row comes back only when something was inserted, changed or reactivated. */
	{ "service_put",
	  "INSERT INTO services AS s (provider_id, service_id, config, active, created_at, updated_at)"
	  " VALUES ($1, $2, $3::jsonb, true, " SQL_TS("$4") ", " SQL_TS("$4") ")"
	  " ON CONFLICT (provider_id, service_id) DO UPDATE"
	  " SET config = EXCLUDED.config, active = true, updated_at = EXCLUDED.updated_at"
	  " WHERE s.config IS DISTINCT FROM EXCLUDED.config OR NOT s.active"
	  " RETURNING " SERVICE_COLS ", (xmax = 0)" },
	{ "service_get",
	  "SELECT " SERVICE_COLS " FROM services WHERE provider_id = $1 AND service_id = $2" },
	{ "service_list",
	  "SELECT " SERVICE_COLS " FROM services WHERE provider_id = $1"
	  " ORDER BY service_id COLLATE \"C\"" },
	{ "service_retire",
	  "UPDATE services SET active = false, updated_at = " SQL_TS("$3")
	  " WHERE provider_id = $1 AND service_id = $2 AND active RETURNING " SERVICE_COLS },
	{ NULL, NULL }
};

static void row_to_service(struct arena *a, const PGresult *r, int i, struct store_service *out)
{
	out->id = arena_strdup(a, PQgetvalue(r, i, 0));
	out->config = arena_strdup(a, PQgetvalue(r, i, 1));
	out->active = strcmp(PQgetvalue(r, i, 2), "t") == 0;
	out->created_ms = strtoll(PQgetvalue(r, i, 3), NULL, 10);
	out->updated_ms = strtoll(PQgetvalue(r, i, 4), NULL, 10);
}

int store_service_get(struct store *s, struct arena *a, const char *provider_id,
		      const char *service_id, struct store_service *out, struct err *e)
{
	const char *p[2] = { provider_id, service_id };
	PGresult *r = store_exec(s, a, "service_get", 2, p, e);

	if (!r)
		return -1;
	if (PQntuples(r) == 0)
		return ERR_NOT_FOUND(e, "Service not found.");
	row_to_service(a, r, 0, out);
	return 0;
}

/* The service a write returned (*changed), or, when it wrote nothing, as stored. */
static int written_or_stored(struct store *s, struct arena *a, const PGresult *r,
			     const char *provider_id, const char *service_id, int *changed,
			     struct store_service *out, struct err *e)
{
	*changed = PQntuples(r) > 0;
	if (*changed) {
		row_to_service(a, r, 0, out);
		return 0;
	}
	return store_service_get(s, a, provider_id, service_id, out, e);
}

int store_service_put(struct store *s, struct arena *a, const char *provider_id,
		      const char *service_id, const char *config, int64_t now_ms, int *created,
		      int *changed, struct store_service *out, struct err *e)
{
	char ms[24];
	const char *p[4] = { provider_id, service_id, config, ms };
	PGresult *r;

	snprintf(ms, sizeof ms, "%" PRId64, now_ms);
	r = store_exec(s, a, "service_put", 4, p, e);
	if (!r)
		return -1;
	*created = PQntuples(r) > 0 && strcmp(PQgetvalue(r, 0, 5), "t") == 0;
	return written_or_stored(s, a, r, provider_id, service_id, changed, out, e);
}

int store_service_list(struct store *s, struct arena *a, const char *provider_id,
		       struct store_service **out, int *n, struct err *e)
{
	const char *p[1] = { provider_id };
	PGresult *r = store_exec(s, a, "service_list", 1, p, e);
	int i;

	if (!r)
		return -1;
	*n = PQntuples(r);
	*out = arena_alloc(a, sizeof **out * (size_t)(*n ? *n : 1));
	for (i = 0; i < *n; i++)
		row_to_service(a, r, i, &(*out)[i]);
	return 0;
}

int store_service_retire(struct store *s, struct arena *a, const char *provider_id,
			 const char *service_id, int64_t now_ms, int *changed,
			 struct store_service *out, struct err *e)
{
	char ms[24];
	const char *p[3] = { provider_id, service_id, ms };
	PGresult *r;

	snprintf(ms, sizeof ms, "%" PRId64, now_ms);
	r = store_exec(s, a, "service_retire", 3, p, e);
	if (!r)
		return -1;
	return written_or_stored(s, a, r, provider_id, service_id, changed, out, e);
}
