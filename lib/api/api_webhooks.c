/*
 * api_webhooks.c - /api/webhooks: subscriptions, their deliveries log, and
 * the retry of a failed delivery.
 *
 * A subscription's secret is made here (events/sign.c) and shown only in the
 * answer to the POST that created it. Deliveries are made by the relay
 * (app/appointd-relay.c); this module only reads them and puts a failed one
 * back in the queue, in one transaction that also wakes the relays.
 */
#include "api/api.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/ids.h"
#include "core/utf8.h"
#include "events/addr.h"
#include "events/sign.h"
#include "store/store.h"

#define WEBHOOK_URL_MAX 2048
#define WEBHOOK_DESCRIPTION_MAX 500
#define DELIVERIES_DEFAULT_LIMIT 100
#define DELIVERIES_MAX_LIMIT 500

static const char *const event_types[] = {
	"APPOINTMENT_CONFIRMED", "APPOINTMENT_RESCHEDULED", "APPOINTMENT_CANCELLED",
	"PROVIDER_SCHEDULE_UPDATED", "SERVICE_UPDATED", "APPOINTMENT_REQUESTED",
	"APPOINTMENT_DECLINED", "APPOINTMENT_ATTENDANCE_RECORDED",
};
#define N_EVENT_TYPES (sizeof event_types / sizeof event_types[0])

static int known_type(const char *t)
{
	size_t i;

	for (i = 0; i < N_EVENT_TYPES; i++)
		if (strcmp(t, event_types[i]) == 0)
			return (int)i;
	return -1;
}

static cJSON *webhook_json(const struct webhook *w)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *types = cJSON_Parse(w->event_types_json);

	cJSON_AddStringToObject(o, "id", w->id);
	cJSON_AddStringToObject(o, "url", w->url);
	cJSON_AddItemToObject(o, "eventTypes", types ? types : cJSON_CreateNull());
	if (w->description)
		cJSON_AddStringToObject(o, "description", w->description);
	else
		cJSON_AddNullToObject(o, "description");
	cJSON_AddBoolToObject(o, "active", w->active);
	api_add_instant(o, "createdAt", w->created_ms);
	return o;
}

static void add_instant_or_null(cJSON *o, const char *key, int64_t ms)
{
	if (ms == INT64_MIN)
		cJSON_AddNullToObject(o, key);
	else
		api_add_instant(o, key, ms);
}

static cJSON *delivery_json(const struct delivery *d)
{
	cJSON *o = cJSON_CreateObject();
	char event_id[48];

	snprintf(event_id, sizeof event_id, "evt_%s", d->event_id);
	cJSON_AddStringToObject(o, "id", d->id);
	cJSON_AddNumberToObject(o, "sequence", (double)d->seq);
	cJSON_AddStringToObject(o, "eventId", event_id);
	cJSON_AddStringToObject(o, "eventType", d->event_type);
	cJSON_AddStringToObject(o, "status", d->status);
	cJSON_AddNumberToObject(o, "attempts", d->attempts);
	if (d->last_status_code >= 0)
		cJSON_AddNumberToObject(o, "lastStatusCode", d->last_status_code);
	else
		cJSON_AddNullToObject(o, "lastStatusCode");
	if (d->last_error)
		cJSON_AddStringToObject(o, "lastError", d->last_error);
	else
		cJSON_AddNullToObject(o, "lastError");
	add_instant_or_null(o, "nextAttemptAt", d->next_attempt_ms);
	add_instant_or_null(o, "deliveredAt", d->delivered_ms);
	return o;
}

static int webhook_id(const char *segment, char out[ID_UUID_LEN + 1], struct err *e)
{
	if (!segment || !id_uuid_parse(segment, out))
		return ERR_NOT_FOUND(e, "Webhook not found.");
	return 0;
}

/* Printable ASCII only: a URL carries anything else percent-encoded. */
static int ascii_printable(const char *s)
{
	for (; *s; s++)
		if (*s <= ' ' || *s > '~')
			return 0;
	return 1;
}

