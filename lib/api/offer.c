/*
 * offer.c - the slot rules as the API applies them (offer.h). The engine
 * decides; this file only gathers what it needs: the schedule, the service
 * with its inherited values resolved, and the active entries with their
 * services numbered so that seats of one session share a number.
 */
#include "api/offer.h"

#include <string.h>

#include "api/cache_sched.h"
#include "api/codec.h"
#include "store/store.h"

/* What an availability read fetches at least: later reads inside it need no appointments. */
#define BUSY_WINDOW_S (112 * 86400) /* a 62-day range's window (weeks included) starting up to a month later still fits */

void offer_number_entries(struct arena *a, struct store_busy *b, const struct service *svcs,
			  int nsvcs)
{
	const char **other = arena_calloc(a, b->n + 1, sizeof *other);
	size_t i, nother = 0, k;
	int j;

	for (i = 0; i < b->n; i++) {
		const char *id = b->service[i];
		int32_t key = -1;

		if (strcmp(id, SERVICE_DEFAULT) == 0)
			key = 0;
		for (j = 0; key < 0 && j < nsvcs; j++)
			if (strcmp(svcs[j].id, id) == 0)
				key = j + 1;
		for (k = 0; key < 0 && k < nother; k++)
			if (strcmp(other[k], id) == 0)
				key = nsvcs + 1 + (int32_t)k;
		if (key < 0) {
			other[nother] = id;
			key = nsvcs + 1 + (int32_t)nother++;
		}
		b->entry[i].service = key;
	}
}

void offer_effective(const struct sched *s, const struct service *sv, int32_t key,
		     struct slot_service *out)
{
#define OWN(v, dflt) ((v) == SERVICE_INHERIT ? (dflt) : (v))
	slot_service_default(s, key, out);
	out->duration = sv->duration;
	out->slot_interval = OWN(sv->slot_interval, s->slot_interval);
	out->buffer_before = OWN(sv->buffer_before, s->buffer_before);
	out->buffer_after = OWN(sv->buffer_after, s->buffer_after);
	out->minimum_notice = OWN(sv->minimum_notice, s->minimum_notice);
	out->horizon_days = OWN(sv->horizon_days, s->horizon_days);
	out->capacity = sv->capacity;
	out->limit_day = sv->limit_day;
	out->limit_week = sv->limit_week;
#undef OWN
}

int offer_services_decode(struct arena *a, const struct store_service *rows, int n,
			  struct service **out, struct err *e)
{
	int i;

	*out = arena_calloc(a, (size_t)n + 1, sizeof **out);
	for (i = 0; i < n; i++) {
		struct service *sv = &(*out)[i];
		cJSON *j = cJSON_Parse(rows[i].config);
		struct err inner;
		int rc;

		err_init(&inner);
		rc = j ? codec_service_decode(j, sv, &inner) : -1;
		cJSON_Delete(j);
		err_clear(&inner);
		if (rc) /* a stored configuration always passed validation */
			return ERR_INTERNAL(e, "Internal server error.");
		snprintf(sv->id, sizeof sv->id, "%s", rows[i].id);
		sv->active = rows[i].active;
		sv->created_ms = rows[i].created_ms;
		sv->updated_ms = rows[i].updated_ms;
	}
	return 0;
}

int offer_find(const struct sched *s, const struct service *svcs, int n, const char *id,
	       struct service *out, int32_t *key, struct err *e)
{
	int i;

	if (strcmp(id, SERVICE_DEFAULT) == 0) {
		codec_service_default(s, 0, 0, out);
		*key = 0;
		return 0;
	}
	for (i = 0; i < n; i++)
		if (strcmp(svcs[i].id, id) == 0 && svcs[i].active) {
			*out = svcs[i];
			*key = i + 1;
			return 0;
		}
	return ERR_NOT_FOUND(e, "Service not found.");
}

int offer_resolve(struct api_ctx *c, struct http_req *req, const char *provider,
		  const char *config, const char *service_id, struct sched *s, struct service *sv,
		  struct slot_service *eff, struct err *e)
{
	struct store_service row;
	struct service *own = NULL;
	int32_t key;

