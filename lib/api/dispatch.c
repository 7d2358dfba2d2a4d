/*
 * dispatch.c - the API as a worker runs it: its context, made after the
 * fork and kept for the worker's life, and the chain every request goes
 * through: route -> auth -> tenancy -> body -> query -> idempotency ->
 * handler. Any
 * error rolls the handler's transaction back before it becomes the
 * response, and no request leaves a transaction open behind it.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "engine/ics.h"
#include "engine/tz.h"
#include "store/store.h"

void *api_open(const struct config *cfg, struct pool_shared *shm, void *arg)
{
	struct api_ctx *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->cfg = cfg;
	c->shm = shm;
	c->tzc = arg;
	if (!c->tzc)
		c->tzc = c->own_tzc = tz_cache_new(cfg->zoneinfo_dir);
	c->store = store_open(cfg->database_url, cfg->db_statement_timeout_ms, cfg->db_lock_timeout_ms);
	if (!c->tzc || !c->store) {
		api_close(c);
		return NULL;
	}
	return c;
}

void api_close(void *ctx)
{
	struct api_ctx *c = ctx;

	if (!c)
		return;
	cache_sched_free(&c->scheds);
	cache_key_free(&c->keys);
	store_close(c->store);
	if (c->own_tzc)
		tz_cache_free(c->own_tzc);
	ics_shutdown();
	free(c);
}

/*
 * The ?token= of a route that takes one, when no Authorization header came:
 * the header, when present, is the only credential looked at.
 */
static const char *route_token(const struct api_route *r, struct http_req *req)
{
	if (!(r->flags & API_ROUTE_QUERY_TOKEN) || (req->authorization && *req->authorization))
		return NULL;
	return http_query_peek(req, "token");
}

/*
 * Tenancy by route: a key bound to providers gets 403 from a route for
 * unbound keys only, and 404 ("Provider not found.", as for an unknown one)
 * from a path under /api/providers/{id} naming a provider it is not bound
 * to. Resources that name their provider only once read (an appointment, a
 * hold, a body's providerId) are checked where they are read, by the same
 * api_provider_visible.
 */
static int tenancy(const struct http_route *route, const struct api_route *r,
		   const struct http_req *req, struct err *e)
{
	static const char prefix[] = "/api/providers/*";

	if (req->principal.nproviders == 0)
		return 0;
	if (r->flags & API_ROUTE_UNBOUND)
		return err_set(e, 403, "FORBIDDEN", "A key bound to providers cannot call this;"
			       " it needs an unbound key.");
	if (strncmp(route->pattern, prefix, sizeof prefix - 1) == 0 &&
	    (route->pattern[sizeof prefix - 1] == '/' || !route->pattern[sizeof prefix - 1]))
		return api_provider_check(req, req->path_id, e);
	return 0;
}

/* Runs the chain; 0 with resp filled, or -1 with e set. */
static int run(struct api_ctx *c, const struct http_route *route, struct http_req *req,
	       struct http_resp *resp, struct err *e)
{
	const struct api_route *r = route->data;
	int rc;

	if (api_authenticate(c, req, route_token(r, req), r->scope, e) ||
	    tenancy(route, r, req, e) ||
	    (r->takes_json && !(r->takes_json == API_BODY_OPTIONAL && req->body_len == 0 &&
				!req->body_too_large) && http_decode_json_body(req, e)) ||
	    http_parse_query(req, e))
		return -1;
	rc = r->flags & API_ROUTE_IDEMPOTENT ? api_idempotent(c, req, resp, r->fn, e)
					     : r->fn(c, req, resp, e);
	return rc || err_is_set(e) ? -1 : 0;
}

/* The database's errors and reconnects since the last request, into the pool's metrics. */
static void count_db(struct api_ctx *c)
{
	uint64_t errors = store_errors(c->store), reconnects = store_reconnects(c->store);

	metrics_db(&c->shm->metrics, errors - c->db_errors, reconnects - c->db_reconnects);
	c->db_errors = errors;
	c->db_reconnects = reconnects;
}

void api_dispatch(void *ctx, struct http_req *req, struct http_resp *resp)
{
	struct api_ctx *c = ctx;
	const struct http_route *found;
	const struct api_route *r = NULL;
	char allow[HTTP_ALLOW_MAX];
	struct err e;

	err_init(&e);
	found = http_route_find(api_routes, api_nroutes, req, allow);
	if (found) {
		r = found->data;
		if (run(c, found, req, resp, &e)) {
			store_rollback(c->store);
			http_resp_error(req, resp, &e);
		}
	} else if (allow[0]) {
		err_set(&e, 405, "METHOD_NOT_ALLOWED", "Method %s is not allowed here.",
			strlen(req->method) < 16 ? req->method : "given");
		e.allow = arena_strdup(req->arena, allow);
		http_resp_error(req, resp, &e);
	} else {
		ERR_NOT_FOUND(&e, "Route not found.");
		http_resp_error(req, resp, &e);
	}
	err_clear(&e);
	store_rollback(c->store); /* a handler never leaves a transaction open */
	if (r && r->flags & API_ROUTE_BOOKS)
		metrics_booking(&c->shm->metrics, resp->status, resp->replayed);
	count_db(c);
}
