/*
 * store_provider.c - the providers table: upsert, read, lock, and the one
 * round trip availability needs (configuration plus active entries), for
 * one provider or for a team in one statement.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store.h"

/*
 * The columns availability reads of provider row p, in binary: the row's
 * version (xmin: any update of the row changes it, and migration 0007's
 * triggers update it whenever its appointments or holds change), then,
 * unless that version is `known`, the configuration, the active entries
 * overlapping [$2, $3), live at $5, (store_busy_decode) and the services:
 * a CASE runs its subquery only when it is reached.
 */
#define WITH_BUSY_COLS(known) \
	"p.xmin, CASE WHEN p.xmin = " known " THEN NULL ELSE p.config::text END," \
	" CASE WHEN p.xmin = " known " THEN NULL ELSE (SELECT " SQL_BUSY_COL \
	" FROM " SQL_BUSY_FROM("p.id", "NULL", "$5") ") END," \
	" CASE WHEN p.xmin = " known " THEN NULL ELSE (SELECT " SQL_BUSY_SERVICES \
	" FROM " SQL_BUSY_FROM("p.id", "NULL", "$5") ") END," \
	" CASE WHEN p.xmin = " known " THEN NULL ELSE (SELECT array_agg(ARRAY[s.service_id," \
	" s.active::text, s.config::text, " SQL_MS("s.created_at") "::text, " SQL_MS("s.updated_at") \
	"::text] ORDER BY s.service_id COLLATE \"C\") FROM services s WHERE s.provider_id = p.id) END"
#define WITH_BUSY_NCOLS 5

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
	/* One row: WITH_BUSY_COLS of provider $1, unless its version is $4. */
	{ "provider_with_busy",
	  "SELECT " WITH_BUSY_COLS("$4::xid") " FROM providers p WHERE p.id = $1" },
	/*
	 * Team availability: one row per element of $1 (uuid[]), in its order,
	 * WITH_BUSY_COLS unless the version is the one at the same place in $4
	 * (xid[]); a NULL version: no such provider. One statement, one snapshot.
	 */
	{ "providers_with_busy",
	  "SELECT " WITH_BUSY_COLS("q.known") " FROM unnest($1::uuid[], $4::xid[])"
	  " WITH ORDINALITY AS q(id, known, ord) LEFT JOIN providers p ON p.id = q.id ORDER BY q.ord" },
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

/* The services column of WITH_BUSY_COLS: text[n][5] in binary (NULL: none). */
static int services_decode(struct arena *a, const PGresult *r, int row, int col,
			   struct store_service **out, int *n, struct err *e)
{
	const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, col);
	const unsigned char *end = v + PQgetlength(r, row, col);
	uint32_t rows, i, k;

	*n = 0;
	*out = NULL;
	if (PQgetisnull(r, row, col))
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

/* Row `row` of a WITH_BUSY_COLS result into out (found: a non-NULL version). */
static int with_busy_decode(struct arena *a, const PGresult *r, int row,
			    struct store_provider_busy *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	if (PQnfields(r) != WITH_BUSY_NCOLS)
		return ERR_INTERNAL(e, "Internal server error.");
	if (PQgetisnull(r, row, 0))
		return 0;
	if (PQgetlength(r, row, 0) != 4)
		return ERR_INTERNAL(e, "Internal server error.");
	out->found = 1;
	out->xmin = store_be32(PQgetvalue(r, row, 0));
	if (PQgetisnull(r, row, 1))
		return 0;
	out->config = arena_strndup(a, PQgetvalue(r, row, 1), (size_t)PQgetlength(r, row, 1));
	if (store_busy_decode_row(a, r, row, 2, &out->busy, e))
		return -1;
	return services_decode(a, r, row, 4, &out->services, &out->nservices, e);
}

int store_provider_with_busy(struct store *s, struct arena *a, const char *id, int64_t lo,
			     int64_t hi, int64_t now_ms, uint32_t known_xmin,
			     struct store_provider_busy *out, struct err *e)
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
	if (with_busy_decode(a, r, 0, out, e))
		return -1;
	return out->found ? 0 : ERR_INTERNAL(e, "Internal server error.");
}

int store_providers_with_busy(struct store *s, struct arena *a, const char *const *ids, int n,
			      int64_t lo, int64_t hi, int64_t now_ms, const uint32_t *known_xmin,
			      struct store_provider_busy **out, struct err *e)
{
	/* The known versions as an xid[] literal: an xid is at most 10 digits. */
	char *kv = arena_alloc(a, (size_t)n * 11 + 3);
	char los[24], his[24], now[24];
	const char *p[5] = { store_id_array(a, ids, n), los, his, kv, now };
	size_t kl = 0;
	PGresult *r;
	int i;

	kv[kl++] = '{';
	for (i = 0; i < n; i++)
		kl += (size_t)sprintf(kv + kl, "%s%" PRIu32, i ? "," : "", known_xmin[i]);
	memcpy(kv + kl, "}", 2);
	snprintf(los, sizeof los, "%" PRId64, lo);
	snprintf(his, sizeof his, "%" PRId64, hi);
	snprintf(now, sizeof now, "%" PRId64, now_ms);
	r = store_exec_as(s, a, "providers_with_busy", 5, p, 1, e);
	if (!r)
		return -1;
	if (PQntuples(r) != n)
		return ERR_INTERNAL(e, "Internal server error.");
	*out = arena_calloc(a, (size_t)n + 1, sizeof **out);
	for (i = 0; i < n; i++)
		if (with_busy_decode(a, r, i, &(*out)[i], e))
			return -1;
	return 0;
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
