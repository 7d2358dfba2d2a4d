/*
 * relay.c - the relay's loop: dispatch, claim, deliver, record.
 *
 * Invariants:
 *  - a delivery is marked delivered only after its endpoint answered 2xx to
 *    this attempt; anything else is retried on the schedule, then failed;
 *  - results are recorded only for rows this relay still leases, so a relay
 *    whose session was lost (and whose leases another relay took) never
 *    overwrites the other's outcome;
 *  - after SIGTERM nothing new is claimed; the transfers in flight finish
 *    and are recorded before the process exits.
 */
#define _GNU_SOURCE /* pipe2 */
#include <config.h>

#include "events/relay.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/daemon.h"
#include "events/addr.h"
#include "events/sign.h"
#include "store/store.h"

#define RELAY_LEASE_MARGIN_MS 60000
#define RELAY_PRUNE_EVERY_MS 60000
#define RELAY_PRUNE_BATCH 10000
#define RELAY_DB_RETRY_MS 1000
#define RELAY_MAX_RETRY_AFTER_S 86400
#define RELAY_DISPATCH_ROUNDS 10
/*
 * The least time between two dispatches a notification asks for. Every
 * write notifies, and each dispatch is a durable transaction of its own:
 * under a stream of bookings, a dispatch per notification would cost
 * PostgreSQL as much again as the bookings' own transactions. Waiting a
 * few milliseconds numbers what arrived meanwhile in one transaction, at
 * the price of that much latency (./dev bench relay measures it).
 */
#define RELAY_DISPATCH_GAP_MS 20
#define RELAY_STOP_FLUSH_MS 10000
/*
 * The relay runs ANALYZE of the deliveries table once 1000 events were
 * numbered since the last one, but at most once in 10 s: a burst must not
 * wait a minute for autovacuum to notice that the table grew (the claim's
 * plan would be the one of an empty table), whenever it comes; an ANALYZE a
 * second under a stream of bookings would cost more than it saves.
 */
#define RELAY_ANALYZE_AFTER 1000
#define RELAY_ANALYZE_GAP_MS 10000

struct relay_xfer {
	struct relay_xfer *next;
	CURL *h;
	struct curl_slist *hdrs;
	char id[ID_UUID_LEN + 1];
	char webhook_id[ID_UUID_LEN + 1];
	char event_id[48];
	int attempt;          /* attempts already made in this schedule */
	char *body;
	size_t body_len;
	int denied;           /* the address was refused (webhook_allow_private = 0) */
	int allow_private;
	int64_t started_ms;
	char errbuf[CURL_ERROR_SIZE];
};

struct relay {
	const char *conf_path;
	struct config cfg;
	struct store *store;
	uint64_t session;        /* store session the LISTEN and owner lock ran on; 0 = none */
	int owner;
	CURLM *multi;
	struct relay_xfer *xfers;
	int inflight;
	cJSON *results;          /* not yet recorded */
	cJSON *gone;             /* webhook ids that answered 410 */
	int notified;            /* new events may have committed: dispatch them */
	int wake;                /* deliveries may be claimable: claim */
	int64_t next_poll_ms, next_prune_ms, db_retry_ms;
	int64_t next_dispatch_ms;  /* a notification is acted on from then on */
	int db_down_logged;
	int64_t numbered_since_analyze, next_analyze_ms;
	unsigned rng;
	struct arena arena;
};

static volatile sig_atomic_t relay_sig_term, relay_sig_hup, relay_sig_usr1;
static int relay_pipe[2] = { -1, -1 };

#define relay_now_ms() daemon_clock_ms(CLOCK_MONOTONIC)

static void relay_on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGHUP)
		relay_sig_hup = 1;
	else if (sig == SIGUSR1)
		relay_sig_usr1 = 1;
	else
		relay_sig_term = 1;
	if (write(relay_pipe[1], "x", 1) < 0) {
		/* the pipe is full: the loop wakes anyway */
	}
	errno = saved;
}

/* ------------------------------------------------------------ database */

