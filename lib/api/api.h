/*
 * api.h - one handler per route. A handler decodes and validates its input,
 * calls the engine and the store, and fills the response; it never writes
 * to the client itself. Mutating handlers run their work in one transaction.
 */
#ifndef APPOINTD_API_H
#define APPOINTD_API_H

#include <stdint.h>

#include "api/cache_key.h"
#include "api/cache_sched.h"
#include "core/config.h"
#include "core/err.h"
#include "core/ids.h"
#include "http/http.h"
#include "http/pool.h"

struct store;
struct tz_cache;
struct sched;
struct slot_entry;

/* What a worker owns for its whole life (dispatch.c makes it). */
struct api_ctx {
	struct store *store;
	struct tz_cache *tzc;
	struct tz_cache *own_tzc;       /* tzc when the worker had to load it itself */
	struct pool_shared *shm;
	const struct config *cfg;
	struct cache_key keys;          /* keys the database vouched for recently */
	struct cache_sched scheds;      /* providers read recently */
	uint64_t db_errors, db_reconnects; /* the store's counts as last added to the metrics */
};

/*
 * The worker's side of the API, handed to the FastCGI worker (worker.h)
 * by app/appointd.c: api_open makes the context in the worker after fork
 * (arg: a struct tz_cache * warmed before the fork, or NULL), api_dispatch
 * answers one request through the chain auth -> body -> query ->
 * idempotency -> handler, api_close frees the context.
 */
void *api_open(const struct config *cfg, struct pool_shared *shm, void *arg);
void api_dispatch(void *ctx, struct http_req *req, struct http_resp *resp);
void api_close(void *ctx);

/*
 * Checks the caller's key (token: a ?token= value, else the Authorization
 * header) against the scope a route needs (enum apikey_scope; NONE = open):
 * 401 without a live key, 403 when its scope is too narrow. Fills
 * req->principal with the key found.
 */
int api_authenticate(struct api_ctx *c, struct http_req *req, const char *token, int need,
		     struct err *e);
/*
 * Tenancy (api_auth.c), the one test every provider-scoped lookup makes:
 * 1 when the caller may see provider_id (its key is unbound, or bound to
 * it; any spelling of the UUID), else 0. A provider a bound key may not see
 * is answered exactly as an unknown one (404), never 403.
 */
int api_provider_visible(const struct http_req *req, const char *provider_id);
/* 0 when api_provider_visible, else -1 with the unknown provider's 404 set. */
int api_provider_check(const struct http_req *req, const char *provider_id, struct err *e);

typedef int (*api_handler)(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			   struct err *e);

int api_health(struct api_ctx *c, struct http_req *req, struct http_resp *resp, struct err *e);
int api_status(struct api_ctx *c, struct http_req *req, struct http_resp *resp, struct err *e);
int api_metrics(struct api_ctx *c, struct http_req *req, struct http_resp *resp, struct err *e);
int api_provider_schedule(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			  struct err *e);
int api_provider_get(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e);
int api_availability(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e);
int api_team_availability(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			  struct err *e);
/*
 * An availability query (api_providers.c): service= (default `default`;
 * outside the serviceId pattern: 422 at service) and date=, or startDate=
 * and endDate= (exactly one form, at most max_days dates) into [from, to]
 * (single: the date= form); otherwise 422 naming each bad field, those
 * already in e included.
 */
int api_avail_query(struct http_req *req, int max_days, const char **service, int32_t *from,
		    int32_t *to, int *single, struct err *e);
int api_provider_calendar(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			  struct err *e);
int api_service_put(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		    struct err *e);
int api_service_list(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e);
int api_service_get(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		    struct err *e);
int api_service_retire(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		       struct err *e);
int api_appt_create(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		    struct err *e);
int api_appt_get(struct api_ctx *c, struct http_req *req, struct http_resp *resp, struct err *e);
int api_appt_list(struct api_ctx *c, struct http_req *req, struct http_resp *resp, struct err *e);
int api_appt_reschedule(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			struct err *e);
int api_appt_cancel(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		    struct err *e);
int api_appt_confirm(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e);
int api_appt_decline(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e);
int api_appt_attendance(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			struct err *e);

int api_hold_create(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		    struct err *e);
int api_hold_get(struct api_ctx *c, struct http_req *req, struct http_resp *resp, struct err *e);
int api_hold_release(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e);
struct book_req;
struct service;
struct slot_service;
/*
 * Booking b under its provider's row lock (config: its stored schedule):
 * when b names a live hold (holdId) of its provider, service, startTime and
 * (if the hold has one) patientId, fills s, sv and eff with the hold's
 * duration and buffers and returns 1: the booking takes the hold's seat,
 * and the caller marks it converted (store_hold_convert). A live hold that
 * does not match: 422 at holdId. No holdId, or a hold that ended or is
 * unknown: offer_check's answer for b, 0 or -1.
 */
