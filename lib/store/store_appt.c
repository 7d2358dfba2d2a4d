/*
 * store_appt.c - the appointments table. Callers hold the provider's row
 * lock (SELECT ... FOR UPDATE) before they read busy times and write, so the
 * check and the write are one atomic decision; lock order is always provider,
 * then appointment.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store.h"

#define APPT_COLS "id, provider_id, patient_id, " SQL_MS("start_at") ", " SQL_MS("end_at") \
	", status, coalesce(cancellation_reason, ''), version, " SQL_MS("created_at") ", " \
	SQL_MS("updated_at") ", service_id, buffer_before, buffer_after, coalesce(attendance, ''),"\
	" coalesce(decline_reason, '')"

const struct store_stmt store_appt_stmts[] = {
	/* As provider_with_busy's list, without the appointment $4 (the one being moved). */
	{ "appt_busy",
	  "SELECT " SQL_BUSY_COL ", " SQL_BUSY_SERVICES
	  " FROM " SQL_BUSY_FROM("$1::uuid", "$4::uuid", "$5") },
	/* appt_busy for each of the providers $1 (in that order, one row each), none excepted. */
	{ "appt_busy_team",
	  "SELECT x.b, x.s FROM unnest($1::uuid[]) WITH ORDINALITY AS p(id, k)"
	  " CROSS JOIN LATERAL (SELECT " SQL_BUSY_COL " AS b, " SQL_BUSY_SERVICES " AS s"
	  " FROM " SQL_BUSY_FROM("p.id", "NULL", "$4") ") x ORDER BY p.k" },
	{ "appt_insert",
	  "INSERT INTO appointments (id, provider_id, patient_id, start_at, end_at, status,"
	  " version, created_at, updated_at, service_id, buffer_before, buffer_after)"
	  " VALUES ($1, $2, $3, " SQL_TS("$4") ", " SQL_TS("$5")
	  ", $10, 1, " SQL_TS("$6") ", " SQL_TS("$6") ", $7, $8, $9)" },
	{ "appt_get", "SELECT " APPT_COLS " FROM appointments WHERE id = $1" },
	{ "appt_get_for_update", "SELECT " APPT_COLS " FROM appointments WHERE id = $1 FOR UPDATE" },
	{ "appt_reschedule",
	  "UPDATE appointments SET start_at = " SQL_TS("$2") ", end_at = " SQL_TS("$3")
	  ", buffer_before = $5, buffer_after = $6"
	  ", version = version + 1, updated_at = " SQL_TS("$4") " WHERE id = $1" },
	/* confirm, decline, record attendance: $2 the new status or attendance value. */
	{ "appt_confirm",
	  "UPDATE appointments SET status = 'CONFIRMED', version = version + 1,"
	  " updated_at = " SQL_TS("$2") " WHERE id = $1" },
	{ "appt_decline",
	  "UPDATE appointments SET status = 'DECLINED', decline_reason = $2,"
	  " version = version + 1, updated_at = " SQL_TS("$3") " WHERE id = $1" },
	{ "appt_attendance",
	  "UPDATE appointments SET attendance = $2, version = version + 1,"
	  " updated_at = " SQL_TS("$3") " WHERE id = $1" },
	{ "appt_cancel",
	  "UPDATE appointments SET status = 'CANCELLED', cancellation_reason = $2,"
	  " version = version + 1, updated_at = " SQL_TS("$3") " WHERE id = $1" },
	/* Every filter optional; the cursor is the (start_at, id) of the last row seen. */
	{ "appt_list",
	  "SELECT " APPT_COLS " FROM appointments"
	  " WHERE ($1::uuid IS NULL OR provider_id = $1::uuid)"
	  " AND ($2::text IS NULL OR patient_id = $2)"
	  " AND ($3::text IS NULL OR status = $3)"
	  " AND ($4::bigint IS NULL OR start_at >= " SQL_TS("$4") ")"
	  " AND ($5::bigint IS NULL OR start_at < " SQL_TS("$5") ")"
	  " AND ($6::bigint IS NULL OR (start_at, id) > (" SQL_TS("$6") ", $7::uuid))"
	  " AND ($9::text IS NULL OR service_id = $9)"
	  " AND ($10::uuid[] IS NULL OR provider_id = ANY ($10::uuid[]))"
	  " ORDER BY start_at, id LIMIT $8" },
	/*
	 * The calendar feed: the provider (no row: unknown) and at most $6 of its
	 * appointments starting in [$2, $3), upcoming ones (from $4 on) first,
	 * then the latest past ones, so a cut keeps what a subscriber needs most.
	 */
	{ "appt_feed",
	  "SELECT f.id, f.patient_id, f.s, f.e, f.status, f.version, f.c, f.u"
	  " FROM providers p LEFT JOIN LATERAL ("
	  " SELECT a.id, a.patient_id, a.start_at, " SQL_MS("a.start_at") " AS s, "
	  SQL_MS("a.end_at") " AS e, a.status, a.version, " SQL_MS("a.created_at") " AS c, "
	  SQL_MS("a.updated_at") " AS u FROM appointments a"
	  " WHERE a.provider_id = p.id"
	  " AND ($2::bigint IS NULL OR a.start_at >= " SQL_TS("$2") ")"
	  " AND ($3::bigint IS NULL OR a.start_at < " SQL_TS("$3") ")"
	  " ORDER BY a.start_at < " SQL_TS("$4") ","
	  " CASE WHEN a.start_at >= " SQL_TS("$4") " THEN a.start_at END, a.start_at DESC, a.id"
	  " LIMIT $5) f ON true"
	  " WHERE p.id = $1 ORDER BY f.start_at, f.id" },
	{ NULL, NULL }
};

