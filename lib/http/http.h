/*
 * http.h - one HTTP exchange as the handlers see it, independent of FastCGI.
 *
 * The worker (worker.c) fills a struct http_req from the FastCGI params and
 * body, the router (router.c) finds the handler, checks method, media type
 * and JSON, and turns the handler's result or struct err into the response.
 */
#ifndef APPOINTD_HTTP_H
#define APPOINTD_HTTP_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"

#define HTTP_MAX_BODY 65536
#define HTTP_MAX_JSON_DEPTH 16
#define HTTP_MAX_QUERY_PARAMS 32
#define HTTP_MAX_QUERY 8192          /* bytes, as nginx's request line (8 KiB) */
#define HTTP_MAX_PARAM_NAME 64       /* characters of a name an error may quote */

struct http_param {
	const char *key, *value;
};

struct http_req {
	struct arena *arena;
	const char *method;
	const char *path;
	const char *query;
	const char *content_type;
	const char *request_id;
	const char *authorization;
	const char *idempotency_key;
	const char *if_none_match;
	const char *body;
	size_t body_len;
	int body_too_large;
	cJSON *json;                 /* parsed body, for routes that take one */
	const char *path_id;         /* the {id} segment of the route, if any */
	const char *path_id2;        /* a second one (/api/webhooks/{id}/deliveries/{id}/retry) */
	const char *route;           /* route pattern, for logs */
	int route_id;                /* 1.. the route table's row, 0 unmatched (metrics) */
	int nparams;
	struct http_param params[HTTP_MAX_QUERY_PARAMS];
	int64_t now_ms;
};

struct http_resp {
	int status;
	cJSON *json;                 /* body to encode, owned by the response */
	const char *raw;             /* or a ready body (arena) */
	const char *content_type;
	char headers[512];           /* extra "Name: value\r\n" lines */
};

/*
 * Splits and percent-decodes the query string into req->params. A repeated
 * parameter is a 422 naming it (at "query" when the name is not 1 to
 * HTTP_MAX_PARAM_NAME printable characters); a malformed one, more than
 * HTTP_MAX_QUERY_PARAMS or over HTTP_MAX_QUERY bytes is a 422 at "query".
 */
int http_parse_query(struct http_req *req, struct err *e);
/* The decoded value of a query parameter, or NULL. */
const char *http_query(const struct http_req *req, const char *key);
/*
 * The decoded value of the first `key` parameter in the raw query string,
 * before http_parse_query has judged it (authentication reads ?token= before
 * any query validation); NULL when absent or badly escaped.
 */
const char *http_query_peek(struct http_req *req, const char *key);
void http_resp_header(struct http_resp *resp, const char *name, const char *value);
/*
 * Fills resp with the contract's error body for e (a 5xx other than 503
 * becomes a bare 500) and its headers: Allow, Retry-After, WWW-Authenticate.
 */
void http_resp_error(struct http_req *req, struct http_resp *resp, const struct err *e);

#endif
