/*
 * store.h - PostgreSQL through libpq: one persistent connection per worker,
 * prepared statements, transactions, and the queries of each table in the
 * module that owns it (store_provider.c, store_appt.c, store_outbox.c).
 *
 * Every call returns 0 or -1 with a struct err: a lost connection, a lock or
 * statement timeout become 503 SERVICE_UNAVAILABLE (safe to retry); the
 * exclusion constraint becomes 409 CONFLICT; anything else is a 500 whose
 * message never leaks SQL. A broken connection is re-established on the next
 * call, so the first request after PostgreSQL returns succeeds.
 */
#ifndef APPOINTD_STORE_H
#define APPOINTD_STORE_H

#include <libpq-fe.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "engine/codec.h"
#include "engine/slot.h"

struct store {
	PGconn *conn;
	char *conninfo;
	int statement_timeout_ms;
	int lock_timeout_ms;
	int in_tx;
	uint64_t reconnects;
	uint64_t errors;
};

struct store *store_open(const char *conninfo, int statement_timeout_ms, int lock_timeout_ms);
void store_close(struct store *s);
/* Connects (again) if needed and prepares the statements. */
int store_ready(struct store *s, struct err *e);
/* SELECT 1: the /health check. */
int store_ping(struct store *s, struct err *e);

int store_begin(struct store *s, struct err *e);
int store_commit(struct store *s, struct err *e);
/* Rolls back an open transaction, if any; safe to call always. */
void store_rollback(struct store *s);

/* Runs a prepared statement; the result is freed with the arena. */
PGresult *store_exec(struct store *s, struct arena *a, const char *stmt, int nparams,
		     const char *const *params, struct err *e);

/* ---- providers (store_provider.c) */
/*
 * Inserts or replaces a provider's canonical configuration. *changed is 0
 * when the stored configuration already equals it (then nothing is written).
 */
int store_provider_upsert(struct store *s, struct arena *a, const char *id, const char *config,
			  int64_t now_ms, int *changed, struct err *e);
/* Reads the configuration; 404 if absent. lock: SELECT ... FOR UPDATE. */
int store_provider_get(struct store *s, struct arena *a, const char *id, int lock,
		       const char **config, int64_t *created_ms, int64_t *updated_ms,
		       struct err *e);
/*
 * One round trip for availability: the configuration and the CONFIRMED
 * appointments overlapping [lo, hi) (UTC seconds), sorted by start.
 */
int store_provider_with_busy(struct store *s, struct arena *a, const char *id, int64_t lo,
			     int64_t hi, const char **config, struct slot_busy **busy,
			     size_t *nbusy, struct err *e);

/* ---- appointments (store_appt.c) */
int store_appt_busy(struct store *s, struct arena *a, const char *provider_id, int64_t lo,
		    int64_t hi, struct slot_busy **busy, size_t *nbusy, const char *except_id,
		    struct err *e);
int store_appt_insert(struct store *s, struct arena *a, const struct appt *ap, struct err *e);
/* 404 if absent. lock: FOR UPDATE. */
int store_appt_get(struct store *s, struct arena *a, const char *id, int lock, struct appt *out,
		   struct err *e);
int store_appt_reschedule(struct store *s, struct arena *a, struct appt *ap, struct err *e);
int store_appt_cancel(struct store *s, struct arena *a, struct appt *ap, struct err *e);

struct appt_filter {
	const char *provider_id, *patient_id, *status; /* NULL = any */
	int64_t from_ms, to_ms;                        /* INT64_MIN / INT64_MAX = open */
	int has_after;                                 /* cursor position */
	int64_t after_start_ms;
	char after_id[CODEC_UUID_LEN + 1];
	int limit;
};
/* Up to f->limit + 1 rows (the extra one tells there is a next page). */
int store_appt_list(struct store *s, struct arena *a, const struct appt_filter *f,
		    struct appt **out, int *n, struct err *e);

/* ---- outbox (store_outbox.c) */
int store_outbox_add(struct store *s, struct arena *a, const char *event_id, const char *type,
		     const char *aggregate_id, const char *payload, struct err *e);

/* ---- migrations (store_migrate.c), for appointctl */
int store_migrate(PGconn *conn, const char *dir, int verbose, struct err *e);

#endif
