/*
 * router.h - from method and path to handler, and from handler result or
 * struct err to the response. The route table in router.c is the one place
 * to find any URL's code.
 */
#ifndef APPOINTD_ROUTER_H
#define APPOINTD_ROUTER_H

#include "api/api.h"
#include "http/http.h"

/* Routes, validates and runs the request; always fills resp. */
void router_dispatch(struct api_ctx *c, struct http_req *req, struct http_resp *resp);

/*
 * For metrics: route id 1.. (struct http_req's route_id) as its pattern with
 * {id} for each path id, and its method; id 0 is "unmatched" with method
 * "*"; NULL past the table.
 */
const char *router_route_label(int route, const char **method);
/* Whether the route id is POST /api/appointments (counted by outcome). */
int router_route_books(int route);

#endif