/* Connects if needed; on a new session, LISTENs and takes the owner lock. */
static int relay_db_ready(struct relay *r)
{
	struct err e;

	if (relay_now_ms() < r->db_retry_ms)
		return -1;
	err_init(&e);
	if (store_ready(r->store, &e) == 0 && store_session(r->store) != r->session) {
		if (store_outbox_listen(r->store, &e) == 0 &&
		    store_delivery_hold_owner(r->store, &r->arena, r->owner, &e) == 0) {
			r->session = store_session(r->store);
			r->notified = 1;
			r->wake = 1;
			if (r->db_down_logged)
				daemon_log_msg("info", "database_back", "connected again");
			r->db_down_logged = 0;
		}
	}
	if (err_is_set(&e)) {
		if (!r->db_down_logged)
			daemon_log_msg("error", "database_unavailable", "%s", e.message);
		r->db_down_logged = 1;
		r->session = 0;
		r->db_retry_ms = relay_now_ms() + RELAY_DB_RETRY_MS;
		err_clear(&e);
		return -1;
	}
	return 0;
}

static void relay_db_failed(struct relay *r, struct err *e, const char *what)
{
	daemon_log_msg("error", "database_error", "%s: %s", what, e->message);
	err_clear(e);
	store_rollback(r->store);
	r->db_retry_ms = relay_now_ms() + RELAY_DB_RETRY_MS;
}

/* Records every result gathered so far; keeps them for later on failure. */
static int relay_flush(struct relay *r)
{
	struct err e;
	char *json;
	int rc = 0;

	if (cJSON_GetArraySize(r->results) == 0 && cJSON_GetArraySize(r->gone) == 0)
		return 0;
	err_init(&e);
	json = cJSON_PrintUnformatted(r->results);
	if (!json)
		return -1;
	if (cJSON_GetArraySize(r->results) > 0 &&
	    store_delivery_record(r->store, &r->arena, r->owner, json, &e) < 0)
		rc = -1;
	cJSON_free(json);
	while (rc == 0 && cJSON_GetArraySize(r->gone) > 0) {
		cJSON *w = cJSON_DetachItemFromArray(r->gone, 0);

		if (store_delivery_gone(r->store, &r->arena, w->valuestring, &e) < 0) {
			cJSON_InsertItemInArray(r->gone, 0, w);
			rc = -1;
			break;
		}
		daemon_log_msg("warn", "webhook_deactivated", "webhook %s answered 410 Gone", w->valuestring);
		cJSON_Delete(w);
	}
	if (rc < 0) {
		relay_db_failed(r, &e, "recording delivery results");
		return -1;
	}
	cJSON_Delete(r->results);
	r->results = cJSON_CreateArray();
	return 0;
}

/* ------------------------------------------------------------ transfers */

