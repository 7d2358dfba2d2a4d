/*
 * store_provider.c - the providers table: upsert, read, lock, and the one
 * round trip availability needs (configuration plus confirmed appointments).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/stmt.h"
#include "store/store.h"

const struct store_stmt store_provider_stmts[] = {
	/* A row comes back only when something was inserted or really changed. */
	{ "provider_upsert",
	  "INSERT INTO providers (id, config, created_at, updated_at) "
	  "VALUES ($1, $2::jsonb, " SQL_TS("$3") ", " SQL_TS("$3") ") "
	  "ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config, updated_at = EXCLUDED.updated_at "
	  "WHERE providers.config IS DISTINCT FROM EXCLUDED.config "
	  "RETURNING id" },
	{ "provider_get",
	  "SELECT config::text, " SQL_MS("created_at") ", " SQL_MS("updated_at")
	  " FROM providers WHERE id = $1" },
	{ "provider_get_for_update",
	  "SELECT config::text, " SQL_MS("created_at") ", " SQL_MS("updated_at")
	  " FROM providers WHERE id = $1 FOR UPDATE" },
	/*
	 * One row: the configuration and the confirmed appointments overlapping
	 * [$2, $3) (epoch seconds) as "start end start end ..." (NULL: none).
	 * The overlap is the exclusion constraint's own GiST expression, so the
	 * scan is bounded on both sides however long the provider's history.
	 */
	{ "provider_with_busy",
	  "SELECT p.config::text, (SELECT string_agg(" SQL_S("a.start_at") " || ' ' || " SQL_S("a.end_at")
	  ", ' ' ORDER BY a.start_at) FROM appointments a WHERE a.provider_id = p.id AND a.status = 'CONFIRMED'"
	  " AND tstzrange(a.start_at, a.end_at) && tstzrange(to_timestamp($2::bigint), to_timestamp($3::bigint)))"
	  " FROM providers p WHERE p.id = $1" },
	{ NULL, NULL }
};

int store_provider_upsert(struct store *s, struct arena *a, const char *id, const char *config,
			  int64_t now_ms, int *changed, struct err *e)
{
	char ms[24];
	const char *p[3] = { id, config, ms };
	PGresult *r;

	snprintf(ms, sizeof ms, "%" PRId64, now_ms);
	r = store_exec(s, a, "provider_upsert", 3, p, e);
	if (!r)
		return -1;
	*changed = PQntuples(r) > 0;
	return 0;
}

int store_provider_get(struct store *s, struct arena *a, const char *id, int lock,
		       const char **config, int64_t *created_ms, int64_t *updated_ms,
		       struct err *e)
{
	const char *p[1] = { id };
	PGresult *r = store_exec(s, a, lock ? "provider_get_for_update" : "provider_get", 1, p, e);

	if (!r)
		return -1;
	if (PQntuples(r) == 0)
		return ERR_NOT_FOUND(e, "Provider not found.");
	*config = PQgetvalue(r, 0, 0);
	if (created_ms)
		*created_ms = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	if (updated_ms)
		*updated_ms = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	return 0;
}

int store_provider_with_busy(struct store *s, struct arena *a, const char *id, int64_t lo,
			     int64_t hi, const char **config, struct slot_busy **busy,
			     size_t *nbusy, struct err *e)
{
	char los[24], his[24];
	const char *p[3] = { id, los, his };
	PGresult *r;

	snprintf(los, sizeof los, "%" PRId64, lo);
	snprintf(his, sizeof his, "%" PRId64, hi);
	r = store_exec(s, a, "provider_with_busy", 3, p, e);
	if (!r)
		return -1;
	if (PQntuples(r) == 0)
		return ERR_NOT_FOUND(e, "Provider not found.");
	*config = PQgetvalue(r, 0, 0);
	return store_busy_parse(a, PQgetvalue(r, 0, 1), busy, nbusy, e);
}
