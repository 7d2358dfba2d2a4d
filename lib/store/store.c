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

#include "core/daemon.h"
#include "store/store_int.h"

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
					      store_delivery_stmts, store_key_stmts, store_idem_stmts,
					      store_service_stmts, store_hold_stmts };
	size_t t;

	for (t = 0; t < sizeof tables / sizeof tables[0]; t++) {
		const struct store_stmt *st;

		for (st = tables[t]; st->name; st++) {
			PGresult *r = PQprepare(s->conn, st->name, st->sql, 0, NULL);
			int ok = PQresultStatus(r) == PGRES_COMMAND_OK;

			if (!ok) {
				cJSON *o = daemon_log_begin("error", "prepare_failed");

				cJSON_AddStringToObject(o, "statement", st->name);
				daemon_log_end(o);
			}
			PQclear(r);
			if (!ok)
				return -1;
		}
	}
	return 0;
}

/* Usable: connected, and not left half-way through a pipeline. */
static int conn_ok(const struct store *s)
{
	return s->conn && !s->broken && PQstatus(s->conn) == CONNECTION_OK;
}

static void end_tx(struct store *s)
{
	s->in_tx = 0;
	s->depth = 0;
	s->notify = 0;
	s->begun = 0;
	s->nqueued = 0;
}

static void queue_begin(struct store *s)
{
	s->queued[0] = (struct store_q){ NULL, "BEGIN", 0, NULL, 0 };
	s->nqueued = 1;
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
	s->broken = 0;
	if (s->begun)
		end_tx(s); /* the transaction died with its session */
	s->sessions++;
	return 0;
}

int store_ready(struct store *s, struct err *e)
{
	if (conn_ok(s))
		return 0;
	return connect_now(s, e);
}

/* Turns a failed result into the contract's error. */
static int fail(struct store *s, PGresult *r, struct err *e)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	cJSON *o;

	if (state && strcmp(state, "23P01") == 0 && conn_ok(s))
		return ERR_SLOT_TAKEN(e);
	s->errors++; /* a taken slot is an answer, not a database error */
	if (!conn_ok(s)) {
		e->retry_after = 1;
		return ERR_UNAVAILABLE(e, "The database is unavailable; retry shortly.");
	}
	if (state && (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0 ||
		      strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
		      strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0)) {
		e->retry_after = 1;
		return ERR_UNAVAILABLE(e, "The database is busy; retry shortly.");
	}
	o = daemon_log_begin("error", "sql_error");
	cJSON_AddStringToObject(o, "sqlstate", state ? state : "");
	daemon_log_end(o);
	return ERR_INTERNAL(e, "Internal server error.");
}

/*
 * One round trip. Without anything queued, one statement goes alone (the
 * extended protocol for a prepared one, the simple one for SQL); otherwise
 * the queue and then items[0..n) go in libpq's pipeline mode, followed by a
 * sync. The queue and the first `checked` items decide: the result of the
 * first of them that failed, or else of the last of them, comes back in *r
 * (NULL when the connection failed before it answered). The items after
 * them are best effort (the relays' wake-up after a commit): their failure
 * is logged. After an error the server skips everything up to the sync.
 * Returns 1 when the deciding result is a success.
 */
static int q_ok(const PGresult *r)
{
	return PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK;
}

static int q_send(PGconn *c, const struct store_q *q)
{
	if (q->stmt)
		return PQsendQueryPrepared(c, q->stmt, q->nparams, q->params, NULL, NULL, q->binary);
	return PQsendQueryParams(c, q->sql, 0, NULL, NULL, NULL, NULL, 0);
}