static void row_to_appt(PGresult *r, int i, struct appt *a)
{
	memset(a, 0, sizeof *a);
	snprintf(a->id, sizeof a->id, "%s", PQgetvalue(r, i, 0));
	snprintf(a->provider_id, sizeof a->provider_id, "%s", PQgetvalue(r, i, 1));
	snprintf(a->patient_id, sizeof a->patient_id, "%s", PQgetvalue(r, i, 2));
	a->start_ms = strtoll(PQgetvalue(r, i, 3), NULL, 10);
	a->end_ms = strtoll(PQgetvalue(r, i, 4), NULL, 10);
	a->status = appt_status_parse(PQgetvalue(r, i, 5));
	snprintf(a->reason, sizeof a->reason, "%s", PQgetvalue(r, i, 6));
	a->version = atoi(PQgetvalue(r, i, 7));
	a->created_ms = strtoll(PQgetvalue(r, i, 8), NULL, 10);
	a->updated_ms = strtoll(PQgetvalue(r, i, 9), NULL, 10);
	snprintf(a->service_id, sizeof a->service_id, "%s", PQgetvalue(r, i, 10));
	a->buffer_before = atoi(PQgetvalue(r, i, 11));
	a->buffer_after = atoi(PQgetvalue(r, i, 12));
	a->attendance = strcmp(PQgetvalue(r, i, 13), "ATTENDED") == 0 ? APPT_ATTENDED
			: strcmp(PQgetvalue(r, i, 13), "NO_SHOW") == 0 ? APPT_NO_SHOW
								    : APPT_ATTENDANCE_NONE;
	snprintf(a->decline_reason, sizeof a->decline_reason, "%s", PQgetvalue(r, i, 14));
}

/* A parameter's text: milliseconds mostly, seconds for the busy window. */
static char *i64_text(struct arena *a, int64_t v)
{
	return arena_printf(a, "%" PRId64, v);
}

/* A big-endian 64-bit integer of a binary result's value. */
static int64_t be64(const unsigned char *v)
{
	return (int64_t)((uint64_t)store_be32(v) << 32 | store_be32(v + 4));
}

int store_busy_decode(struct arena *a, const PGresult *r, int col, struct store_busy *out,
		      struct err *e)
{
	return store_busy_decode_row(a, r, 0, col, out, e);
}

