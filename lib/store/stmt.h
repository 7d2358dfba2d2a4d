/*
 * stmt.h - the prepared statements each store module owns. store.c prepares
 * every table's statements once per connection.
 */
#ifndef APPOINTD_STORE_STMT_H
#define APPOINTD_STORE_STMT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct slot_busy;
struct err;

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

/* Instants cross the wire as integer milliseconds since the epoch. */
#define SQL_MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"
/* Advisory-lock class of relay sessions (key 1 of the two-int form). */
#define SQL_RELAY_LOCK_CLASS "1095782468"

#define SQL_TS(param) "to_timestamp(" param "::bigint / 1000.0)"

/*
 * A busy query's column (store_busy_decode) over appointments a, and its
 * condition: CONFIRMED and overlapping [$2, $3) (epoch seconds), which the
 * exclusion constraint's GiST index answers bounded on both sides.
 */
#define SQL_BUSY_COL "array_agg(ARRAY[a.start_at, a.end_at] ORDER BY a.start_at)"
#define SQL_BUSY_WHERE "a.status = 'CONFIRMED' AND tstzrange(a.start_at, a.end_at)" \
	" && tstzrange(to_timestamp($2::bigint), to_timestamp($3::bigint))"

/* A big-endian 32-bit integer of a binary result's value. */
static inline uint32_t store_be32(const void *v)
{
	const unsigned char *p = v;

	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The busy intervals of a busy query: column col of row 0, in binary format
 * (store_exec_as), SQL_BUSY_COL: a timestamptz[n][2] of the start and end
 * of each CONFIRMED appointment (NULL: none), into an arena array of epoch
 * seconds with room for one more. Anything else is an internal error.
 */
int store_busy_decode(struct arena *a, const PGresult *r, int col, struct slot_busy **busy,
		      size_t *nbusy, struct err *e);

#endif
