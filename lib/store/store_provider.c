/*
 * store_provider.c - the providers table: upsert, read, lock, and the one
 * round trip availability needs (configuration plus active entries).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	 * appointments or holds change), then, unless that version is $4, the
	 * configuration and the active entries overlapping [$2, $3), live at $5,
	 * (store_busy_decode): a CASE runs its subquery only when it is reached.
	 */
	{ "provider_with_busy",
	  "SELECT p.xmin, CASE WHEN p.xmin = $4::xid THEN NULL ELSE p.config::text END,"
	  " CASE WHEN p.xmin = $4::xid THEN NULL ELSE (SELECT " SQL_BUSY_COL
	  " FROM " SQL_BUSY_FROM("p.id", "NULL", "$5") ") END,"
	  " CASE WHEN p.xmin = $4::xid THEN NULL ELSE (SELECT " SQL_BUSY_SERVICES
	  " FROM " SQL_BUSY_FROM("p.id", "NULL", "$5") ") END,"
	  " CASE WHEN p.xmin = $4::xid THEN NULL ELSE (SELECT array_agg(ARRAY[s.service_id,"
	  " s.active::text, s.config::text, " SQL_MS("s.created_at") "::text, " SQL_MS("s.updated_at")
	  "::text] ORDER BY s.service_id COLLATE \"C\") FROM services s WHERE s.provider_id = p.id) END"
	  " FROM providers p WHERE p.id = $1" },
	/* Rescheduling and cancelling lock the provider first, in the order booking locks. */
	{ "provider_lock_of_appt",
	  "SELECT config::text FROM providers"
	  " WHERE id = (SELECT provider_id FROM appointments WHERE id = $1) FOR UPDATE" },
	/*
	 * A team booking's candidates: every row locked by this one statement,
	 * in id order (LockRows runs above the sort), the one global order any
	 * multi-provider lock takes; with each one's service $2 (NULL columns
	 * when it has none).
	 */
	{ "provider_lock_team",
	  "SELECT p.id::text, p.config::text, s.active, s.config::text"
	  " FROM providers p LEFT JOIN services s ON s.provider_id = p.id AND s.service_id = $2"
	  " WHERE p.id = ANY($1::uuid[]) ORDER BY p.id FOR UPDATE OF p" },
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

/* The services column of provider_with_busy: text[n][5] in binary (NULL: none). */
static int services_decode(struct arena *a, const PGresult *r, int col, struct store_service **out,
			   int *n, struct err *e)
{
	const unsigned char *v = (const unsigned char *)PQgetvalue(r, 0, col);
	const unsigned char *end = v + PQgetlength(r, 0, col);
	uint32_t rows, i, k;

	*n = 0;
	*out = NULL;
	if (PQgetisnull(r, 0, col))
		return 0;
	if (end - v < 28 || store_be32(v) != 2 || store_be32(v + 8) != 25 ||
	    store_be32(v + 20) != 5 || (rows = store_be32(v + 12)) > 100000)
		return ERR_INTERNAL(e, "Internal server error.");
	*out = arena_calloc(a, rows + 1, sizeof **out);
	for (i = 0, v += 28; i < rows; i++) {
		char *f[5];

		for (k = 0; k < 5; k++) {
			uint32_t len;

			if (end - v < 4 || (len = store_be32(v)) > (size_t)(end - v - 4))
				return ERR_INTERNAL(e, "Internal server error.");
			f[k] = arena_strndup(a, (const char *)v + 4, len);
			v += 4 + len;
		}
		(*out)[i] = (struct store_service){ f[0], f[2], strcmp(f[1], "true") == 0,
						    strtoll(f[3], NULL, 10), strtoll(f[4], NULL, 10) };
	}
	*n = (int)rows;
	return 0;
}

int store_provider_with_busy(struct store *s, struct arena *a, const char *id, int64_t lo,
			     int64_t hi, int64_t now_ms, uint32_t known_xmin, uint32_t *xmin,
			     const char **config, struct store_busy *busy,
			     struct store_service **services, int *nservices, struct err *e)
{
	char los[24], his[24], known[16], now[24];
	const char *p[5] = { id, los, his, known, now };
	PGresult *r;

	snprintf(los, sizeof los, "%" PRId64, lo);
	snprintf(his, sizeof his, "%" PRId64, hi);
	snprintf(known, sizeof known, "%" PRIu32, known_xmin);
	snprintf(now, sizeof now, "%" PRId64, now_ms);
	r = store_exec_as(s, a, "provider_with_busy", 5, p, 1, e);
	if (!r)
		return -1;
	if (PQntuples(r) == 0)
		return ERR_NOT_FOUND(e, "Provider not found.");
	if (PQnfields(r) != 5 || PQgetlength(r, 0, 0) != 4)
		return ERR_INTERNAL(e, "Internal server error.");
	*xmin = store_be32(PQgetvalue(r, 0, 0));
	*config = NULL;
	memset(busy, 0, sizeof *busy);
	*services = NULL;
	*nservices = 0;
	if (PQgetisnull(r, 0, 1))
		return 0;
	*config = arena_strndup(a, PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1));
	if (store_busy_decode(a, r, 2, busy, e))
		return -1;
	return services_decode(a, r, 4, services, nservices, e);
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

const char *store_id_array(struct arena *a, const char *const *ids, int n)
{
	size_t len = 3 + (size_t)n * 37;
	char *out = arena_alloc(a, len), *p = out;
	int i;

	*p++ = '{';
	for (i = 0; i < n; i++)
		p += snprintf(p, len - (size_t)(p - out), "%s%s", i ? "," : "", ids[i]);
	*p++ = '}';
	*p = '\0';
	return out;
}

int store_provider_lock_team(struct store *s, struct arena *a, const char *const *ids, int n,
			     const char *service_id, struct store_team_member *out, struct err *e)
{
	const char *p[2] = { store_id_array(a, ids, n), service_id };
	PGresult *r = store_exec(s, a, "provider_lock_team", 2, p, e);
	int i, k;

	if (!r)
		return -1;
	memset(out, 0, sizeof *out * (size_t)n);
	for (i = 0; i < PQntuples(r); i++)
		for (k = 0; k < n; k++) {
			if (strcmp(PQgetvalue(r, i, 0), ids[k]) != 0)
				continue;
			out[k].config = PQgetvalue(r, i, 1);
			if (!PQgetisnull(r, i, 3))
				out[k].service = (struct store_service){
					service_id, PQgetvalue(r, i, 3),
					strcmp(PQgetvalue(r, i, 2), "t") == 0, 0, 0 };
		}
	return 0;
}
