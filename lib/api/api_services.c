/*
 * api_services.c - /api/providers/{id}/services and
 * /api/providers/{id}/services/{serviceId}: a provider's services.
 *
 * The service `default` has no row: it is shown from the schedule and
 * changes only through it. Writes lock the provider's row first, as
 * booking does, so a service change and a booking of its provider never
 * interleave; each change that commits writes one SERVICE_UPDATED event
 * (aggregate: the provider, so the provider's schedule and service events
 * stay in commit order for a subscriber).
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_service.h"
#include "store/store.h"

/* The {serviceId} of the path: 404 when it is not one; 422 for `default` where it cannot change. */
static int service_path(struct http_req *req, int writable, struct err *e)
{
	if (!codec_service_id_valid(req->path_id2))
		return ERR_NOT_FOUND(e, "Service not found.");
	if (writable && strcmp(req->path_id2, SERVICE_DEFAULT) == 0) {
		err_field(e, "serviceId", "the service default changes through the provider's schedule");
		return -1;
	}
	return 0;
}

/* A stored service, decoded (a stored configuration always passed validation). */
static int from_row(const struct store_service *row, struct service *out, struct err *e)
{
	cJSON *j = cJSON_Parse(row->config);
	struct err inner;
	int rc;

	err_init(&inner);
	memset(out, 0, sizeof *out);
	rc = j ? codec_service_decode(j, out, &inner) : -1;
	cJSON_Delete(j);
	err_clear(&inner);
	if (rc)
		return ERR_INTERNAL(e, "Internal server error.");
	snprintf(out->id, sizeof out->id, "%s", row->id);
	out->active = row->active;
	out->created_ms = row->created_ms;
	out->updated_ms = row->updated_ms;
	return 0;
}

/* The provider's `default` service, from its stored schedule. */
static int default_service(struct api_ctx *c, struct http_req *req, const char *provider,
			   int lock, struct service *out, struct err *e)
{
	const char *config;
	int64_t created, updated;
	struct sched s;

	if (store_provider_get(c->store, req->arena, provider, lock, &config, &created, &updated, e) ||
	    api_sched_from_config(c, req, config, &s, e))
		return -1;
	codec_service_default(&s, created, updated, out);
	return 0;
}

static int emit_service_updated(struct api_ctx *c, struct http_req *req, const char *provider,
				const char *service, struct err *e)
{
	cJSON *payload = cJSON_CreateObject();

	cJSON_AddStringToObject(payload, "providerId", provider);
	cJSON_AddStringToObject(payload, "serviceId", service);
	return api_emit(c, req, "SERVICE_UPDATED", provider, payload, e);
}

int api_service_put(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		    struct err *e)
{
	char provider[ID_UUID_LEN + 1];
	struct service sv;
	struct store_service row;
	const char *config;
	char *text;
	int created = 0, changed = 0, rc;

	if (api_path_id(req, provider, "Provider", e) || service_path(req, 1, e))
		return -1;
	memset(&sv, 0, sizeof sv);
	if (codec_service_decode(req->json, &sv, e))
		return -1;
	snprintf(sv.id, sizeof sv.id, "%s", req->path_id2);
	text = codec_service_config(&sv);
	if (!text)
		return ERR_INTERNAL(e, "Internal server error.");
	rc = store_begin(c->store, e) ||
	     store_provider_get(c->store, req->arena, provider, 1, &config, NULL, NULL, e) ||
	     store_service_put(c->store, req->arena, provider, sv.id, text, req->now_ms, &created,
			       &changed, &row, e);
	cJSON_free(text);
	if (rc || (changed && emit_service_updated(c, req, provider, sv.id, e)) ||
	    store_commit(c->store, e) || from_row(&row, &sv, e))
		return -1;
	resp->status = created ? 201 : 200;
	resp->json = codec_service_encode(provider, &sv);
	return 0;
}

int api_service_list(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e)
{
	char provider[ID_UUID_LEN + 1];
	struct store_service *rows;
	struct service sv;
	cJSON *list;
	int n, i;

	if (api_path_id(req, provider, "Provider", e) || default_service(c, req, provider, 0, &sv, e) ||
	    store_service_list(c->store, req->arena, provider, &rows, &n, e))
		return -1;
	resp->json = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(resp->json, "services");
	cJSON_AddItemToArray(list, codec_service_encode(provider, &sv));
	for (i = 0; i < n; i++) {
		if (from_row(&rows[i], &sv, e))
			return -1;
		cJSON_AddItemToArray(list, codec_service_encode(provider, &sv));
	}
	resp->status = 200;
	return 0;
}

int api_service_get(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		    struct err *e)
{
	char provider[ID_UUID_LEN + 1];
	struct store_service row;
	struct service sv;

	if (api_path_id(req, provider, "Provider", e) || service_path(req, 0, e))
		return -1;
	if (strcmp(req->path_id2, SERVICE_DEFAULT) == 0) {
		if (default_service(c, req, provider, 0, &sv, e))
			return -1;
	} else if (store_provider_get(c->store, req->arena, provider, 0, NULL, NULL, NULL, e) ||
		   store_service_get(c->store, req->arena, provider, req->path_id2, &row, e) ||
		   from_row(&row, &sv, e)) {
		return -1;
	}
	resp->status = 200;
	resp->json = codec_service_encode(provider, &sv);
	return 0;
}

int api_service_retire(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		       struct err *e)
{
	char provider[ID_UUID_LEN + 1];
	struct store_service row;
	struct service sv;
	int changed = 0;

	if (api_path_id(req, provider, "Provider", e) || service_path(req, 1, e) ||
	    store_begin(c->store, e) ||
	    store_provider_get(c->store, req->arena, provider, 1, NULL, NULL, NULL, e) ||
	    store_service_retire(c->store, req->arena, provider, req->path_id2, req->now_ms,
				 &changed, &row, e) ||
	    (changed && emit_service_updated(c, req, provider, row.id, e)) ||
	    store_hold_release_service(c->store, req->arena, provider, row.id, req->now_ms, e) ||
	    store_commit(c->store, e) || from_row(&row, &sv, e))
		return -1;
	resp->status = 200;
	resp->json = codec_service_encode(provider, &sv);
	return 0;
}