static int round_trip(struct store *s, const struct store_q *items, int n, int checked,
		      PGresult **r)
{
	PGconn *c = s->conn;
	int total = s->nqueued + n, decisive = s->nqueued + checked, i, ok = 0, failed = 0;

	*r = NULL;
	if (s->nqueued == 0 && n == 1 && checked == 1) {
		*r = items->stmt ? PQexecPrepared(c, items->stmt, items->nparams, items->params, NULL,
						  NULL, items->binary)
				 : PQexec(c, items->sql);
		return q_ok(*r);
	}
	if (!PQenterPipelineMode(c))
		return 0;
	for (i = 0; i < total; i++)
		if (!q_send(c, i < s->nqueued ? &s->queued[i] : &items[i - s->nqueued]))
			break;
	if (i < total || !PQpipelineSync(c)) {
		s->broken = 1; /* half a pipeline went out: the session is of no further use */
		return 0;
	}
	for (i = 0; i < total && PQstatus(c) == CONNECTION_OK; i++) {
		PGresult *x = PQgetResult(c), *y;

		if (!x)
			break;
		while (PQstatus(c) == CONNECTION_OK && (y = PQgetResult(c)))
			PQclear(y); /* up to the NULL that ends this statement's results */
		if (i < decisive && !failed) {
			PQclear(*r);
			*r = x;
			failed = !q_ok(x);
			ok = !failed && i == decisive - 1;
			continue;
		}
		if (!failed && !q_ok(x)) {
			daemon_log_end(daemon_log_begin("warn", "notify_failed"));
			failed = 1; /* the rest were skipped */
		}
		PQclear(x);
	}
	if (PQstatus(c) == CONNECTION_OK) {
		PGresult *x = i == total ? PQgetResult(c) : NULL; /* the sync's */
		int synced = x && PQresultStatus(x) == PGRES_PIPELINE_SYNC;

		PQclear(x);
		if (!synced || !PQexitPipelineMode(c)) {
			s->broken = 1;
			return 0;
		}
	}
	return ok;
}

/*
 * Runs items after the queue (round_trip), on a fresh connection when the
 * one it had was found dropped (a restart: noticed only when used), as long
 * as nothing of the transaction had reached the server and retry is set;
 * the queue is spent either way. Returns the deciding result, or NULL with
 * e filled in.
 */
static PGresult *run(struct store *s, const struct store_q *items, int n, int checked,
		     int retry, struct err *e)
{
	PGresult *r = NULL;
	int attempt, ok = 0, fresh = !s->in_tx || !s->begun, ready = 1;

	for (attempt = 0; attempt < 2; attempt++) {
		if (store_ready(s, e)) {
			ready = 0;
			break;
		}
		ok = round_trip(s, items, n, checked, &r);
		if (ok || !retry || !fresh || attempt > 0 || conn_ok(s))
			break;
		PQclear(r);
		r = NULL;
	}
	s->nqueued = 0;
	if (s->in_tx && conn_ok(s))
		s->begun = PQtransactionStatus(s->conn) != PQTRANS_IDLE;
	if (s->in_tx && !s->begun)
		queue_begin(s); /* none on the server: whatever comes next starts it */
	if (ok)
		return r;
	if (ready)
		fail(s, r, e);
	PQclear(r);
	return NULL;
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
	struct store_q q = { stmt, NULL, nparams, params, binary ? 1 : 0 };
	PGresult *r = run(s, &q, 1, 1, 1, e);

	if (r)
		arena_cleanup(a, clear_result, r);
	return r;
}

/* Sends what is queued, if anything. */
static int flush(struct store *s, struct err *e)
{
	PGresult *r;

	if (s->nqueued == 0)
		return 0;
	r = run(s, NULL, 0, 0, 1, e);
	PQclear(r);
	return r ? 0 : -1;
}

int store_exec_later(struct store *s, struct arena *a, const char *stmt, int nparams,
		     const char *const *params, struct err *e)
{
	const char **copy;
	int i;

	if (!s->in_tx)
		return store_exec(s, a, stmt, nparams, params, e) ? 0 : -1;
	if (s->nqueued == STORE_QUEUE_MAX && flush(s, e))
		return -1;
	copy = arena_alloc(a, sizeof *copy * (size_t)(nparams > 0 ? nparams : 1));
	for (i = 0; i < nparams; i++)
		copy[i] = params[i] ? arena_strdup(a, params[i]) : NULL;
	s->queued[s->nqueued++] = (struct store_q){ stmt, NULL, nparams, copy, 0 };
	return 0;
}

