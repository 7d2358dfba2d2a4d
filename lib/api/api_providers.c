/*
 * api_providers.c - POST /api/providers/{id}/schedule, GET /api/providers/{id}
 * and GET /api/providers/{id}/availability.
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "engine/civil.h"
#include "engine/sched.h"
#include "engine/slot.h"
#include "store/store.h"

#define AVAILABILITY_MAX_DAYS 62

/* What an availability read fetches at least: later reads inside it need no appointments. */
#define BUSY_WINDOW_S (96 * 86400) /* a 62-day range starting up to a month later still fits */
/* Larger appointment lists are used, not kept. */
#define BUSY_KEEP_MAX 8192

struct api_sched_entry {
	char id[ID_UUID_LEN + 1]; /* "" = free */
	uint32_t xmin;               /* the provider row's version all of this is of */
	int64_t loaded_ms;
	unsigned used;               /* c->sched_clock when last used */
	struct sched s;              /* s.overrides is the entry's own (malloc) */
	int64_t busy_lo, busy_hi;    /* busy holds every appointment overlapping [lo, hi) */
	struct slot_busy *busy;      /* the entry's own (malloc) */
	size_t nbusy;
};

static void sched_entry_clear(struct api_sched_entry *x)
{
	free(x->s.overrides);
	free(x->busy);
	memset(x, 0, sizeof *x);
}

void api_ctx_release(struct api_ctx *c)
{
	int i;

	for (i = 0; c->scheds && i < API_SCHED_CACHE; i++)
		sched_entry_clear(&c->scheds[i]);
	free(c->scheds);
	c->scheds = NULL;
}

/*
 * Provider id's entry if it is young enough to be revalidated by version
 * and holds the appointments of [lo, hi), or NULL.
 */
static struct api_sched_entry *sched_cached(struct api_ctx *c, const char *id, int64_t lo,
					    int64_t hi, int64_t now_ms)
{
	int i;

	for (i = 0; c->scheds && i < API_SCHED_CACHE; i++) {
		struct api_sched_entry *x = &c->scheds[i];

		if (strcmp(x->id, id) == 0)
			return now_ms >= x->loaded_ms && now_ms - x->loaded_ms < API_SCHED_TTL_MS &&
				lo >= x->busy_lo && hi <= x->busy_hi ? x : NULL;
	}
	return NULL;
}

static void *dup_array(const void *p, size_t n, size_t size)
{
	void *q;

	if (n == 0)
		return NULL;
	q = malloc(n * size);
	if (q)
		memcpy(q, p, n * size);
	return q;
}

/*
 * Keeps copies of s and of busy (the appointments of [lo, hi)) as provider
 * id's at version xmin, in its own entry or the least recently used one.
 */
static void sched_remember(struct api_ctx *c, const char *id, uint32_t xmin, const struct sched *s,
			   const struct slot_busy *busy, size_t nbusy, int64_t lo, int64_t hi,
			   int64_t now_ms)
{
	struct api_sched_entry *x = NULL;
	int i;

	if (!c->scheds && !(c->scheds = calloc(API_SCHED_CACHE, sizeof *c->scheds)))
		return;
	for (i = 0; i < API_SCHED_CACHE && !x; i++)
		if (strcmp(c->scheds[i].id, id) == 0)
			x = &c->scheds[i];
	for (i = 0; i < API_SCHED_CACHE && !x; i++)
		if (!c->scheds[i].id[0])
			x = &c->scheds[i];
	if (!x) {
		x = &c->scheds[0];
		for (i = 1; i < API_SCHED_CACHE; i++)
			if (c->scheds[i].used < x->used)
				x = &c->scheds[i];
	}
	sched_entry_clear(x);
	if (nbusy > BUSY_KEEP_MAX)
		return;
	x->s = *s;
	x->s.overrides = dup_array(s->overrides, (size_t)s->noverrides, sizeof *s->overrides);
	x->busy = dup_array(busy, nbusy, sizeof *busy);
	if ((s->noverrides > 0 && !x->s.overrides) || (nbusy > 0 && !x->busy)) {
		sched_entry_clear(x);
		return;
	}
	x->nbusy = nbusy;
	x->busy_lo = lo;
	x->busy_hi = hi;
	snprintf(x->id, sizeof x->id, "%s", id);
	x->xmin = xmin;
	x->loaded_ms = now_ms;
	x->used = ++c->sched_clock;
}

static int provider_id(struct http_req *req, char out[ID_UUID_LEN + 1], struct err *e)
{
	if (!id_uuid_parse(req->path_id, out))
		return ERR_NOT_FOUND(e, "Provider not found.");
	return 0;
}

int api_provider_schedule(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			  struct err *e)
{
	char id[ID_UUID_LEN + 1];
	struct sched s;
	cJSON *canon, *payload;
	char *text;
	int changed = 0, rc;

	if (provider_id(req, id, e) || codec_sched_decode(req->json, c->tzc, req->arena, &s, e))
		return -1;
	canon = codec_sched_encode(&s);
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

	if (provider_id(req, id, e) ||
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
static int date_range(struct http_req *req, int32_t *from, int32_t *to, int *single,
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
	if (*to - *from > AVAILABILITY_MAX_DAYS - 1) {
		err_field(e, "endDate", "must be at most %d days after startDate", AVAILABILITY_MAX_DAYS - 1);
		return -1;
	}
	return 0;
}

int api_availability(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e)
{
	char id[ID_UUID_LEN + 1];
	int32_t from, to, d;
	int single;
	int64_t lo, hi, fetch_hi;
	const char *config;
	struct slot_busy *busy;
	size_t nbusy;
	struct sched s;
	struct api_sched_entry *hit;
	uint32_t xmin;
	struct slot_ctx sc;
	struct slot *slots;

	if (provider_id(req, id, e) || date_range(req, &from, &to, &single, e))
		return -1;
	slot_busy_window(from, to, &lo, &hi);
	hit = sched_cached(c, id, lo, hi, req->now_ms);
	fetch_hi = hi > lo + BUSY_WINDOW_S ? hi : lo + BUSY_WINDOW_S;
	if (store_provider_with_busy(c->store, req->arena, id, lo, fetch_hi, hit ? hit->xmin : 0,
				     &xmin, &config, &busy, &nbusy, e))
		return -1;
	if (config) {
		if (api_sched_from_config(c, req, config, &s, e))
			return -1;
		sched_remember(c, id, xmin, &s, busy, nbusy, lo, fetch_hi, req->now_ms);
	} else if (hit && hit->xmin == xmin) {
		/* Unchanged. Nothing else touches the entry during this request. */
		s = hit->s;
		busy = hit->busy;
		nbusy = hit->nbusy;
		hit->used = ++c->sched_clock;
	} else {
		return ERR_INTERNAL(e, "Internal server error.");
	}
	sc = (struct slot_ctx){ &s, (req->now_ms + 999) / 1000, busy, nbusy, NULL };
	slots = arena_alloc(req->arena, sizeof *slots * SLOT_MAX_PER_DATE);
	resp->status = 200;
	if (single) {
		int n = slot_list_for_date(&sc, from, slots);

		resp->json = codec_availability_encode(id, from, s.timezone, s.duration, slots, n);
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