static size_t relay_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static curl_socket_t relay_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct relay_xfer *x = arg;

	(void)purpose;
	if (!x->allow_private && addr_is_private(&a->addr)) {
		x->denied = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static void relay_xfer_free(struct relay_xfer *x)
{
	if (x->h)
		curl_easy_cleanup(x->h);
	curl_slist_free_all(x->hdrs);
	free(x->body);
	free(x);
}

static int relay_add_header(struct relay_xfer *x, const char *fmt, const char *value)
{
	char line[256];
	struct curl_slist *l;

	snprintf(line, sizeof line, fmt, value);
	l = curl_slist_append(x->hdrs, line);
	if (!l)
		return -1;
	x->hdrs = l;
	return 0;
}

/* Starts one attempt; the claim's strings are copied (the arena is reset per cycle). */
static int relay_start(struct relay *r, const struct delivery_claim *c)
{
	struct relay_xfer *x = calloc(1, sizeof *x);
	char sig[SIGN_SIGNATURE_LEN + 1], ts[24];
	time_t now = time(NULL);

	if (!x)
		return -1;
	snprintf(x->id, sizeof x->id, "%s", c->id);
	snprintf(x->webhook_id, sizeof x->webhook_id, "%s", c->webhook_id);
	snprintf(x->event_id, sizeof x->event_id, "%s", c->event_id);
	x->attempt = c->attempt;
	x->allow_private = r->cfg.webhook_allow_private;
	x->body = malloc(c->body_len + 1);
	x->h = curl_easy_init();
	if (!x->body || !x->h)
		goto fail;
	memcpy(x->body, c->body, c->body_len + 1);
	x->body_len = c->body_len;
	/* Each attempt is signed with its own timestamp. */
	snprintf(ts, sizeof ts, "%lld", (long long)now);
	if (sign_signature(c->secret, c->event_id, now, c->body, c->body_len, sig) < 0) {
		daemon_log_msg("error", "bad_secret", "webhook %s has a malformed secret", c->webhook_id);
		goto fail;
	}
	if (relay_add_header(x, "content-type: %s", "application/json") ||
	    relay_add_header(x, "webhook-id: %s", c->event_id) ||
	    relay_add_header(x, "webhook-timestamp: %s", ts) ||
	    relay_add_header(x, "webhook-signature: %s", sig) ||
	    relay_add_header(x, "user-agent: appointd-relay/%s", PACKAGE_VERSION) ||
	    relay_add_header(x, "expect:%s", ""))
		goto fail;
	curl_easy_setopt(x->h, CURLOPT_URL, c->url);
	curl_easy_setopt(x->h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(x->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->h, CURLOPT_POST, 1L);
	curl_easy_setopt(x->h, CURLOPT_POSTFIELDS, x->body);
	curl_easy_setopt(x->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
	curl_easy_setopt(x->h, CURLOPT_HTTPHEADER, x->hdrs);
	curl_easy_setopt(x->h, CURLOPT_CONNECTTIMEOUT_MS, (long)r->cfg.relay_connect_timeout_ms);
	curl_easy_setopt(x->h, CURLOPT_TIMEOUT_MS, (long)r->cfg.relay_timeout_ms);
	curl_easy_setopt(x->h, CURLOPT_WRITEFUNCTION, relay_discard);
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->h, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->h, CURLOPT_OPENSOCKETFUNCTION, relay_open_socket);
	curl_easy_setopt(x->h, CURLOPT_OPENSOCKETDATA, x);
	if (curl_multi_add_handle(r->multi, x->h) != CURLM_OK)
		goto fail;
	x->started_ms = relay_now_ms();
	x->next = r->xfers;
	r->xfers = x;
	r->inflight++;
	return 0;
fail:
	/* Not started: the lease lapses with this session or in lease time. */
	relay_xfer_free(x);
	return -1;
}

static void relay_unlink(struct relay *r, struct relay_xfer *x)
{
	struct relay_xfer **p;

	for (p = &r->xfers; *p; p = &(*p)->next)
		if (*p == x) {
			*p = x->next;
			break;
		}
	r->inflight--;
}

/* Milliseconds before the next attempt: the schedule's delay, ±10 % jitter. */
static int64_t relay_delay_ms(struct relay *r, int retry)
{
	int64_t base = (int64_t)r->cfg.relay_retry[retry] * 1000;
	int64_t spread = base / 5;

	r->rng = r->rng * 1103515245u + 12345u;
	return base - base / 10 + (spread ? (int64_t)(r->rng >> 8) % (spread + 1) : 0);
}

/* Turns a finished transfer into a result row (and a log line). */
static void relay_finish(struct relay *r, struct relay_xfer *x, CURLcode rc)
{
	long code = 0;
	curl_off_t retry_after = 0;
	int made = x->attempt + 1;
	const char *status;
	char error[400] = "";
	int64_t delay = 0;
	cJSON *row = cJSON_CreateObject(), *log;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK && code >= 200 && code < 300) {
		status = "delivered";
	} else {
		if (rc != CURLE_OK && x->denied)
			snprintf(error, sizeof error, "address refused: webhook_allow_private = 0");
		else if (rc != CURLE_OK)
			snprintf(error, sizeof error, "%s%s%s", curl_easy_strerror(rc),
				 x->errbuf[0] ? ": " : "", x->errbuf);
		else if (code >= 300 && code < 400)
			snprintf(error, sizeof error, "HTTP %ld (redirects are not followed)", code);
		else
			snprintf(error, sizeof error, "HTTP %ld", code);
		if (rc == CURLE_OK && code == 410) {
			status = "failed";
			cJSON_AddItemToArray(r->gone, cJSON_CreateString(x->webhook_id));
		} else if (made > r->cfg.relay_retries) {
			status = "failed";
		} else {
			status = "pending";
			delay = relay_delay_ms(r, made - 1);
			if ((code == 429 || code == 503) &&
			    curl_easy_getinfo(x->h, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
			    retry_after > 0)
				delay = (int64_t)(retry_after < RELAY_MAX_RETRY_AFTER_S ?
						  retry_after : RELAY_MAX_RETRY_AFTER_S) * 1000;
		}
	}
	cJSON_AddStringToObject(row, "id", x->id);
	cJSON_AddStringToObject(row, "status", status);
	if (code > 0)
		cJSON_AddNumberToObject(row, "code", (double)code);
	else
		cJSON_AddNullToObject(row, "code");
	if (error[0])
		cJSON_AddStringToObject(row, "error", error);
	else
		cJSON_AddNullToObject(row, "error");
	cJSON_AddNumberToObject(row, "delay_ms", (double)delay);
	cJSON_AddItemToArray(r->results, row);

	log = daemon_log_begin(strcmp(status, "delivered") == 0 ? "info" : "warn", "delivery");
	cJSON_AddStringToObject(log, "delivery", x->id);
	cJSON_AddStringToObject(log, "webhook", x->webhook_id);
	cJSON_AddStringToObject(log, "eventId", x->event_id);
	cJSON_AddStringToObject(log, "status", status);
	cJSON_AddNumberToObject(log, "attempt", made);
	if (code > 0)
		cJSON_AddNumberToObject(log, "code", (double)code);
	if (error[0])
		cJSON_AddStringToObject(log, "error", error);
	if (delay)
		cJSON_AddNumberToObject(log, "retryInMs", (double)delay);
	cJSON_AddNumberToObject(log, "durationMs", (double)(relay_now_ms() - x->started_ms));
	daemon_log_end(log);
}

static void relay_collect(struct relay *r)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(r->multi, &left))) {
		struct relay_xfer *x = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		relay_finish(r, x, m->data.result);
		curl_multi_remove_handle(r->multi, x->h);
		relay_unlink(r, x);
		relay_xfer_free(x);
		r->wake = 1; /* a slot is free, and a later event of its aggregate may go */
	}
}

