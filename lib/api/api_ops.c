/*
 * api_ops.c - GET /health (database reachable?), GET /status (the pool's
 * scoreboard, as php-fpm's status page) and GET /metrics (Prometheus text
 * for the whole pool, plus the relays' backlog and deliveries from the
 * database). None needs a key; nginx exposes /status and /metrics to
 * loopback only.
 */
#include "api/api.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/routes.h"
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

/* What the relays left in the database; without the database, only "down". */
static void api_metrics_relay(struct api_ctx *c, struct http_req *req, FILE *out)
{
	struct delivery_totals t;
	int64_t events = 0, deliveries = 0;
	struct err db;
	int up;

	err_init(&db);
	up = store_outbox_backlog(c->store, req->arena, &events, &deliveries, &db) == 0 &&
	     store_delivery_totals(c->store, req->arena, &t, &db) == 0;
	err_clear(&db);
	fprintf(out, "# HELP appointd_database_up Whether this scrape could read the database.\n"
		"# TYPE appointd_database_up gauge\n"
		"appointd_database_up %d\n", up);
	if (!up)
		return;
	fprintf(out, "# HELP appointd_outbox_backlog Committed events not yet handed to the subscriptions.\n"
		"# TYPE appointd_outbox_backlog gauge\n"
		"appointd_outbox_backlog %" PRId64 "\n"
		"# HELP appointd_webhook_deliveries_pending Webhook deliveries waiting for a (re)try.\n"
		"# TYPE appointd_webhook_deliveries_pending gauge\n"
		"appointd_webhook_deliveries_pending %" PRId64 "\n"
		"# HELP appointd_webhook_deliveries_total Delivery attempts the relays recorded, by outcome.\n"
		"# TYPE appointd_webhook_deliveries_total counter\n"
		"appointd_webhook_deliveries_total{outcome=\"delivered\"} %" PRId64 "\n"
		"appointd_webhook_deliveries_total{outcome=\"retried\"} %" PRId64 "\n"
		"appointd_webhook_deliveries_total{outcome=\"failed\"} %" PRId64 "\n",
		events, deliveries, t.delivered, t.retried, t.failed);
}

int api_metrics(struct api_ctx *c, struct http_req *req, struct http_resp *resp, struct err *e)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out)
		return ERR_INTERNAL(e, "Internal server error.");
	metrics_render(&c->shm->metrics, api_routes, api_nroutes, out);
	pool_status_metrics(c->shm, out);
	api_metrics_relay(c, req, out);
	if (fclose(out) != 0 || !text) {
		free(text);
		return ERR_INTERNAL(e, "Internal server error.");
	}
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
	resp->raw = arena_strdup(req->arena, text);
	free(text);
	return 0;
}
