/*
 * worker.c - one FastCGI worker process.
 *
 * It owns the application's state (struct worker_app: for appointd a
 * database connection and caches) and one arena that every request
 * allocates from and that is reset after the response, so memory use is
 * flat however many requests it serves. A graceful stop (SIGTERM) lets the
 * request in hand finish.
 */
#include "http/worker.h"

#include <fcgiapp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/daemon.h"
#include "engine/civil.h"

static const char *param(FCGX_Request *r, const char *name)
{
	return FCGX_GetParam(name, r->envp);
}

static void read_body(FCGX_Request *r, struct http_req *req)
{
	const char *cl = param(r, "CONTENT_LENGTH");
	long declared = cl && *cl ? strtol(cl, NULL, 10) : 0;
	char *buf;
	int got = 0, n;

	req->body = "";
	req->body_len = 0;
	if (declared <= 0)
		return;
	if (declared > HTTP_MAX_BODY) {
		req->body_too_large = 1;
		return;
	}
	buf = arena_alloc(req->arena, (size_t)declared + 1);
	while (got < declared && (n = FCGX_GetStr(buf + got, (int)declared - got, r->in)) > 0)
		got += n;
	buf[got] = '\0';
	req->body = buf;
	req->body_len = (size_t)got;
}

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

static void write_response(FCGX_Request *r, struct http_req *req, struct http_resp *resp)
{
	const char *body = resp->raw;
	char *head;

	if (resp->json) {
		char *text = cJSON_PrintUnformatted(resp->json);

		body = arena_strdup(req->arena, text ? text : "null");
		cJSON_free(text);
		cJSON_Delete(resp->json);
		resp->json = NULL;
	}
	if (!body)
		body = "";
	/*
	 * libfcgi's own printf lacks %zu and friends: format here. A 304 has no
	 * body, and its Content-Length would have to be the 200's (RFC 9110 8.6).
	 */
	head = arena_printf(req->arena, "Status: %d %s\r\nContent-Type: %s\r\n%s%s\r\n",
			    resp->status, reason_phrase(resp->status),
			    resp->content_type ? resp->content_type : "application/json; charset=utf-8",
			    resp->status == 304 ? "" :
			    arena_printf(req->arena, "Content-Length: %zu\r\n", strlen(body)),
			    resp->headers);
	FCGX_PutStr(head, (int)strlen(head), r->out);
	FCGX_PutStr(body, (int)strlen(body), r->out);
}

/* One JSON line per request, written with a single write(2) so lines never interleave. */
static void access_log(const struct http_req *req, const struct http_resp *resp, double ms)
{
	char line[1024], at[32];
	cJSON *o = cJSON_CreateObject();
	char *text;
	int n;

	civil_format_instant(req->now_ms, at);
	cJSON_AddStringToObject(o, "time", at);
	cJSON_AddStringToObject(o, "requestId", req->request_id ? req->request_id : "");
	cJSON_AddStringToObject(o, "method", req->method);
	cJSON_AddStringToObject(o, "route", req->route ? req->route : "unmatched");
	cJSON_AddNumberToObject(o, "status", resp->status);
	cJSON_AddNumberToObject(o, "durationMs", (double)(int64_t)(ms * 1000) / 1000.0);
	cJSON_AddNumberToObject(o, "pid", getpid());
	text = cJSON_PrintUnformatted(o);
	n = snprintf(line, sizeof line, "%s\n", text ? text : "{}");
	if (n > 0 && (size_t)n < sizeof line && write(2, line, (size_t)n) < 0) {
		/* Nowhere left to report a logging failure. */
	}
	cJSON_free(text);
	cJSON_Delete(o);
}

/* Serves one request; returns its duration in milliseconds. */
static int64_t serve(const struct worker_app *app, void *state, FCGX_Request *r, struct arena *a,
		     struct pool_shared *shm, int slot)
{
	struct http_req req;
	struct http_resp resp;
	struct timespec start, end;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &start);
	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	req.arena = a;
	req.now_ms = daemon_clock_ms(CLOCK_REALTIME);
	req.method = param(r, "REQUEST_METHOD");
	req.path = param(r, "DOCUMENT_URI");
	if (!req.path)
		req.path = param(r, "SCRIPT_NAME");
	req.method = req.method ? req.method : "GET";
	req.path = req.path ? req.path : "/";
	req.query = param(r, "QUERY_STRING");
	req.content_type = param(r, "CONTENT_TYPE");
	req.request_id = param(r, "REQUEST_ID");
	req.authorization = param(r, "HTTP_AUTHORIZATION");
	req.idempotency_key = param(r, "HTTP_IDEMPOTENCY_KEY");
	req.if_none_match = param(r, "HTTP_IF_NONE_MATCH");
	read_body(r, &req);
	pool_slot_busy(shm, slot, req.path);
	app->dispatch(state, &req, &resp);
	write_response(r, &req, &resp);
	clock_gettime(CLOCK_MONOTONIC, &end);
	ms = (double)(end.tv_sec - start.tv_sec) * 1000.0 + (double)(end.tv_nsec - start.tv_nsec) / 1e6;
	metrics_request(&shm->metrics, req.route_id, resp.status, (int64_t)(ms * 1000.0));
	access_log(&req, &resp, ms);
	return (int64_t)ms;
}

int worker_main(int listen_fd, struct pool_shared *shm, int slot, const struct config *cfg,
		void *arg)
{
	const struct worker_app *app = arg;
	void *state = app->open(cfg, shm, app->arg);
	FCGX_Request r;
	struct arena a;
	long served = 0;
	int rc;

	if (!state) {
		daemon_log_msg("error", "worker_init_failed", "the application could not start");
		return 1;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, listen_fd, 0) != 0) {
		daemon_log_msg("error", "worker_init_failed", "FCGX_Init() failed");
		app->close(state);
		return 1;
	}
	arena_init(&a, 64 * 1024);
	/* The first call also tells the master this worker is ready (a reload waits for it). */
	while (!(cfg->max_requests > 0 && served >= cfg->max_requests) &&
	       pool_worker_accept(listen_fd, &r) == 0) {
		int64_t ms = serve(app, state, &r, &a, shm, slot);

		/* Flush before going idle: a deferred SIGTERM is delivered in pool_slot_idle. */
		FCGX_Finish_r(&r);
		pool_slot_idle(shm, slot, ms, cfg->slow_request_ms);
		arena_reset(&a);
		served++;
	}
	/* Recycled or asked to stop is a clean exit; an accept that failed is not (the master backs off). */
	rc = (cfg->max_requests > 0 && served >= cfg->max_requests) || pool_worker_stopping() ? 0 : 1;
	arena_destroy(&a);
	FCGX_Free(&r, 1);
	app->close(state);
	return rc;
}