/* ------------------------------------------------------------ the loop */

/* A notification is waiting and its dispatch gap is over. */
static int relay_dispatch_due(const struct relay *r)
{
	return r->notified && relay_now_ms() >= r->next_dispatch_ms;
}

/*
 * Numbers new events (when notified or polling), then leases and starts
 * what fits in the free slots.
 */
static void relay_fill(struct relay *r, int poll)
{
	struct delivery_claim *c;
	struct err e;
	int n, i, want, rounds = 0;
	int64_t due;

	err_init(&e);
	if (poll || relay_dispatch_due(r)) {
		r->notified = 0;
		r->next_dispatch_ms = relay_now_ms() + RELAY_DISPATCH_GAP_MS;
		do {
			if (store_outbox_dispatch(r->store, &r->arena, r->cfg.relay_batch, &n, &e) < 0) {
				r->notified = 1;
				relay_db_failed(r, &e, "dispatching events");
				return;
			}
			r->numbered_since_analyze += n;
		} while (n == r->cfg.relay_batch && ++rounds < RELAY_DISPATCH_ROUNDS);
		if (rounds == RELAY_DISPATCH_ROUNDS) {
			r->notified = 1; /* more to number: next turn */
			r->next_dispatch_ms = 0;
		}
		/* A burst: autovacuum may take a minute to notice, the claim cannot wait. */
		if (r->numbered_since_analyze >= RELAY_ANALYZE_AFTER &&
		    relay_now_ms() >= r->next_analyze_ms) {
			r->numbered_since_analyze = 0;
			r->next_analyze_ms = relay_now_ms() + RELAY_ANALYZE_GAP_MS;
			if (store_delivery_analyze(r->store, &r->arena, &e) < 0)
				relay_db_failed(r, &e, "analyzing the deliveries table");
		}
	}
	/* A reconnect inside the store: claim only once the new session holds the owner lock. */
	if (store_session(r->store) != r->session) {
		r->wake = 1;
		return;
	}
	want = r->cfg.relay_concurrency - r->inflight;
	if (want > r->cfg.relay_batch)
		want = r->cfg.relay_batch;
	if (store_delivery_claim(r->store, &r->arena, r->owner, want, r->cfg.relay_per_webhook,
				 r->cfg.relay_timeout_ms + RELAY_LEASE_MARGIN_MS, &c, &n, &e) < 0) {
		relay_db_failed(r, &e, "claiming deliveries");
		return;
	}
	for (i = 0; i < n; i++)
		relay_start(r, &c[i]);
	r->next_poll_ms = relay_now_ms() + r->cfg.relay_poll_ms;
	/* A full claim may have left more behind; a waiting notification has its own time (relay_wait). */
	r->wake = n == want;
	if (r->wake)
		return;
	/*
	 * Otherwise sleep until the next retry is due. One due already was not
	 * claimable (behind an earlier delivery of its appointment, or its
	 * webhook at the cap): a completion wakes us for those, or the poll.
	 */
	if (store_delivery_next_due(r->store, &r->arena, &due, &e) < 0) {
		relay_db_failed(r, &e, "finding the next due delivery");
		return;
	}
	if (due > 0 && due < r->cfg.relay_poll_ms)
		r->next_poll_ms = relay_now_ms() + due;
}