int store_busy_decode_row(struct arena *a, const PGresult *r, int row, int col,
			  struct store_busy *out, struct err *e)
{
	/*
	 * array_send: ndim, has-null flag, element type, then length and lower
	 * bound per dimension, then each element as its length and value:
	 * int8[n][5] (start, end, buffers, expiry) and text[n] (serviceIds).
	 */
	enum { COLS = 5, ROW = COLS * 12 };
	const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, col);
	const unsigned char *t = (const unsigned char *)PQgetvalue(r, row, col + 1);
	size_t len = (size_t)PQgetlength(r, row, col), tlen = (size_t)PQgetlength(r, row, col + 1);
	const unsigned char *tend = t + tlen;
	size_t n = 0, i;

	if (PQnfields(r) < col + 2 || PQfformat(r, col) != 1 || PQfformat(r, col + 1) != 1 ||
	    PQgetisnull(r, row, col) != PQgetisnull(r, row, col + 1))
		return ERR_INTERNAL(e, "Internal server error.");
	if (!PQgetisnull(r, row, col)) {
		if (len < 28 || store_be32(v) != 2 || store_be32(v + 4) != 0 ||
		    store_be32(v + 8) != 20 || store_be32(v + 20) != COLS)
			return ERR_INTERNAL(e, "Internal server error.");
		n = store_be32(v + 12);
		if (n == 0 || n > (len - 28) / ROW || len != 28 + n * ROW)
			return ERR_INTERNAL(e, "Internal server error.");
		if (tlen < 20 || store_be32(t) != 1 || store_be32(t + 4) != 0 ||
		    store_be32(t + 8) != 25 || store_be32(t + 12) != n)
			return ERR_INTERNAL(e, "Internal server error.");
	}
	out->entry = arena_calloc(a, n + 1, sizeof *out->entry);
	out->service = arena_calloc(a, n + 1, sizeof *out->service);
	out->expires_ms = arena_calloc(a, n + 1, sizeof *out->expires_ms);
	out->n = n;
	for (i = 0, v += 28, t += 20; i < n; i++, v += ROW) {
		struct slot_entry *x = &out->entry[i];
		uint32_t slen;
		int k;

		for (k = 0; k < COLS; k++)
			if (store_be32(v + 12 * k) != 8)
				return ERR_INTERNAL(e, "Internal server error.");
		x->start = be64(v + 4);
		x->end = be64(v + 16);
		x->buffer_before = (int32_t)be64(v + 28);
		x->buffer_after = (int32_t)be64(v + 40);
		out->expires_ms[i] = be64(v + 52);
		if (tend - t < 4 || (slen = store_be32(t)) > (size_t)(tend - t - 4))
			return ERR_INTERNAL(e, "Internal server error.");
		out->service[i] = arena_strndup(a, (const char *)t + 4, slen);
		t += 4 + slen;
	}
	return 0;
}

int store_appt_busy(struct store *s, struct arena *a, const char *provider_id, int64_t lo,
		    int64_t hi, const char *except_id, int64_t now_ms, struct store_busy *out,
		    struct err *e)
{
	const char *p[5] = { provider_id, i64_text(a, lo), i64_text(a, hi), except_id,
			     i64_text(a, now_ms) };
	PGresult *r = store_exec_as(s, a, "appt_busy", 5, p, 1, e);

	if (!r)
		return -1;
	return store_busy_decode(a, r, 0, out, e);
}

int store_appt_busy_team(struct store *s, struct arena *a, const char *const *ids, int n,
			 int64_t lo, int64_t hi, int64_t now_ms, struct store_busy *out,
			 struct err *e)
{
	const char *p[4] = { store_id_array(a, ids, n), i64_text(a, lo), i64_text(a, hi),
			     i64_text(a, now_ms) };
	PGresult *r = store_exec_as(s, a, "appt_busy_team", 4, p, 1, e);
	int i;

	if (!r)
		return -1;
	if (PQntuples(r) != n)
		return ERR_INTERNAL(e, "Internal server error.");
	for (i = 0; i < n; i++)
		if (store_busy_decode_row(a, r, i, 0, &out[i], e))
			return -1;
	return 0;
}

int store_appt_insert(struct store *s, struct arena *a, const struct appt *ap, struct err *e)
{
	const char *p[10] = { ap->id, ap->provider_id, ap->patient_id, i64_text(a, ap->start_ms),
			      i64_text(a, ap->end_ms), i64_text(a, ap->created_ms), ap->service_id,
			      arena_printf(a, "%d", ap->buffer_before),
			      arena_printf(a, "%d", ap->buffer_after), appt_status_name(ap->status) };

	return store_exec_later(s, a, "appt_insert", 10, p, e);
}

int store_appt_get(struct store *s, struct arena *a, const char *id, int lock, struct appt *out,
		   struct err *e)
{
	const char *p[1] = { id };
	PGresult *r = store_exec(s, a, lock ? "appt_get_for_update" : "appt_get", 1, p, e);

	if (!r)
		return -1;
	if (PQntuples(r) == 0)
		return ERR_NOT_FOUND(e, "Appointment not found.");
	row_to_appt(r, 0, out);
	return 0;
}

