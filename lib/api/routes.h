/*
 * routes.h - the API's route table (routes.c): every URL the service
 * answers, the handler that answers it, and the policy the dispatch chain
 * (dispatch.c) applies before the handler: the key's scope, a JSON body,
 * Idempotency-Key, ?token=, tenancy (a path under /api/providers/{id} is
 * 404 to a key not bound to that provider; an API_ROUTE_UNBOUND route is
 * 403 to every bound key).
 */
#ifndef APPOINTD_ROUTES_H
#define APPOINTD_ROUTES_H

#include <stddef.h>

#include "api/api.h"
#include "http/route.h"

#define API_ROUTE_IDEMPOTENT 1    /* honours Idempotency-Key */
#define API_ROUTE_QUERY_TOKEN 2   /* also takes the key as ?token= (calendar clients send no headers) */
#define API_ROUTE_BOOKS 4         /* counted by outcome in appointd_bookings_total */
#define API_ROUTE_UNBOUND 8       /* for unbound keys only: 403 to a key bound to providers */
#define API_BODY_OPTIONAL 2       /* takes_json: a JSON body when one was sent */

/* What a row of the table means to the API: http_route's data. */
struct api_route {
	api_handler fn;
	int takes_json;               /* 0 no body; 1 a JSON body; API_BODY_OPTIONAL */
	int scope;                    /* enum apikey_scope the caller's key needs */
	int flags;                    /* API_ROUTE_* */
};

/* The table, in match order; route id i + 1 (struct http_req's route_id) is row i. */
extern const struct http_route api_routes[];
extern const size_t api_nroutes;

#endif
