/*
 * store_provider.c - the providers table: upsert, read, lock, and the one
 * round trip availability needs (configuration plus confirmed appointments).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/store_int.h"
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
	 * One row, in binary: the row's version (xmin: any update of the row
	 * changes it, and migration 0007's triggers update it whenever its
	 * appointments change), then, unless that version is $4, the
	 * configuration and the confirmed appointments overlapping [$2, $3)
	 * (store_busy_decode): a CASE runs its subquery only when it is reached.
	 */
	{ "provider_with_busy",
	  "SELECT p.xmin, CASE WHEN p.xmin = $4::xid THEN NULL ELSE p.config::text END,"
	  " CASE WHEN p.xmin = $4::xid THEN NULL ELSE (SELECT " SQL_BUSY_COL " FROM appointments a"
	  " WHERE a.provider_id = p.id AND " SQL_BUSY_WHERE ") END FROM providers p WHERE p.id = $1" },
	/* Rescheduling and cancelling lock the provider first, in the order booking locks. */
	{ "provider_lock_of_appt",
	  "SELECT config::text FROM providers"
	  " WHERE id = (SELECT provider_id FROM appointments WHERE id = $1) FOR UPDATE" },
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
	if (config)
		*config = PQgetvalue(r, 0, 0);
	if (created_ms)
		*created_ms = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	if (updated_ms)
		*updated_ms = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	return 0;
}

int store_provider_with_busy(struct store *s, struct arena *a, const char *id, int64_t lo,
			     int64_t hi, uint32_t known_xmin, uint32_t *xmin, const char **config,
			     struct slot_entry **busy, size_t *nbusy, struct err *e)
{
	char los[24], his[24], known[16];
	const char *p[4] = { id, los, his, known };
	PGresult *r;

	snprintf(los, sizeof los, "%" PRId64, lo);
	snprintf(his, sizeof his, "%" PRId64, hi);
	snprintf(known, sizeof known, "%" PRIu32, known_xmin);
	r = store_exec_as(s, a, "provider_with_busy", 4, p, 1, e);
	if (!r)
		return -1;
	if (PQntuples(r) == 0)
		return ERR_NOT_FOUND(e, "Provider not found.");
	if (PQnfields(r) != 3 || PQgetlength(r, 0, 0) != 4)
		return ERR_INTERNAL(e, "Internal server error.");
	*xmin = store_be32(PQgetvalue(r, 0, 0));
	*config = NULL;
	*busy = NULL;
	*nbusy = 0;
	if (PQgetisnull(r, 0, 1))
		return 0;
	*config = arena_strndup(a, PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1));
	return store_busy_decode(a, r, 2, busy, nbusy, e);
}

int store_provider_lock_of_appt(struct store *s, struct arena *a, const char *appt_id,
				const char **config, struct err *e)
{
	const char *p[1] = { appt_id };
	PGresult *r = store_exec(s, a, "provider_lock_of_appt", 1, p, e);

	if (!r)
		return -1;
	if (config)
		*config = PQntuples(r) ? PQgetvalue(r, 0, 0) : NULL;
	return 0;
}