int store_appt_reschedule(struct store *s, struct arena *a, struct appt *ap, struct err *e)
{
	const char *p[6] = { ap->id, i64_text(a, ap->start_ms), i64_text(a, ap->end_ms),
			     i64_text(a, ap->updated_ms), arena_printf(a, "%d", ap->buffer_before),
			     arena_printf(a, "%d", ap->buffer_after) };

	if (store_exec_later(s, a, "appt_reschedule", 6, p, e))
		return -1;
	ap->version++;
	return 0;
}

int store_appt_cancel(struct store *s, struct arena *a, struct appt *ap, struct err *e)
{
	const char *p[3] = { ap->id, ap->reason, i64_text(a, ap->updated_ms) };

	if (store_exec_later(s, a, "appt_cancel", 3, p, e))
		return -1;
	ap->version++;
	ap->status = APPT_CANCELLED;
	return 0;
}

int store_appt_confirm(struct store *s, struct arena *a, struct appt *ap, struct err *e)
{
	const char *p[2] = { ap->id, i64_text(a, ap->updated_ms) };

	if (store_exec_later(s, a, "appt_confirm", 2, p, e))
		return -1;
	ap->version++;
	ap->status = APPT_CONFIRMED;
	return 0;
}

int store_appt_decline(struct store *s, struct arena *a, struct appt *ap, struct err *e)
{
	const char *p[3] = { ap->id, ap->decline_reason[0] ? ap->decline_reason : NULL,
			     i64_text(a, ap->updated_ms) };

	if (store_exec_later(s, a, "appt_decline", 3, p, e))
		return -1;
	ap->version++;
	ap->status = APPT_DECLINED;
	return 0;
}

int store_appt_attendance(struct store *s, struct arena *a, struct appt *ap, struct err *e)
{
	const char *p[3] = { ap->id, appt_attendance_name(ap->attendance),
			     i64_text(a, ap->updated_ms) };

	if (store_exec_later(s, a, "appt_attendance", 3, p, e))
		return -1;
	ap->version++;
	return 0;
}

int store_appt_feed(struct store *s, struct arena *a, const char *provider_id, int64_t from_ms,
		    int64_t to_ms, int64_t now_ms, int max, struct ics_appt **out, int *n,
		    struct err *e)
{
	const char *p[5] = {
		provider_id,
		from_ms == INT64_MIN ? NULL : i64_text(a, from_ms),
		to_ms == INT64_MAX ? NULL : i64_text(a, to_ms),
		i64_text(a, now_ms),
		arena_printf(a, "%d", max),
	};
	PGresult *r = store_exec(s, a, "appt_feed", 5, p, e);
	int i, rows;

	if (!r)
		return -1;
	rows = PQntuples(r);
	if (rows == 0)
		return ERR_NOT_FOUND(e, "Provider not found.");
	*out = arena_calloc(a, (size_t)rows, sizeof **out);
	*n = 0;
	for (i = 0; i < rows; i++) {
		struct ics_appt *x = &(*out)[*n];

		if (PQgetisnull(r, i, 0))
			continue; /* the provider's row, without appointments */
		x->id = PQgetvalue(r, i, 0);
		x->patient_id = PQgetvalue(r, i, 1);
		x->start_ms = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		x->end_ms = strtoll(PQgetvalue(r, i, 3), NULL, 10);
		x->status = appt_status_parse(PQgetvalue(r, i, 4));
		x->version = atoi(PQgetvalue(r, i, 5));
		x->created_ms = strtoll(PQgetvalue(r, i, 6), NULL, 10);
		x->updated_ms = strtoll(PQgetvalue(r, i, 7), NULL, 10);
		(*n)++;
	}
	return 0;
}

int store_appt_list(struct store *s, struct arena *a, const struct appt_filter *f,
		    struct appt **out, int *n, struct err *e)
{
	const char *p[10] = {
		f->provider_id, f->patient_id, f->status,
		f->from_ms == INT64_MIN ? NULL : i64_text(a, f->from_ms),
		f->to_ms == INT64_MAX ? NULL : i64_text(a, f->to_ms),
		f->has_after ? i64_text(a, f->after_start_ms) : NULL,
		f->has_after ? f->after_id : NULL,
		arena_printf(a, "%d", f->limit + 1),
		f->service_id,
		f->nproviders ? store_id_array(a, f->providers, f->nproviders) : NULL,
	};
	PGresult *r = store_exec(s, a, "appt_list", 10, p, e);
	int i;

	if (!r)
		return -1;
	*n = PQntuples(r);
	*out = arena_calloc(a, (size_t)*n + 1, sizeof **out);
	for (i = 0; i < *n; i++)
		row_to_appt(r, i, &(*out)[i]);
	return 0;
}
