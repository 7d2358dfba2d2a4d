/*
 * http.h - one HTTP exchange as the handlers see it, independent of FastCGI
 * and of any application.
 *
 * The worker (worker.c) fills a struct http_req from the FastCGI params and
 * body and hands it to the application's dispatch function, which fills the
 * struct http_resp; the worker writes and logs it. What a request learns on
 * its way (its route, its caller, whether its answer was replayed) travels
 * in the request and the response, never in worker state.
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

/* Who is calling, as the application's authentication found out. */
struct http_principal {
	const char *key_id;          /* NULL: anonymous */
	int scope;                   /* the application's scope value (0: none) */
	const char *const *providers; /* the providers the key is bound to (canonical ids) */
	int nproviders;              /* 0: unbound, every provider its scope allows */
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
	struct http_principal principal;
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
	int replayed;                /* the answer is a stored one, replayed (Idempotency-Key) */
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
/* Adds "name: value" to resp's headers (dropped when they are full). */
void http_resp_header(struct http_resp *resp, const char *name, const char *value);
/*
 * Fills resp with the contract's error body for e (a 5xx other than 503
 * becomes a bare 500) and its headers: Allow, Retry-After, WWW-Authenticate.
 */
void http_resp_error(struct http_req *req, struct http_resp *resp, const struct err *e);
/*
 * The body checks of routes that take JSON: 413, 415, and 400 for bytes that
 * are not UTF-8, nest deeper than HTTP_MAX_JSON_DEPTH, or are not one JSON
 * value. Fills req->json (freed with the arena). The body must be writable:
 * an escaped NUL (\u0000) is rewritten in place as \u0001.
 */
int http_decode_json_body(struct http_req *req, struct err *e);

#endif
