/*
 * store.c - the connection: open, reconnect, prepare, run, map errors.
 *
 * Timeouts are set per session (statement_timeout, lock_timeout) so a
 * request can never hang on the database; connect_timeout bounds the
 * reconnect attempt an outage costs each request.
 */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/stmt.h"

struct store *store_open(const char *conninfo, int statement_timeout_ms, int lock_timeout_ms)
{
	struct store *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->conninfo = strdup(conninfo);
	s->statement_timeout_ms = statement_timeout_ms;
	s->lock_timeout_ms = lock_timeout_ms;
	return s;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	if (s->conn)
		PQfinish(s->conn);
	free(s->conninfo);
	free(s);
}

static int prepare_all(struct store *s)
{
	const struct store_stmt *tables[] = { store_provider_stmts, store_appt_stmts,
					      store_outbox_stmts, store_webhook_stmts,
					      store_delivery_stmts, store_key_stmts, store_idem_stmts };
	size_t t;

	for (t = 0; t < sizeof tables / sizeof tables[0]; t++) {
		const struct store_stmt *st;

		for (st = tables[t]; st->name; st++) {
			PGresult *r = PQprepare(s->conn, st->name, st->sql, 0, NULL);
			int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

			if (!ok)
				fprintf(stderr, "{\"level\":\"error\",\"event\":\"prepare_failed\",\"statement\":\"%s\"}\n",
					st->name);
			PQclear(r);
			if (!ok)
				return -1;
		}
	}
	return 0;
}

static int connect_now(struct store *s, struct err *e)
{
	const char *keys[] = { "dbname", "connect_timeout", "options", "application_name", NULL };
	char options[128];
	const char *vals[5];

	/* appointd.notify_after_commit: see store_commit and migration 0006. */
	snprintf(options, sizeof options, "-c statement_timeout=%d -c lock_timeout=%d"
		 " -c appointd.notify_after_commit=on",
		 s->statement_timeout_ms, s->lock_timeout_ms);
	vals[0] = s->conninfo;
	vals[1] = "2";
	vals[2] = options;
	vals[3] = "appointd";
	vals[4] = NULL;
	if (s->conn) {
		PQfinish(s->conn);
		s->conn = NULL;
		s->reconnects++;
	}
	/* expand_dbname: conninfo may be a URI or key=value string; later keys add to it. */
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(s->conn) != CONNECTION_OK || prepare_all(s)) {
		s->errors++;
		PQfinish(s->conn);
		s->conn = NULL;
		e->retry_after = 1;
		return ERR_UNAVAILABLE(e, "The database is unavailable; retry shortly.");
	}
	s->in_tx = 0;
	s->depth = 0;
	s->notify = 0;
	s->sessions++;
	return 0;
}

int store_ready(struct store *s, struct err *e)
{
	if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
		return 0;
	return connect_now(s, e);
}

/* Turns a failed result into the contract's error. */
static int fail(struct store *s, PGresult *r, struct err *e)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (state && strcmp(state, "23P01") == 0 && PQstatus(s->conn) == CONNECTION_OK)
		return ERR_CONFLICT(e, "The requested slot is not available.");
	s->errors++; /* a taken slot is an answer, not a database error */
	if (PQstatus(s->conn) != CONNECTION_OK) {
		e->retry_after = 1;
		return ERR_UNAVAILABLE(e, "The database is unavailable; retry shortly.");
	}
	if (state && (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0 ||
		      strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
		      strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0)) {
		e->retry_after = 1;
		return ERR_UNAVAILABLE(e, "The database is busy; retry shortly.");
	}
	fprintf(stderr, "{\"level\":\"error\",\"event\":\"sql_error\",\"sqlstate\":\"%s\"}\n",
		state ? state : "");
	return ERR_INTERNAL(e, "Internal server error.");
}

/*
 * A connection PostgreSQL dropped (a restart) is only noticed when used.
 * Outside a transaction nothing is lost by trying once more on a fresh one,
 * so the first request after the database returns succeeds.
 */
static int retry_on_new_connection(struct store *s, int attempt)
{
	return attempt == 0 && !s->in_tx && PQstatus(s->conn) != CONNECTION_OK;
}

static void clear_result(void *r)
{
	PQclear(r);
}

PGresult *store_exec(struct store *s, struct arena *a, const char *stmt, int nparams,
		     const char *const *params, struct err *e)
{
	return store_exec_as(s, a, stmt, nparams, params, 0, e);
}

