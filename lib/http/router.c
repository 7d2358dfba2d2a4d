/*
 * router.c - the route table and the checks every route shares: 404 for an
 * unknown path, 405 with Allow for a known path and wrong method, 413, 415
 * and 400 for bodies, 422 for a broken query string. Any error a handler
 * returns rolls its transaction back before the response is written.
 */
#include "http/router.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/apikey.h"
#include "core/utf8.h"
#include "http/metrics.h"
#include "store/store.h"

struct route {
	const char *method;
	const char *pattern; /* '*' is one path segment, the {id} */
	api_handler fn;
	int takes_json;
	int scope;           /* enum apikey_scope the caller's key needs */
	int flags;           /* ROUTE_* */
};

#define OPEN APIKEY_NONE
#define READ APIKEY_READ
#define BOOKING APIKEY_BOOKING
#define ADMIN APIKEY_ADMIN

#define ROUTE_IDEMPOTENT 1   /* honours Idempotency-Key */
#define ROUTE_QUERY_TOKEN 2  /* also takes the key as ?token= (calendar clients send no headers) */

static const struct route routes[] = {
	{ "GET", "/health", api_health, 0, OPEN, 0 },
	{ "GET", "/status", api_status, 0, OPEN, 0 }, /* nginx: loopback only */
	{ "GET", "/metrics", api_metrics, 0, OPEN, 0 }, /* nginx: loopback only */
	{ "POST", "/api/providers/*/schedule", api_provider_schedule, 1, ADMIN, 0 },
	{ "GET", "/api/providers/*", api_provider_get, 0, READ, 0 },
	{ "GET", "/api/providers/*/availability", api_availability, 0, READ, 0 },
	{ "GET", "/api/providers/*/calendar.ics", api_provider_calendar, 0, READ, ROUTE_QUERY_TOKEN },
	{ "POST", "/api/appointments", api_appt_create, 1, BOOKING, ROUTE_IDEMPOTENT },
	{ "GET", "/api/appointments", api_appt_list, 0, READ, 0 },
	{ "GET", "/api/appointments/*", api_appt_get, 0, READ, 0 },
	{ "PUT", "/api/appointments/*", api_appt_reschedule, 1, BOOKING, ROUTE_IDEMPOTENT },
	{ "DELETE", "/api/appointments/*", api_appt_cancel, 0, BOOKING, ROUTE_IDEMPOTENT },
	{ "GET", "/api/events", api_events, 0, ADMIN, 0 },
	{ "POST", "/api/webhooks", api_webhook_create, 1, ADMIN, 0 },
	{ "GET", "/api/webhooks", api_webhook_list, 0, ADMIN, 0 },
	{ "GET", "/api/webhooks/*", api_webhook_get, 0, ADMIN, 0 },
	{ "DELETE", "/api/webhooks/*", api_webhook_delete, 0, ADMIN, 0 },
	{ "GET", "/api/webhooks/*/deliveries", api_webhook_deliveries, 0, ADMIN, 0 },
	{ "POST", "/api/webhooks/*/deliveries/*/retry", api_webhook_retry, 0, ADMIN, 0 },
};
_Static_assert(sizeof routes / sizeof routes[0] < METRICS_ROUTES,
	       "every route needs a row in struct metrics");

/* Matches path against pattern; on success id[0], id[1] are the '*' segments (arena copies). */
static int match(struct arena *a, const char *pattern, const char *path, const char *id[2])
{
	const char *p = pattern, *s = path;
	int nid = 0;

	id[0] = id[1] = NULL;
	while (*p && *s) {
		if (*p == '*') {
			const char *end = strchr(s, '/');
			size_t n = end ? (size_t)(end - s) : strlen(s);

			if (n == 0)
				return 0;
			if (nid < 2)
				id[nid++] = arena_strndup(a, s, n);
			s += n;
			p++;
		} else if (*p++ != *s++) {
			return 0;
		}
	}
	return *p == '\0' && *s == '\0';
}

static int is_json_type(const char *ct)
{
	size_t n;

	if (!ct)
		return 0;
	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; ");
	return n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0;
}

/*
 * One pass over the raw body before cJSON sees it: rejects nesting deeper
 * than HTTP_MAX_JSON_DEPTH, and turns the escape \u0000 into \u0001.
 * cJSON keeps strings NUL-terminated, so "a\u0000b" would silently become
 * "a"; as U+0001 it is a control character, which every field refuses with
 * its own path.
 */
static int json_prescan(char *s, size_t n)
{
	int depth = 0, in_str = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (in_str) {
			if (ch == '\\') {
				if (i + 5 < n && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
					s[i + 5] = '1';
				i++;
			} else if (ch == '"')
				in_str = 0;
		} else if (ch == '"') {
			in_str = 1;
		} else if (ch == '{' || ch == '[') {
			if (++depth > HTTP_MAX_JSON_DEPTH)
				return 1;
		} else if (ch == '}' || ch == ']') {
			depth--;
		}
	}
	return 0;
}

static void free_json(void *p)
{
	cJSON_Delete(p);
}

