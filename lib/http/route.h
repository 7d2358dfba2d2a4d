/*
 * route.h - a matcher over an application's route table: from method and
 * path to a row {method, pattern, data}, with the path's {id} segments and
 * the Allow list of a path known under other methods. It knows nothing of
 * what a row's data means; the application's table (api/routes.c) does.
 */
#ifndef APPOINTD_ROUTE_H
#define APPOINTD_ROUTE_H

#include <stddef.h>

#include "http/http.h"

/* Room for the Allow list of any path: "GET, POST, PUT, DELETE". */
#define HTTP_ALLOW_MAX 64
/* Room for a route's label: its pattern with "{id}" for each '*'. */
#define HTTP_ROUTE_LABEL_MAX 80

struct http_route {
	const char *method;
	const char *pattern;         /* '*' is one path segment, the {id} */
	const void *data;            /* the application's, never read here */
};

/*
 * The row of routes[0..n) for req->method and req->path: fills req->route,
 * req->route_id (its index + 1) and path_id, path_id2 (arena copies of the
 * path's {id} segments, never empty, never holding '/'). NULL when none
 * matches: req->route is "unmatched", req->route_id 0, and allow lists the
 * methods the path has ("" for an unknown path).
 *
 *   const struct http_route *r = http_route_find(routes, n, req, allow);
 *   if (!r && allow[0]) ... 405 with Allow: allow
 */
const struct http_route *http_route_find(const struct http_route *routes, size_t n,
					 struct http_req *req, char allow[HTTP_ALLOW_MAX]);
/* The pattern as a label, "{id}" for each '*' ("/api/appointments/{id}"). */
void http_route_label(const char *pattern, char out[HTTP_ROUTE_LABEL_MAX]);

#endif