/* http or https, with a host, parsed by libcurl (the relay's own parser). */
static void check_url(int allow_private, const cJSON *v, struct err *e)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	const char *why = NULL;

	if (!cJSON_IsString(v)) {
		err_field(e, "url", v ? "must be a string" : "is required");
		return;
	}
	if (strlen(v->valuestring) > WEBHOOK_URL_MAX) {
		err_field(e, "url", "must be at most %d bytes", WEBHOOK_URL_MAX);
		return;
	}
	if (!ascii_printable(v->valuestring)) {
		err_field(e, "url", "must be printable ASCII without spaces (percent-encode the rest)");
		return;
	}
	u = curl_url();
	if (!u || curl_url_set(u, CURLUPART_URL, v->valuestring, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		why = "must be an absolute http or https URL";
	else if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		why = "must use http or https";
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host[0])
		why = "must name a host";
	else if (!allow_private && addr_host_is_private(host))
		why = "must not point to a loopback or private address (webhook_allow_private = 0)";
	if (why)
		err_field(e, "url", "%s", why);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
}

/* NULL (every type) or a PostgreSQL array literal of distinct known types. */
static const char *check_types(struct arena *a, const cJSON *v, struct err *e)
{
	char *lit, *w;
	int seen[N_EVENT_TYPES] = { 0 };
	int i = 0, bad = 0;
	const cJSON *t;

	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0) {
		err_field(e, "eventTypes", "must be a non-empty array of event types, or null for every type");
		return NULL;
	}
	w = lit = arena_alloc(a, N_EVENT_TYPES * 32 + 3);
	*w++ = '{';
	cJSON_ArrayForEach(t, v) {
		char path[32];
		int k = cJSON_IsString(t) ? known_type(t->valuestring) : -1;

		snprintf(path, sizeof path, "eventTypes.%d", i++);
		if (k < 0) {
			err_field(e, path, "must be one of APPOINTMENT_CONFIRMED, APPOINTMENT_RESCHEDULED,"
				  " APPOINTMENT_CANCELLED, PROVIDER_SCHEDULE_UPDATED, SERVICE_UPDATED,"
				  " APPOINTMENT_REQUESTED, APPOINTMENT_DECLINED,"
				  " APPOINTMENT_ATTENDANCE_RECORDED");
			bad = 1;
		} else if (seen[k]++) {
			err_field(e, path, "is listed twice");
			bad = 1;
		} else {
			w += sprintf(w, "%s%s", w - lit > 1 ? "," : "", event_types[k]);
		}
	}
	strcpy(w, "}");
	return bad ? NULL : lit;
}

static const char *check_description(const cJSON *v, struct err *e)
{
	int len;

	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsString(v)) {
		err_field(e, "description", "must be a string or null");
		return NULL;
	}
	len = utf8_printable_len(v->valuestring);
	if (len < 0 || len > WEBHOOK_DESCRIPTION_MAX) {
		err_field(e, "description", "must be at most %d printable characters",
			  WEBHOOK_DESCRIPTION_MAX);
		return NULL;
	}
	return v->valuestring;
}

int api_webhook_decode(const cJSON *body, int allow_private, struct arena *a,
		       struct api_webhook_req *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	if (!cJSON_IsObject(body)) {
		err_field(e, "body", "must be a JSON object");
		return -1;
	}
	check_url(allow_private, cJSON_GetObjectItemCaseSensitive(body, "url"), e);
	out->types = check_types(a, cJSON_GetObjectItemCaseSensitive(body, "eventTypes"), e);
	out->description = check_description(cJSON_GetObjectItemCaseSensitive(body, "description"), e);
	if (err_is_set(e))
		return -1;
	out->url = cJSON_GetObjectItemCaseSensitive(body, "url")->valuestring;
	return 0;
}

int api_webhook_create(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		       struct err *e)
{
	struct webhook w;
	struct api_webhook_req in;
	const char *types;
	char secret[SIGN_SECRET_LEN + 1], location[64];

	if (api_webhook_decode(req->json, c->cfg->webhook_allow_private, req->arena, &in, e))
		return -1;
	if (sign_secret_new(secret) < 0)
		return ERR_INTERNAL(e, "Internal server error.");
	memset(&w, 0, sizeof w);
	id_uuid4(w.id);
	w.url = in.url;
	w.description = in.description;
	types = in.types;
	w.event_types_json = "null";
	w.active = 1;
	w.created_ms = req->now_ms;
	if (store_webhook_insert(c->store, req->arena, &w, types, secret, e))
		return -1;
	resp->status = 201;
	resp->json = webhook_json(&w);
	if (types)
		cJSON_ReplaceItemInObject(resp->json, "eventTypes",
					  cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(req->json,
											 "eventTypes"), 1));
	cJSON_AddStringToObject(resp->json, "secret", secret);
	snprintf(location, sizeof location, "/api/webhooks/%s", w.id);
	http_resp_header(resp, "Location", location);
	return 0;
}

