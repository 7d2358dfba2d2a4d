/*
 * store_hold.c - the holds table (migration 0009): seats kept during
 * checkout. A hold is live while ended_at is NULL and expires_at is after
 * the request's time; no statement here or in the busy queries asks the
 * server's clock whether a hold is live, so an expiry needs no write and
 * every reader sees it from expiresAt on. Every write of a hold runs under
 * its provider's row lock (lock order: the provider, then the patient's
 * hold lock), which serializes it with bookings of that provider; the
 * patient's transaction advisory lock serializes the count of one patient's
 * holds across providers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store.h"

#define HOLD_COLS "id, provider_id, service_id, coalesce(patient_id, ''), " SQL_MS("start_at") \
	", " SQL_MS("end_at") ", buffer_before, buffer_after, " SQL_MS("expires_at") ", " \
	"coalesce(" SQL_MS("ended_at") ", 0), " SQL_MS("created_at")

const struct store_stmt store_hold_stmts[] = {
	{ "hold_insert",
	  "INSERT INTO holds (id, api_key_id, provider_id, service_id, patient_id, start_at, end_at,"
	  " buffer_before, buffer_after, expires_at, created_at)"
	  " VALUES ($1, $2, $3, $4, $5, " SQL_TS("$6") ", " SQL_TS("$7") ", $8, $9, " SQL_TS("$10")
	  ", " SQL_TS("$11") ")" },
	{ "hold_get", "SELECT " HOLD_COLS " FROM holds WHERE id = $1" },
	/* As provider_lock_of_appt: the provider first, in the order booking locks. */
	{ "hold_lock_provider",
	  "SELECT id FROM providers WHERE id = (SELECT provider_id FROM holds WHERE id = $1)"
	  " FOR UPDATE" },
	{ "hold_release",
	  "UPDATE holds SET ended_at = " SQL_TS("$2")
	  " WHERE id = $1 AND ended_at IS NULL AND expires_at > " SQL_TS("$2") },
	{ "hold_convert",
	  "UPDATE holds SET ended_at = " SQL_TS("$3") ", appointment_id = $2"
	  " WHERE id = $1 AND ended_at IS NULL" },
	{ "hold_release_service",
	  "UPDATE holds SET ended_at = " SQL_TS("$3")
	  " WHERE provider_id = $1 AND service_id = $2 AND ended_at IS NULL"
	  " AND expires_at > " SQL_TS("$3") },
	{ "hold_patient_lock",
	  "SELECT pg_advisory_xact_lock(" SQL_HOLD_PATIENT_LOCK_CLASS ", hashtext($1))" },
	/* A statement of its own after the lock, so that its snapshot sees what committed before. */
	{ "hold_count_patient",
	  "SELECT count(*) FROM holds WHERE patient_id = $1 AND ended_at IS NULL"
	  " AND expires_at > " SQL_TS("$2") },
	/*
	 * A hold ends (released, converted) only while live, so ended_at <
	 * expires_at: a hold that expired 24 hours ago ended at least as long
	 * ago, and the index on expires_at finds them all.
	 */
	{ "hold_prune",
	  "DELETE FROM holds WHERE id IN (SELECT id FROM holds"
	  " WHERE expires_at < now() - interval '24 hours' LIMIT $1)" },
	{ NULL, NULL }
};

static char *i64_text(struct arena *a, int64_t v)
{
	return arena_printf(a, "%" PRId64, v);
}

int store_hold_insert(struct store *s, struct arena *a, const struct hold *h, const char *key_id,
		      struct err *e)
{
	const char *p[11] = { h->id,
			      key_id,
			      h->provider_id,
			      h->service_id,
			      h->patient_id[0] ? h->patient_id : NULL,
			      i64_text(a, h->start_ms),
			      i64_text(a, h->end_ms),
			      arena_printf(a, "%d", h->buffer_before),
			      arena_printf(a, "%d", h->buffer_after),
			      i64_text(a, h->expires_ms),
			      i64_text(a, h->created_ms) };

	return store_exec_later(s, a, "hold_insert", 11, p, e);
}

int store_hold_get(struct store *s, struct arena *a, const char *id, struct hold *out,
		   struct err *e)
{
	const char *p[1] = { id };
	PGresult *r = store_exec(s, a, "hold_get", 1, p, e);

	if (!r)
		return -1;
	if (PQntuples(r) == 0)
		return ERR_NOT_FOUND(e, "Hold not found.");
	memset(out, 0, sizeof *out);
	snprintf(out->id, sizeof out->id, "%s", PQgetvalue(r, 0, 0));
	snprintf(out->provider_id, sizeof out->provider_id, "%s", PQgetvalue(r, 0, 1));
	snprintf(out->service_id, sizeof out->service_id, "%s", PQgetvalue(r, 0, 2));
	snprintf(out->patient_id, sizeof out->patient_id, "%s", PQgetvalue(r, 0, 3));
	out->start_ms = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
	out->end_ms = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
	out->buffer_before = atoi(PQgetvalue(r, 0, 6));
	out->buffer_after = atoi(PQgetvalue(r, 0, 7));
	out->expires_ms = strtoll(PQgetvalue(r, 0, 8), NULL, 10);
	out->ended_ms = strtoll(PQgetvalue(r, 0, 9), NULL, 10);
	out->created_ms = strtoll(PQgetvalue(r, 0, 10), NULL, 10);
	return 0;
}

int store_hold_lock_provider(struct store *s, struct arena *a, const char *id,
			     const char **provider, struct err *e)
{
	const char *p[1] = { id };
	PGresult *r = store_exec(s, a, "hold_lock_provider", 1, p, e);

	if (!r)
		return -1;
	*provider = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : NULL;
	return 0;
}

int store_hold_release(struct store *s, struct arena *a, const char *id, int64_t now_ms,
		       struct err *e)
{
	const char *p[2] = { id, i64_text(a, now_ms) };

	return store_exec_later(s, a, "hold_release", 2, p, e);
}

int store_hold_convert(struct store *s, struct arena *a, const char *id, const char *appt_id,
		       int64_t now_ms, struct err *e)
{
	const char *p[3] = { id, appt_id, i64_text(a, now_ms) };

	return store_exec_later(s, a, "hold_convert", 3, p, e);
}

int store_hold_release_service(struct store *s, struct arena *a, const char *provider_id,
			       const char *service_id, int64_t now_ms, struct err *e)
{
	const char *p[3] = { provider_id, service_id, i64_text(a, now_ms) };

	return store_exec_later(s, a, "hold_release_service", 3, p, e);
}

int store_hold_count_patient(struct store *s, struct arena *a, const char *patient_id,
			     int64_t now_ms, int *n, struct err *e)
{
	const char *lock[1] = { patient_id };
	const char *p[2] = { patient_id, i64_text(a, now_ms) };
	PGresult *r;

	if (store_exec_later(s, a, "hold_patient_lock", 1, lock, e))
		return -1;
	r = store_exec(s, a, "hold_count_patient", 2, p, e);
	if (!r)
		return -1;
	*n = atoi(PQgetvalue(r, 0, 0));
	return 0;
}

int store_hold_prune(struct store *s, struct arena *a, int max, int64_t *deleted, struct err *e)
{
	const char *p[1] = { arena_printf(a, "%d", max) };
	PGresult *r = store_exec(s, a, "hold_prune", 1, p, e);

	if (!r)
		return -1;
	*deleted = strtoll(PQcmdTuples(r), NULL, 10);
	return 0;
}
