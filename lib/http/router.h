/*
 * router.h - from method and path to handler, and from handler result or
 * struct err to the response. The route table in router.c is the one place
 * to find any URL's code.
 */
#ifndef APPOINTD_ROUTER_H
#define APPOINTD_ROUTER_H

#include "api/api.h"
#include "http/http.h"

/* Room for the Allow list of any path: "GET, POST, PUT, DELETE". */
#define ROUTER_ALLOW_MAX 64

struct route;

/* Routes, validates and runs the request; always fills resp. */
void router_dispatch(struct api_ctx *c, struct http_req *req, struct http_resp *resp);
/*
 * The route of req->method and req->path: fills req->route, path_id and
 * path_id2 (arena copies of the path's {id} segments, never empty, never
 * holding '/'). NULL when none matches; allow then lists the methods the
 * path has ("" for an unknown path).
 */
const struct route *router_find(struct http_req *req, char allow[ROUTER_ALLOW_MAX]);
/*
 * The body checks of routes that take JSON: 413, 415, and 400 for bytes that
 * are not UTF-8, nest deeper than HTTP_MAX_JSON_DEPTH, or are not one JSON
 * value. Fills req->json (freed with the arena). The body must be writable:
 * an escaped NUL (\u0000) is rewritten in place as \u0001.
 */
int router_decode_body(struct http_req *req, struct err *e);

/*
 * For metrics: route id 1.. (struct http_req's route_id) as its pattern with
 * {id} for each path id, and its method; id 0 is "unmatched" with method
 * "*"; NULL past the table.
 */
const char *router_route_label(int route, const char **method);
/* Whether the route id is POST /api/appointments (counted by outcome). */
int router_route_books(int route);

#endif
