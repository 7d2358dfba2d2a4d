/*
 * api_ops.c - GET /health (database reachable?) and GET /status (the pool's
 * scoreboard, as php-fpm's status page). Neither needs a key; nginx exposes
 * /status to loopback only.
 */
#include "api/api.h"

#include <stdlib.h>

#include "store/store.h"

int api_health(struct api_ctx *c, struct http_req *req, struct http_resp *resp, struct err *e)
{
	struct err db;
	int up;

	(void)e;
	err_init(&db);
	up = store_ping(c->store, &db) == 0;
	err_clear(&db);
	resp->status = up ? 200 : 503;
	if (!up)
		http_resp_header(resp, "Retry-After", "1");
	resp->json = cJSON_CreateObject();
	cJSON_AddStringToObject(resp->json, "status", up ? "UP" : "DOWN");
	api_add_instant(resp->json, "timestamp", req->now_ms);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(resp->json, "checks"), "database",
				up ? "UP" : "DOWN");
	return 0;
}

int api_status(struct api_ctx *c, struct http_req *req, struct http_resp *resp, struct err *e)
{
	char *text = pool_status_json(c->shm);

	(void)e;
	resp->status = 200;
	resp->raw = arena_strdup(req->arena, text ? text : "{}");
	free(text);
	return 0;
}