/* Once a minute (and after SIGHUP): the retention, and the backlog in the log. */
static void relay_prune(struct relay *r)
{
	struct err e;
	int64_t deleted = 0, events = 0, deliveries = 0;

	r->next_prune_ms = relay_now_ms() + RELAY_PRUNE_EVERY_MS;
	err_init(&e);
	if (store_outbox_backlog(r->store, &r->arena, &events, &deliveries, &e) < 0) {
		relay_db_failed(r, &e, "counting the backlog");
		return;
	}
	if (events > 0 || deliveries > 0) {
		cJSON *o = daemon_log_begin("info", "backlog");

		cJSON_AddNumberToObject(o, "undispatchedEvents", (double)events);
		cJSON_AddNumberToObject(o, "pendingDeliveries", (double)deliveries);
		daemon_log_end(o);
	}
	/* Idempotency-Key answers live 24 hours, whatever the event retention. */
	if (store_idem_prune(r->store, &r->arena, &deleted, &e) < 0) {
		relay_db_failed(r, &e, "pruning idempotency keys");
		return;
	}
	/* Ended holds go 24 hours after they ended, whatever the event retention. */
	if (store_hold_prune(r->store, &r->arena, RELAY_PRUNE_BATCH, &deleted, &e) < 0) {
		relay_db_failed(r, &e, "pruning holds");
		return;
	}
	if (r->cfg.relay_retention_hours == 0)
		return;
	if (store_outbox_prune(r->store, &r->arena, r->cfg.relay_retention_hours, RELAY_PRUNE_BATCH,
			       &deleted, &e) < 0) {
		relay_db_failed(r, &e, "pruning");
		return;
	}
	if (deleted > 0)
		daemon_log_msg("info", "pruned", "%lld old events and deliveries removed", (long long)deleted);
}

static void relay_notifications(struct relay *r)
{
	if (!r->session || store_session(r->store) != r->session)
		return;
	/* -1: the next store call reconnects. The dispatch (when its gap is over) claims after it. */
	if (store_notifications(r->store) > 0)
		r->notified = 1;
}

static void relay_reload(struct relay *r)
{
	struct config next;
	struct err e;

	err_init(&e);
	if (config_load(&next, r->conf_path, &e) < 0) {
		daemon_log_msg("error", "reload_failed", "%s; keeping the running configuration", e.message);
		err_clear(&e);
		return;
	}
	if (strcmp(next.database_url, r->cfg.database_url) != 0)
		daemon_log_msg("warn", "reload", "database_url changes take effect on restart");
	snprintf(next.database_url, sizeof next.database_url, "%s", r->cfg.database_url);
	if (strcmp(next.relay_log_path, r->cfg.relay_log_path) != 0 &&
	    daemon_open_log(next.relay_log_path, -1) < 0)
		daemon_log_msg("error", "reload", "cannot open %s; logging stays where it was",
			  next.relay_log_path);
	r->cfg = next;
	r->notified = 1;
	r->wake = 1;
	r->next_prune_ms = 0;
	daemon_log_msg("info", "reload", "configuration reread");
}

static void relay_wait(struct relay *r)
{
	struct curl_waitfd fds[2];
	unsigned nfds = 0;
	int64_t timeout = r->next_poll_ms - relay_now_ms();
	char buf[64];
	int fd = store_socket(r->store);

	if (r->notified && r->inflight < r->cfg.relay_concurrency && !relay_sig_term &&
	    r->next_dispatch_ms - relay_now_ms() < timeout)
		timeout = r->next_dispatch_ms - relay_now_ms();
	if (r->wake && r->inflight < r->cfg.relay_concurrency && !relay_sig_term)
		timeout = 0;
	if (timeout > 1000)
		timeout = 1000;
	if (timeout < 0)
		timeout = 0;
	fds[nfds++] = (struct curl_waitfd){ relay_pipe[0], CURL_WAIT_POLLIN, 0 };
	if (r->session && store_session(r->store) == r->session && fd >= 0)
		fds[nfds++] = (struct curl_waitfd){ fd, CURL_WAIT_POLLIN, 0 };
	curl_multi_poll(r->multi, fds, nfds, (int)timeout, NULL);
	while (read(relay_pipe[0], buf, sizeof buf) > 0) {
		/* drained */
	}
	relay_notifications(r);
}