int store_exec_sql(struct store *s, const char *sql, struct err *e)
{
	struct store_q q = { NULL, sql, 0, NULL, 0 };
	PGresult *r = run(s, &q, 1, 1, 1, e);

	PQclear(r);
	return r ? 0 : -1;
}

int store_ping(struct store *s, struct err *e)
{
	return store_exec_sql(s, "SELECT 1", e);
}

uint64_t store_session(const struct store *s)
{
	return s->sessions;
}

int store_socket(const struct store *s)
{
	return s->conn ? PQsocket(s->conn) : -1;
}

int store_notifications(struct store *s)
{
	PGnotify *n;
	int count = 0;

	if (!s->conn || !PQconsumeInput(s->conn))
		return -1;
	while ((n = PQnotifies(s->conn))) {
		count++;
		PQfreemem(n);
	}
	return count;
}

uint64_t store_errors(const struct store *s)
{
	return s->errors;
}

uint64_t store_reconnects(const struct store *s)
{
	return s->reconnects;
}

int store_begin(struct store *s, struct err *e)
{
	(void)e;
	if (s->in_tx) {
		s->depth++;
		return 0;
	}
	s->in_tx = 1;
	s->depth = 1;
	s->begun = 0;
	queue_begin(s);
	return 0;
}

/*
 * The commit, with what is queued before it and, when the transaction wrote
 * events, the relays' wake-up after it, all in one round trip: the wake-up
 * is a NOTIFY in a transaction of its own that does not wait for its flush,
 * so the lock NOTIFY takes at commit (one for the whole cluster) is never
 * held across a durable commit's fsync (migration 0006). Only the COMMIT's
 * result (and what went before it) decides the answer: the events are
 * committed whatever becomes of the wake-up, and the relays poll besides.
 * A commit is never sent twice: it may have been carried out even though
 * its connection was lost.
 */
int store_commit(struct store *s, struct err *e)
{
	static const struct store_q commit[] = {
		{ NULL, "COMMIT", 0, NULL, 0 },
		{ NULL, "BEGIN", 0, NULL, 0 },
		{ NULL, "SET LOCAL synchronous_commit = off", 0, NULL, 0 },
		{ NULL, "NOTIFY " STORE_OUTBOX_CHANNEL, 0, NULL, 0 },
		{ NULL, "COMMIT", 0, NULL, 0 },
	};
	PGresult *r;

	if (!s->in_tx)
		return 0;
	if (s->depth > 1) {
		s->depth--;
		return flush(s, e);
	}
	if (!s->begun && s->nqueued <= 1 && !s->notify) {
		end_tx(s); /* nothing but the BEGIN: nothing to send */
		return 0;
	}
	r = run(s, commit, s->notify ? 5 : 1, 1, 0, e);
	PQclear(r);
	if (conn_ok(s) && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		PQclear(PQexec(s->conn, "ROLLBACK")); /* a failed statement, or the wake-up half-way */
	end_tx(s);
	return r ? 0 : -1;
}

int store_savepoint(struct store *s, struct err *e)
{
	if (!s->in_tx)
		return ERR_INTERNAL(e, "Internal server error.");
	if (store_exec_sql(s, "SAVEPOINT appointd_sp", e))
		return -1;
	s->savepoint_depth = s->depth;
	return 0;
}

int store_rollback_to_savepoint(struct store *s, struct err *e)
{
	if (!s->in_tx)
		return ERR_INTERNAL(e, "Internal server error.");
	s->nqueued = 0; /* queued after the savepoint (which sent the queue): undone unsent */
	if (store_exec_sql(s, "ROLLBACK TO SAVEPOINT appointd_sp", e))
		return -1;
	s->depth = s->savepoint_depth;
	return 0;
}

void store_rollback(struct store *s)
{
	int begun = s->in_tx && s->begun;

	end_tx(s);
	if (begun && conn_ok(s))
		PQclear(PQexec(s->conn, "ROLLBACK"));
}