	if (api_sched_from_config(c, req, config, s, e))
		return -1;
	if (strcmp(service_id, SERVICE_DEFAULT) != 0) {
		if (store_service_get(c->store, req->arena, provider, service_id, &row, e) ||
		    offer_services_decode(req->arena, &row, 1, &own, e))
			return -1;
	}
	if (offer_find(s, own, own ? 1 : 0, service_id, sv, &key, e))
		return -1;
	offer_effective(s, sv, key, eff);
	return 0;
}

int offer_check(struct api_ctx *c, struct http_req *req, const char *provider,
		const char *config, const char *service_id, int64_t start_ms, const char *except,
		struct sched *s, struct service *sv, struct slot_service *eff, struct err *e)
{
	struct store_busy busy;
	int64_t lo, hi;
	int32_t d;
	struct slot_ctx sc;

	if (offer_resolve(c, req, provider, config, service_id, s, sv, eff, e))
		return -1;
	if (start_ms % 60000 != 0)
		return ERR_SLOT_TAKEN(e);
	d = slot_local_date(s, start_ms / 1000);
	slot_busy_window(d - 1, d + 1, &lo, &hi);
	if (store_appt_busy(c->store, req->arena, provider, lo, hi, except, req->now_ms, &busy, e))
		return -1;
	/* The service's number is offer_find's: 1 for the one service given (sv), 0 for default. */
	offer_number_entries(req->arena, &busy, sv, strcmp(service_id, SERVICE_DEFAULT) != 0);
	sc = (struct slot_ctx){ s, eff, (req->now_ms + 999) / 1000, busy.entry, busy.n, NULL };
	if (!slot_bookable(&sc, start_ms / 1000))
		return ERR_SLOT_TAKEN(e);
	return 0;
}

void offer_window(int32_t from, int32_t to, int64_t *lo, int64_t *hi, int64_t *fetch_hi)
{
	slot_busy_window(from, to, lo, hi);
	*fetch_hi = *hi > *lo + BUSY_WINDOW_S ? *hi : *lo + BUSY_WINDOW_S;
}

int offer_source(struct api_ctx *c, struct http_req *req, const char *id,
		 const struct store_provider_busy *row, struct cache_sched_entry *hit, int64_t lo,
		 int64_t fetch_hi, struct offer_source *out, struct err *e)
{
	struct store_busy busy = row->busy;

	if (row->config) {
		if (api_sched_from_config(c, req, row->config, &out->s, e) ||
		    offer_services_decode(req->arena, row->services, row->nservices, &out->svcs, e))
			return -1;
		out->nsvcs = row->nservices;
		offer_number_entries(req->arena, &busy, out->svcs, out->nsvcs);
		out->live = busy.entry;
		out->nlive = busy.n;
		cache_sched_put(&c->scheds, id, row->xmin, &out->s, out->svcs, out->nsvcs, busy.entry,
				busy.expires_ms, busy.n, lo, fetch_hi, req->now_ms);
		return 0;
	}
	if (!hit || hit->xmin != row->xmin)
		return ERR_INTERNAL(e, "Internal server error.");
	/* Unchanged. Nothing else touches the entry during this request. */
	out->s = hit->s;
	out->svcs = hit->svcs;
	out->nsvcs = hit->nsvcs;
	/* Holds that expired since it was read are ignored from their expiresAt on. */
	out->live = cache_sched_live(hit, req->now_ms, req->arena, &out->nlive);
	cache_sched_touch(&c->scheds, hit);
	return 0;
}

int offer_slots_ctx(const struct offer_source *src, const char *service, int64_t now_ms,
		    struct slot_service *svc, struct slot_ctx *sc, struct err *e)
{
	struct service sv;
	int32_t key;

	if (offer_find(&src->s, src->svcs, src->nsvcs, service, &sv, &key, e))
		return -1;
	offer_effective(&src->s, &sv, key, svc);
	*sc = (struct slot_ctx){ &src->s, svc, (now_ms + 999) / 1000, src->live, src->nlive, NULL };
	return 0;
}