int router_decode_body(struct http_req *req, struct err *e)
{
	const char *end = NULL;

	if (req->body_too_large)
		return err_set(e, 413, "PAYLOAD_TOO_LARGE", "The request body exceeds %d bytes.",
			       HTTP_MAX_BODY);
	if (!is_json_type(req->content_type))
		return err_set(e, 415, "UNSUPPORTED_MEDIA_TYPE",
			       "The request body must be sent as application/json.");
	if (!utf8_valid(req->body, req->body_len))
		return ERR_BAD_REQUEST(e, "Malformed JSON: the body is not valid UTF-8.");
	if (json_prescan((char *)req->body, req->body_len))
		return ERR_BAD_REQUEST(e, "Malformed JSON: nested deeper than %d levels.",
				       HTTP_MAX_JSON_DEPTH);
	req->json = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
	if (!req->json)
		return ERR_BAD_REQUEST(e, "Malformed JSON in the request body.");
	arena_cleanup(req->arena, free_json, req->json);
	/* Only white space may follow the value. */
	while (end && end < req->body + req->body_len &&
	       (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (end != req->body + req->body_len)
		return ERR_BAD_REQUEST(e, "Malformed JSON in the request body.");
	return 0;
}

void http_resp_error(struct http_req *req, struct http_resp *resp, const struct err *e)
{
	struct err copy = *e;
	char buf[16];

	if (copy.status >= 500 && copy.status != 503) {
		/* The body never leaks internals. */
		copy.status = 500;
		copy.code = "INTERNAL_SERVER_ERROR";
		snprintf(copy.message, sizeof copy.message, "Internal server error.");
		copy.details = NULL;
	}
	resp->status = copy.status;
	resp->content_type = NULL; /* errors are always the JSON body */
	resp->raw = NULL;
	if (resp->json)
		cJSON_Delete(resp->json);
	resp->json = NULL;
	{
		char *body = err_to_json(&copy);

		resp->raw = arena_strdup(req->arena, body);
		cJSON_free(body);
	}
	if (copy.allow)
		http_resp_header(resp, "Allow", copy.allow);
	if (copy.retry_after) {
		snprintf(buf, sizeof buf, "%d", copy.retry_after);
		http_resp_header(resp, "Retry-After", buf);
	}
	if (copy.status == 401)
		http_resp_header(resp, "WWW-Authenticate", "Bearer");
}

const char *router_route_label(int route, const char **method)
{
	static char labels[sizeof routes / sizeof routes[0]][80];
	size_t i = (size_t)route - 1;

	if (route == 0) {
		*method = "*";
		return "unmatched";
	}
	if (route < 0 || i >= sizeof routes / sizeof routes[0] || route >= METRICS_ROUTES)
		return NULL;
	if (!labels[i][0]) {
		char *o = labels[i];
		const char *p;

		for (p = routes[i].pattern; *p && o < labels[i] + sizeof labels[i] - 5; p++) {
			if (*p == '*')
				o += sprintf(o, "{id}");
			else
				*o++ = *p;
		}
		*o = '\0';
	}
	*method = routes[i].method;
	return labels[i];
}

int router_route_books(int route)
{
	return route > 0 && (size_t)route <= sizeof routes / sizeof routes[0] &&
	       routes[route - 1].fn == api_appt_create;
}

/*
 * The ?token= of a route that takes one, when no Authorization header came:
 * the header, when present, is the only credential looked at.
 */
static const char *route_token(const struct route *r, struct http_req *req)
{
	if (!(r->flags & ROUTE_QUERY_TOKEN) || (req->authorization && *req->authorization))
		return NULL;
	return http_query_peek(req, "token");
}

const struct route *router_find(struct http_req *req, char allow[ROUTER_ALLOW_MAX])
{
	size_t i;

	allow[0] = '\0';
	for (i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const char *id[2];

		if (!match(req->arena, routes[i].pattern, req->path, id))
			continue;
		if (strcmp(routes[i].method, req->method) == 0) {
			req->path_id = id[0];
			req->path_id2 = id[1];
			req->route = routes[i].pattern;
			req->route_id = (int)i + 1;
			return &routes[i];
		}
		if (!strstr(allow, routes[i].method)) {
			if (allow[0])
				strcat(allow, ", ");
			strcat(allow, routes[i].method);
		}
	}
	req->route = "unmatched";
	req->route_id = 0;
	return NULL;
}

void router_dispatch(struct api_ctx *c, struct http_req *req, struct http_resp *resp)
{
	const struct route *found;
	char allow[ROUTER_ALLOW_MAX];
	struct err e;

	err_init(&e);
	found = router_find(req, allow);
	if (!found) {
		if (allow[0]) {
			err_set(&e, 405, "METHOD_NOT_ALLOWED", "Method %s is not allowed here.",
				strlen(req->method) < 16 ? req->method : "given");
			e.allow = arena_strdup(req->arena, allow);
		} else {
			ERR_NOT_FOUND(&e, "Route not found.");
		}
	} else if (api_authenticate(c, req, route_token(found, req), found->scope, &e) == 0 &&
		   (!found->takes_json || router_decode_body(req, &e) == 0) &&
		   http_parse_query(req, &e) == 0) {
		int rc = found->flags & ROUTE_IDEMPOTENT ? api_idempotent(c, req, resp, found->fn, &e)
							 : found->fn(c, req, resp, &e);

		if (rc == 0 && !err_is_set(&e)) {
			err_clear(&e);
			return;
		}
	}
	store_rollback(c->store);
	http_resp_error(req, resp, &e);
	err_clear(&e);
}
