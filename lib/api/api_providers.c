/*
 * api_providers.c - POST /api/providers/{id}/schedule, GET /api/providers/{id}
 * and GET /api/providers/{id}/availability.
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/cache_sched.h"
#include "api/codec.h"
#include "api/offer.h"
#include "engine/civil.h"
#include "engine/sched.h"
#include "engine/slot.h"
#include "store/store.h"

#define AVAILABILITY_MAX_DAYS 62

int api_provider_schedule(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			  struct err *e)
{
	char id[ID_UUID_LEN + 1];
	struct sched s;
	cJSON *canon, *payload;
	char *text;
	int changed = 0, rc;

	if (api_path_id(req, id, "Provider", e) ||
	    codec_sched_decode(req->json, c->tzc, req->arena, &s, e))
		return -1;
	canon = codec_sched_encode(&s);
	/*
	 * Stored without limits when there are none, exactly as before limits
	 * existed, so re-posting an unchanged older schedule still changes nothing.
	 */
	if (!s.limit_day && !s.limit_week)
		cJSON_DeleteItemFromObjectCaseSensitive(canon, "limits");
	text = cJSON_PrintUnformatted(canon);
	cJSON_Delete(canon);
	rc = store_begin(c->store, e);
	if (!rc)
		rc = store_provider_upsert(c->store, req->arena, id, text, req->now_ms, &changed, e);
	cJSON_free(text);
	if (!rc && changed) {
		payload = cJSON_CreateObject();
		cJSON_AddStringToObject(payload, "providerId", id);
		rc = api_emit(c, req, "PROVIDER_SCHEDULE_UPDATED", id, payload, e);
	}
	if (!rc)
		rc = store_commit(c->store, e);
	if (rc)
		return -1;
	resp->status = 200;
	resp->json = cJSON_CreateObject();
	cJSON_AddStringToObject(resp->json, "message", "Provider schedule updated successfully.");
	return 0;
}

int api_provider_get(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e)
{
	char id[ID_UUID_LEN + 1];
	const char *config;
	int64_t created, updated;
	struct sched s;

	if (api_path_id(req, id, "Provider", e) ||
	    store_provider_get(c->store, req->arena, id, 0, &config, &created, &updated, e) ||
	    api_sched_from_config(c, req, config, &s, e))
		return -1;
	resp->status = 200;
	resp->json = codec_sched_encode(&s);
	cJSON_AddStringToObject(resp->json, "providerId", id);
	api_add_instant(resp->json, "createdAt", created);
	api_add_instant(resp->json, "updatedAt", updated);
	return 0;
}

/* Reads date=, or startDate= and endDate=; exactly one form. */
static int date_range(struct http_req *req, int max_days, int32_t *from, int32_t *to, int *single,
		      struct err *e)
{
	const char *date = http_query(req, "date");
	const char *sd = http_query(req, "startDate"), *ed = http_query(req, "endDate");

	if (date && (sd || ed)) {
		err_field(e, "date", "give either date, or startDate and endDate, not both");
		return -1;
	}
	if (date) {
		*single = 1;
		if (civil_parse_date(date, from)) {
			err_field(e, "date", "must be a valid date YYYY-MM-DD");
			return -1;
		}
		*to = *from;
		return 0;
	}
	*single = 0;
	if (!sd && !ed) {
		err_field(e, "date", "is required (or startDate and endDate)");
		return -1;
	}
	if (!sd || civil_parse_date(sd, from))
		err_field(e, "startDate", sd ? "must be a valid date YYYY-MM-DD" : "is required with endDate");
	if (!ed || civil_parse_date(ed, to))
		err_field(e, "endDate", ed ? "must be a valid date YYYY-MM-DD" : "is required with startDate");
	if (err_is_set(e))
		return -1;
	if (*to < *from) {
		err_field(e, "endDate", "must not be before startDate");
		return -1;
	}
	if (*to - *from > max_days - 1) {
		err_field(e, "endDate", "must be at most %d days after startDate", max_days - 1);
		return -1;
	}
	return 0;
}

int api_avail_query(struct http_req *req, int max_days, const char **service, int32_t *from,
		    int32_t *to, int *single, struct err *e)
{
	*service = http_query(req, "service");
	if (*service && !codec_service_id_valid(*service))
		err_field(e, "service", "must match ^[a-z0-9][a-z0-9-]{0,62}$");
	if (date_range(req, max_days, from, to, single, e) || err_is_set(e))
		return -1;
	if (!*service)
		*service = SERVICE_DEFAULT;
	return 0;
}

int api_availability(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e)
{
	char id[ID_UUID_LEN + 1];
	int32_t from, to, d;
	int single;
	int64_t lo, hi, fetch_hi;
	const char *service;
	struct store_provider_busy row;
	struct cache_sched_entry *hit;
	struct offer_source src;
	struct slot_service svc;
	struct slot_ctx sc;
	struct slot *slots;

	if (api_path_id(req, id, "Provider", e) ||
	    api_avail_query(req, AVAILABILITY_MAX_DAYS, &service, &from, &to, &single, e))
		return -1;
	offer_window(from, to, &lo, &hi, &fetch_hi);
	hit = cache_sched_find(&c->scheds, id, lo, hi, req->now_ms);
	if (store_provider_with_busy(c->store, req->arena, id, lo, fetch_hi, req->now_ms,
				     hit ? hit->xmin : 0, &row, e) ||
	    offer_source(c, req, id, &row, hit, lo, fetch_hi, &src, e) ||
	    offer_slots_ctx(&src, service, req->now_ms, &svc, &sc, e))
		return -1;
	slots = arena_alloc(req->arena, sizeof *slots * SLOT_MAX_PER_DATE);
	resp->status = 200;
	if (single) {
		int n = slot_list_for_date(&sc, from, slots);

		resp->json = codec_availability_encode(id, from, src.s.timezone, svc.duration, slots, n);
		return 0;
	}
	resp->json = cJSON_CreateObject();
	for (d = from; d <= to; d++) {
		int n = slot_list_for_date(&sc, d, slots);
		char key[11];

		if (n == 0)
			continue;
		civil_format_date(d, key);
		cJSON_AddItemToObject(resp->json, key, codec_hhmm_list(slots, n));
	}
	return 0;
}