int api_hold_offer(struct api_ctx *c, struct http_req *req, const struct book_req *b,
		   const char *config, struct sched *s, struct service *sv,
		   struct slot_service *eff, struct err *e);
struct hold;
/*
 * The hold b names (holdId), read under its candidates' row locks: 1 with
 * *h when it is live and matches b, its provider b's providerId or one of
 * b's providerIds (team booking);
 * 0 when b names none, or one that ended or is unknown (book as if no
 * holdId were given); -1 with 422 at holdId for a live one that does not
 * match.
 */
int api_hold_match(struct api_ctx *c, struct http_req *req, const struct book_req *b,
		   struct hold *h, struct err *e);
/*
 * The booking's values when live hold h (api_hold_match) becomes it, under
 * its provider's row lock (config: that provider's stored schedule): s,
 * sv, and eff with the hold's duration and buffers.
 */
int api_hold_place(struct api_ctx *c, struct http_req *req, const struct book_req *b,
		   const char *config, const struct hold *h, struct sched *s, struct service *sv,
		   struct slot_service *eff, struct err *e);
/*
 * Team booking (b->nteam providerIds), in an open transaction: locks every
 * candidate's row in one statement in id order, then chooses the provider
 * (contract: POST /api/appointments, team booking) and writes it to
 * b->provider_id; s, sv and eff as api_hold_offer fills them, and its
 * answer: 1 when a live hold among them becomes the booking, 0 for a free
 * slot, -1 with 404 (the first bad provider), 422 (holdId) or 409.
 */
int api_team_choose(struct api_ctx *c, struct http_req *req, struct book_req *b, struct sched *s,
		    struct service *sv, struct slot_service *eff, struct err *e);
int api_events(struct api_ctx *c, struct http_req *req, struct http_resp *resp, struct err *e);
/* /api/keys (api_keys.c): mint (the key shown once), list, revoke. */
int api_key_create(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		   struct err *e);
int api_key_list(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		 struct err *e);
int api_key_revoke(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		   struct err *e);
int api_webhook_create(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		       struct err *e);
/* The POST /api/webhooks body, checked; strings point into the body or the arena. */
struct api_webhook_req {
	const char *url;
	const char *types;       /* PostgreSQL array literal, NULL for every type */
	const char *description; /* NULL when not given */
};
/*
 * Decodes and checks the POST /api/webhooks body (allow_private: the
 * configuration's webhook_allow_private). 0, or -1 with a 422 naming each
 * bad field.
 */
int api_webhook_decode(const cJSON *body, int allow_private, struct arena *a,
		       struct api_webhook_req *out, struct err *e);
int api_webhook_list(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e);
int api_webhook_get(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		    struct err *e);
int api_webhook_delete(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		       struct err *e);
int api_webhook_deliveries(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			   struct err *e);
int api_webhook_retry(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		      struct err *e);

/*
 * Runs fn under the request's Idempotency-Key, if it has one (api_idem.c):
 * replays a stored answer, 409 IDEMPOTENCY_KEY_IN_USE, 422
 * IDEMPOTENCY_KEY_REUSED; without the header it just calls fn.
 */
int api_idempotent(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		   api_handler fn, struct err *e);

/* Shared by handlers (api_common.c). */
/*
 * An optional integer query parameter in [min, max] (default when absent);
 * otherwise a 422 naming it with "must be an integer from min to max".
 */
int api_query_int(struct http_req *req, const char *name, int64_t min, int64_t max,
		  int64_t dflt, int64_t *out, struct err *e);
/*
 * An optional instant query parameter (from, to): left alone when absent,
 * otherwise parsed as request bodies' instants are (422 naming it).
 */
int api_query_instant(struct http_req *req, const char *name, int64_t *out, struct err *e);
/* Loads and decodes a provider's stored configuration. */
int api_sched_from_config(struct api_ctx *c, struct http_req *req, const char *config,
			  struct sched *out, struct err *e);
/*
 * Writes one event to the outbox in s's current transaction, stamped now_ms;
 * payload consumed. Every event's bytes come from here (codec_event_envelope),
 * the API's and appointctl seed's alike.
 */
int api_emit_at(struct store *s, struct arena *a, int64_t now_ms, const char *type,
		const char *aggregate, cJSON *payload, struct err *e);
/* Writes one event to the outbox in the current transaction; payload consumed. */
int api_emit(struct api_ctx *c, struct http_req *req, const char *type, const char *aggregate,
	     cJSON *payload, struct err *e);
/*
 * The path's {id} as a lower-case UUID into out, or 404 "<what> not found."
 * (an id of the wrong shape in a path is 404, like an unknown one).
 */
int api_path_id(const struct http_req *req, char out[ID_UUID_LEN + 1], const char *what,
		struct err *e);
/* Adds an ISO instant field. */
void api_add_instant(cJSON *o, const char *key, int64_t ms);

#endif
