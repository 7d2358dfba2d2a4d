/*
 * stmt.h - the prepared statements each store module owns. store.c prepares
 * every table's statements once per connection.
 */
#ifndef APPOINTD_STORE_STMT_H
#define APPOINTD_STORE_STMT_H

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

/* Whole epoch seconds (what the engine counts in); float8, cheaper than extract's numeric. */
#define SQL_S(col) "floor(date_part('epoch', " col "))::bigint"

#define SQL_TS(param) "to_timestamp(" param "::bigint / 1000.0)"

struct arena;
struct slot_busy;
struct err;
/*
 * Busy intervals from "start end start end ..." (epoch seconds, as the busy
 * queries' string_agg returns them; "" or NULL: none) into an arena array
 * with room for one more. A malformed list is an internal error.
 */
int store_busy_parse(struct arena *a, const char *text, struct slot_busy **busy, size_t *nbusy,
		     struct err *e);

#endif
