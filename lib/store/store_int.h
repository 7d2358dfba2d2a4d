/*
 * store_int.h - the store's insides, for the files of lib/store/ only: the
 * connection (struct store), running statements, and the prepared
 * statements each store module owns (store.c prepares every table's
 * statements once per connection). Nothing outside lib/store/ includes it:
 * the rest of the tree sees an opaque struct store and never calls libpq
 * or writes SQL.
 */
#ifndef APPOINTD_STORE_INT_H
#define APPOINTD_STORE_INT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct arena;
struct store_busy;
struct err;

/* A statement waiting for the store's next round trip (store_exec_later). */
struct store_q {
	const char *stmt;        /* a prepared statement's name; NULL: sql */
	const char *sql;         /* else a command without parameters (BEGIN, COMMIT, ...) */
	int nparams;
	const char *const *params;
	int binary;              /* every result column in binary */
};

#define STORE_QUEUE_MAX 8

struct store {
	PGconn *conn;
	char *conninfo;
	int statement_timeout_ms;
	int lock_timeout_ms;
	int in_tx;
	int depth;               /* store_begin nesting: only the outermost commits */
	int savepoint_depth;     /* depth at store_savepoint */
	uint64_t reconnects;
	uint64_t sessions;       /* successful connects, ever: a new session is a new value */
	uint64_t errors;
	int notify;              /* the open transaction wrote events: wake the relays after commit */
	int broken;              /* a pipeline went wrong half-way: reconnect before the next use */
	int begun;               /* in_tx, and its BEGIN has reached the server (else it is queued) */
	int nqueued;             /* statements that go with the next round trip, in order */
	struct store_q queued[STORE_QUEUE_MAX];
};

/* The channel the outbox's wake-ups go to (store_commit, store_outbox_listen). */
#define STORE_OUTBOX_CHANNEL "appointd_outbox"

/* Runs a prepared statement; the result is freed with the arena. */
PGresult *store_exec(struct store *s, struct arena *a, const char *stmt, int nparams,
		     const char *const *params, struct err *e);
/* The same with every column of the result in binary format when binary is set. */
PGresult *store_exec_as(struct store *s, struct arena *a, const char *stmt, int nparams,
			const char *const *params, int binary, struct err *e);
/*
 * In a transaction, queues a prepared statement whose result is not needed
 * (it need only succeed) to go with the next round trip; its error, if any,
 * is the answer of the store call that sends it (at the latest the commit).
 * The parameters are copied to the arena. Outside a transaction: store_exec.
 */
int store_exec_later(struct store *s, struct arena *a, const char *stmt, int nparams,
		     const char *const *params, struct err *e);
/*
 * Runs one command without parameters (LISTEN, SAVEPOINT, ...) the way
 * store_exec runs a statement, the queue before it; 0 or -1 with e.
 */
int store_exec_sql(struct store *s, const char *sql, struct err *e);

struct store_stmt {
	const char *name;
	const char *sql;
};

extern const struct store_stmt store_provider_stmts[];
extern const struct store_stmt store_appt_stmts[];
extern const struct store_stmt store_outbox_stmts[];
extern const struct store_stmt store_webhook_stmts[];
extern const struct store_stmt store_delivery_stmts[];
extern const struct store_stmt store_key_stmts[];
extern const struct store_stmt store_idem_stmts[];
extern const struct store_stmt store_service_stmts[];
extern const struct store_stmt store_hold_stmts[];

/* Instants cross the wire as integer milliseconds since the epoch. */
#define SQL_MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"
/* Advisory-lock class of relay sessions (key 1 of the two-int form). */
#define SQL_RELAY_LOCK_CLASS "1095782468"
/* Advisory-lock class of a patient's holds (transaction locks, key 2: hashtext(patientId)). */
#define SQL_HOLD_PATIENT_LOCK_CLASS "1213156420"

#define SQL_TS(param) "to_timestamp(" param "::bigint / 1000.0)"

/*
 * A busy query's two columns (store_busy_decode) over the active entries a
 * of provider `prov`, in one order (start, id): its PENDING and CONFIRMED
 * appointments (but the one `except` names, a uuid expression or NULL) and
 * its holds that are live at `now` (milliseconds: the request's time, never
 * the server's now(), so every reader judges expiry by the request's
 * clock), each overlapping [$2, $3) (epoch seconds), which the partial GiST
 * indexes (the exclusion constraint's, holds_provider_live) answer bounded
 * on both sides. SQL_BUSY_COL: int8[n][5] of start and end (epoch seconds),
 * the buffers (seconds) and the expiry (epoch milliseconds; 0 for an
 * appointment); SQL_BUSY_SERVICES: text[n] of the serviceIds.
 */
#define SQL_BUSY_ORDER "ORDER BY a.start_at, a.id"
#define SQL_BUSY_COL "array_agg(ARRAY[floor(extract(epoch FROM a.start_at))::int8," \
	" floor(extract(epoch FROM a.end_at))::int8, a.buffer_before::int8 * 60," \
	" a.buffer_after::int8 * 60, a.expires] " SQL_BUSY_ORDER ")"
#define SQL_BUSY_SERVICES "array_agg(a.service_id " SQL_BUSY_ORDER ")"
#define SQL_BUSY_WINDOW "tstzrange(start_at, end_at)" \
	" && tstzrange(to_timestamp($2::bigint), to_timestamp($3::bigint))"
#define SQL_BUSY_FROM(prov, except, now) \
	"(SELECT id, start_at, end_at, buffer_before, buffer_after, service_id, 0::int8 AS expires" \
	" FROM appointments WHERE provider_id = " prov " AND status IN ('PENDING', 'CONFIRMED')" \
	" AND " SQL_BUSY_WINDOW " AND id IS DISTINCT FROM " except \
	" UNION ALL SELECT id, start_at, end_at, buffer_before, buffer_after, service_id, " \
	SQL_MS("expires_at") " FROM holds WHERE provider_id = " prov " AND ended_at IS NULL" \
	" AND expires_at > " SQL_TS(now) " AND " SQL_BUSY_WINDOW ") a"

/* A big-endian 32-bit integer of a binary result's value. */
static inline uint32_t store_be32(const void *v)
{
	const unsigned char *p = v;

	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The entries of a busy query: columns col (SQL_BUSY_COL) and col + 1
 * (SQL_BUSY_SERVICES) of row `row`, in binary format (store_exec_as; NULL:
 * none), into out (arena; room for one more entry). Anything else is an
 * internal error. store_busy_decode: of row 0.
 */
int store_busy_decode(struct arena *a, const PGresult *r, int col, struct store_busy *out,
		      struct err *e);
/* The same for row `row` of r. */
int store_busy_decode_row(struct arena *a, const PGresult *r, int row, int col,
			  struct store_busy *out, struct err *e);
/* A PostgreSQL array literal of UUIDs ids[0..n) (nothing to quote), in the arena. */
const char *store_id_array(struct arena *a, const char *const *ids, int n);

#endif