PGresult *store_exec_as(struct store *s, struct arena *a, const char *stmt, int nparams,
			const char *const *params, int binary, struct err *e)
{
	PGresult *r = NULL;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		ExecStatusType st;

		if (store_ready(s, e))
			return NULL;
		r = PQexecPrepared(s->conn, stmt, nparams, params, NULL, NULL, binary ? 1 : 0);
		st = PQresultStatus(r);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
			arena_cleanup(a, clear_result, r);
			return r;
		}
		if (!retry_on_new_connection(s, attempt))
			break;
		PQclear(r);
	}
	fail(s, r, e);
	PQclear(r);
	return NULL;
}

static int simple(struct store *s, const char *sql, struct err *e)
{
	PGresult *r = NULL;
	int attempt, rc = 0;

	for (attempt = 0; attempt < 2; attempt++) {
		if (store_ready(s, e))
			return -1;
		r = PQexec(s->conn, sql);
		if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK) {
			PQclear(r);
			return 0;
		}
		if (!retry_on_new_connection(s, attempt))
			break;
		PQclear(r);
	}
	rc = fail(s, r, e);
	PQclear(r);
	return rc;
}

int store_ping(struct store *s, struct err *e)
{
	return simple(s, "SELECT 1", e);
}

int store_begin(struct store *s, struct err *e)
{
	if (s->in_tx) {
		s->depth++;
		return 0;
	}
	if (simple(s, "BEGIN", e))
		return -1;
	s->in_tx = 1;
	s->depth = 1;
	return 0;
}

/*
 * The commit, and when the transaction wrote events, the relays' wake-up in
 * the same round trip: a NOTIFY in a transaction of its own that does not
 * wait for its flush, so the lock NOTIFY takes at commit (one for the whole
 * cluster) is never held across a durable commit's fsync (migration 0006).
 * Only the COMMIT's result decides the answer: the events are committed
 * whatever becomes of the wake-up, and the relays poll besides.
 */
static int commit_and_notify(struct store *s, struct err *e)
{
	PGresult *r;
	int rc = 0, first = 1;

	if (store_ready(s, e))
		return -1;
	if (!PQsendQuery(s->conn, "COMMIT; BEGIN; SET LOCAL synchronous_commit = off;"
			 " NOTIFY appointd_outbox; COMMIT")) {
		e->retry_after = 1;
		return ERR_UNAVAILABLE(e, "The database is unavailable; retry shortly.");
	}
	while ((r = PQgetResult(s->conn))) {
		if (first && PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = fail(s, r, e);
		else if (!first && PQresultStatus(r) != PGRES_COMMAND_OK)
			fprintf(stderr, "{\"level\":\"warn\",\"event\":\"notify_failed\"}\n");
		first = 0;
		PQclear(r);
	}
	if (first)
		rc = fail(s, NULL, e);
	else if (PQstatus(s->conn) == CONNECTION_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		PQclear(PQexec(s->conn, "ROLLBACK")); /* the wake-up failed half-way */
	return rc;
}

int store_commit(struct store *s, struct err *e)
{
	int rc;

	if (s->in_tx && s->depth > 1) {
		s->depth--;
		return 0;
	}
	rc = s->notify ? commit_and_notify(s, e) : simple(s, "COMMIT", e);
	s->in_tx = 0;
	s->depth = 0;
	s->notify = 0;
	return rc;
}

int store_savepoint(struct store *s, struct err *e)
{
	if (!s->in_tx)
		return ERR_INTERNAL(e, "Internal server error.");
	if (simple(s, "SAVEPOINT appointd_sp", e))
		return -1;
	s->savepoint_depth = s->depth;
	return 0;
}

int store_rollback_to_savepoint(struct store *s, struct err *e)
{
	if (!s->in_tx)
		return ERR_INTERNAL(e, "Internal server error.");
	if (simple(s, "ROLLBACK TO SAVEPOINT appointd_sp", e))
		return -1;
	s->depth = s->savepoint_depth;
	return 0;
}

void store_rollback(struct store *s)
{
	PGresult *r;

	s->notify = 0;
	if (!s->in_tx || !s->conn) {
		s->in_tx = 0;
		s->depth = 0;
		return;
	}
	s->in_tx = 0;
	s->depth = 0;
	if (PQstatus(s->conn) != CONNECTION_OK)
		return;
	r = PQexec(s->conn, "ROLLBACK");
	PQclear(r);
}