static int relay_setup(struct relay *r, const char *conf_path, const struct config *cfg)
{
	struct sigaction sa;
	unsigned seed = 0;

	memset(r, 0, sizeof *r);
	r->conf_path = conf_path;
	r->cfg = *cfg;
	arena_init(&r->arena, 64 * 1024);
	if (getrandom(&seed, sizeof seed, 0) != sizeof seed)
		seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	r->rng = seed;
	/* A positive 31-bit key: pg_locks shows it as an oid. */
	r->owner = (int)(seed & 0x7ffffffe) + 1;
	r->store = store_open(cfg->database_url, cfg->db_statement_timeout_ms, cfg->db_lock_timeout_ms);
	r->multi = curl_multi_init();
	r->results = cJSON_CreateArray();
	r->gone = cJSON_CreateArray();
	if (!r->store || !r->multi || !r->results || !r->gone ||
	    pipe2(relay_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = relay_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL); /* graceful too, as in the pool */
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	r->notified = 1;
	r->wake = 1;
	return 0;
}

static void relay_teardown(struct relay *r)
{
	while (r->xfers) {
		struct relay_xfer *x = r->xfers;

		curl_multi_remove_handle(r->multi, x->h);
		relay_unlink(r, x);
		relay_xfer_free(x);
	}
	if (r->multi)
		curl_multi_cleanup(r->multi);
	store_close(r->store);
	cJSON_Delete(r->results);
	cJSON_Delete(r->gone);
	arena_destroy(&r->arena);
	if (relay_pipe[0] >= 0) {
		close(relay_pipe[0]);
		close(relay_pipe[1]);
		relay_pipe[0] = relay_pipe[1] = -1;
	}
}

int relay_run(const char *conf_path, const struct config *cfg)
{
	struct relay r;
	int running, stopping = 0;
	int64_t stop_deadline = 0;

	if (relay_setup(&r, conf_path, cfg) < 0) {
		daemon_log_msg("error", "start_failed", "out of memory or descriptors");
		relay_teardown(&r);
		return 1;
	}
	daemon_log_msg("info", "started", "owner %d, %d deliveries at once, retry schedule of %d",
		  r.owner, r.cfg.relay_concurrency, r.cfg.relay_retries);
	for (;;) {
		if (relay_sig_hup) {
			relay_sig_hup = 0;
			relay_reload(&r);
		}
		if (relay_sig_usr1) {
			relay_sig_usr1 = 0;
			if (daemon_open_log(r.cfg.relay_log_path, -1) < 0)
				daemon_log_msg("error", "reopen_failed", "%s", strerror(errno));
		}
		if (relay_sig_term && !stopping) {
			stopping = 1;
			stop_deadline = relay_now_ms() + r.cfg.relay_timeout_ms + RELAY_STOP_FLUSH_MS;
			daemon_log_msg("info", "stopping", "finishing %d deliveries in flight", r.inflight);
		}
		if (relay_db_ready(&r) == 0) {
			relay_flush(&r);
			int poll = relay_now_ms() >= r.next_poll_ms;

			if (!stopping && (r.wake || poll || relay_dispatch_due(&r)) &&
			    r.inflight < r.cfg.relay_concurrency)
				relay_fill(&r, poll);
			if (!stopping && relay_now_ms() >= r.next_prune_ms)
				relay_prune(&r);
		}
		curl_multi_perform(r.multi, &running);
		relay_collect(&r);
		if (cJSON_GetArraySize(r.results) > 0 && relay_db_ready(&r) == 0)
			relay_flush(&r);
		arena_reset(&r.arena);
		if (stopping && r.inflight == 0 &&
		    ((cJSON_GetArraySize(r.results) == 0 && cJSON_GetArraySize(r.gone) == 0) ||
		     relay_now_ms() > stop_deadline))
			break;
		relay_wait(&r);
	}
	if (cJSON_GetArraySize(r.results) > 0)
		daemon_log_msg("error", "results_lost", "%d delivery results unrecorded (database "
			  "unavailable); those deliveries will be attempted again",
			  cJSON_GetArraySize(r.results));
	daemon_log_msg("info", "stopped", "bye");
	relay_teardown(&r);
	return 0;
}