int api_webhook_list(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e)
{
	struct webhook *rows;
	cJSON *arr;
	int n, i;

	if (store_webhook_list(c->store, req->arena, &rows, &n, e))
		return -1;
	resp->status = 200;
	resp->json = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(resp->json, "webhooks");
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, webhook_json(&rows[i]));
	return 0;
}

int api_webhook_get(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		    struct err *e)
{
	char id[ID_UUID_LEN + 1];
	struct webhook w;

	if (webhook_id(req->path_id, id, e) || store_webhook_get(c->store, req->arena, id, 0, &w, e))
		return -1;
	resp->status = 200;
	resp->json = webhook_json(&w);
	return 0;
}

int api_webhook_delete(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		       struct err *e)
{
	char id[ID_UUID_LEN + 1];

	if (webhook_id(req->path_id, id, e) || store_webhook_delete(c->store, req->arena, id, e))
		return -1;
	resp->status = 204;
	return 0;
}

int api_webhook_deliveries(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			   struct err *e)
{
	char id[ID_UUID_LEN + 1];
	struct delivery_filter f;
	struct delivery *rows;
	struct webhook w;
	int64_t limit, before;
	const char *v;
	cJSON *arr;
	int n, i;

	if (webhook_id(req->path_id, id, e))
		return -1;
	memset(&f, 0, sizeof f);
	f.webhook_id = id;
	if ((v = http_query(req, "status"))) {
		if (strcmp(v, "pending") && strcmp(v, "delivered") && strcmp(v, "failed"))
			err_field(e, "status", "must be pending, delivered or failed");
		f.status = v;
	}
	if ((v = http_query(req, "eventType"))) {
		if (known_type(v) < 0)
			err_field(e, "eventType", "must be an event type");
		f.event_type = v;
	}
	api_query_int(req, "limit", 1, DELIVERIES_MAX_LIMIT, DELIVERIES_DEFAULT_LIMIT, &limit, e);
	api_query_int(req, "before", 1, INT64_MAX / 10, INT64_MAX, &before, e);
	if (err_is_set(e))
		return -1;
	f.limit = (int)limit;
	f.before = before;
	if (store_webhook_get(c->store, req->arena, id, 0, &w, e) ||
	    store_delivery_list(c->store, req->arena, &f, &rows, &n, e))
		return -1;
	resp->status = 200;
	resp->json = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(resp->json, "deliveries");
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, delivery_json(&rows[i]));
	return 0;
}

int api_webhook_retry(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		      struct err *e)
{
	char id[ID_UUID_LEN + 1], did[ID_UUID_LEN + 1];
	struct webhook w;
	struct delivery d;

	if (webhook_id(req->path_id, id, e))
		return -1;
	if (!req->path_id2 || !id_uuid_parse(req->path_id2, did))
		return ERR_NOT_FOUND(e, "Delivery not found.");
	/* The webhook row first (FOR SHARE): a 410 the relay records
	 * concurrently deactivates it under a row lock, so the two serialize. */
	if (store_begin(c->store, e) ||
	    store_webhook_get(c->store, req->arena, id, 1, &w, e) ||
	    store_delivery_get(c->store, req->arena, id, did, 1, &d, e))
		return -1;
	if (!w.active)
		return ERR_CONFLICT(e, "The webhook is inactive (its endpoint answered 410 Gone).");
	if (strcmp(d.status, "failed") != 0)
		return ERR_CONFLICT(e, "Only a failed delivery can be retried; this one is %s.", d.status);
	if (store_delivery_requeue(c->store, req->arena, did, &d, e) ||
	    store_outbox_wake(c->store, req->arena, e) || store_commit(c->store, e))
		return -1;
	resp->status = 202;
	resp->json = delivery_json(&d);
	return 0;
}
