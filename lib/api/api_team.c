/*
 * api_team.c - GET /api/availability: the slots of up to TEAM_MAX providers
 * for one service over UTC dates, merged into one entry per distinct
 * (startTime, endTime) naming the providers that offer it.
 *
 * Invariants: the answer is of one snapshot (every provider's version,
 * configuration, services and active entries come from one statement,
 * store_providers_with_busy, whatever the number of providers); each
 * provider's slots are exactly those its own availability route offers
 * (the same offer_source and offer_slots_ctx, the same engine call per
 * local date), kept when their startTime lies in [from 00:00Z, to + 1
 * 00:00Z).
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/cache_sched.h"
#include "api/offer.h"
#include "core/ids.h"
#include "engine/civil.h"
#include "engine/slot.h"
#include "store/store.h"

#define TEAM_MAX 50
#define TEAM_MAX_DAYS 31

/* Every provider's cache entry is touched before any is replaced, so none of them is evicted. */
_Static_assert(TEAM_MAX < CACHE_SCHED_SIZE, "a team's cache entries must all fit in the cache");

/* One provider's slot: its instants and the provider's place in the query. */
struct team_slot {
	int64_t start, end; /* UTC seconds */
	int who;
};

static int slot_cmp(const void *x, const void *y)
{
	const struct team_slot *a = x, *b = y;

	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->end != b->end)
		return a->end < b->end ? -1 : 1;
	return (a->who > b->who) - (a->who < b->who);
}

/* providerIds: 1..TEAM_MAX distinct UUIDs, comma-separated, into ids (lower case). */
static int team_ids(struct http_req *req, char (*ids)[ID_UUID_LEN + 1], int *n, struct err *e)
{
	const char *q = http_query(req, "providerIds"), *p, *comma;
	int i;

	*n = 0;
	if (!q || !*q) {
		err_field(e, "providerIds", "is required: 1 to %d comma-separated provider ids", TEAM_MAX);
		return -1;
	}
	for (p = q;; p = comma + 1) {
		char one[ID_UUID_LEN + 1] = "";
		size_t len;

		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (*n == TEAM_MAX) {
			err_field(e, "providerIds", "must name at most %d providers", TEAM_MAX);
			return -1;
		}
		if (len == ID_UUID_LEN)
			memcpy(one, p, len); /* one[len] stays NUL */
		if (!id_uuid_parse(one, ids[*n])) {
			err_field(e, "providerIds", "must be comma-separated UUIDs");
			return -1;
		}
		for (i = 0; i < *n; i++)
			if (strcmp(ids[i], ids[*n]) == 0) {
				err_field(e, "providerIds", "must not name a provider twice");
				return -1;
			}
		++*n;
		if (!comma)
			return 0;
	}
}

/*
 * Appends provider who's slots starting in [lo, hi) (UTC seconds) of the
 * local dates [from, to] to *all (arena, capacity *cap, *n used).
 */
static void team_collect(struct arena *a, const struct slot_ctx *sc, int who, int32_t from,
			 int32_t to, int64_t lo, int64_t hi, struct team_slot **all, size_t *n,
			 size_t *cap, struct slot *buf)
{
	int32_t d;
	int i, k;

	for (d = from; d <= to; d++) {
		k = slot_list_for_date(sc, d, buf);
		if (*n + (size_t)k > *cap) {
			size_t c = (*cap + (size_t)k) * 2;
			struct team_slot *grown = arena_alloc(a, c * sizeof *grown);

			if (*n)
				memcpy(grown, *all, *n * sizeof *grown);
			*all = grown;
			*cap = c;
		}
		for (i = 0; i < k; i++)
			if (buf[i].start >= lo && buf[i].start < hi)
				(*all)[(*n)++] = (struct team_slot){
					buf[i].start, buf[i].start + (int64_t)sc->svc->duration * 60, who
				};
	}
}

/* {"service", "dates": {UTC date: [{startTime, endTime, providerIds}]}} of all[0..n), sorted. */
static cJSON *team_encode(const char *service, const struct team_slot *all, size_t n,
			  char (*ids)[ID_UUID_LEN + 1])
{
	cJSON *o = cJSON_CreateObject(), *dates, *day = NULL, *who = NULL;
	int32_t cur = INT32_MIN;
	size_t i;

	cJSON_AddStringToObject(o, "service", service);
	dates = cJSON_AddObjectToObject(o, "dates");
	for (i = 0; i < n; i++) {
		if (i == 0 || all[i].start != all[i - 1].start || all[i].end != all[i - 1].end) {
			int32_t d = (int32_t)(all[i].start / 86400);
			cJSON *entry = cJSON_CreateObject();

			if (d != cur) {
				char key[11];

				civil_format_date(d, key);
				day = cJSON_AddArrayToObject(dates, key);
				cur = d;
			}
			api_add_instant(entry, "startTime", all[i].start * 1000);
			api_add_instant(entry, "endTime", all[i].end * 1000);
			who = cJSON_AddArrayToObject(entry, "providerIds");
			cJSON_AddItemToArray(day, entry);
		} else if (all[i].who == all[i - 1].who) {
			continue;
		}
		cJSON_AddItemToArray(who, cJSON_CreateString(ids[all[i].who]));
	}
	return o;
}

int api_team_availability(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			  struct err *e)
{
	char (*ids)[ID_UUID_LEN + 1] = arena_alloc(req->arena, sizeof *ids * TEAM_MAX);
	const char *idp[TEAM_MAX], *service;
	struct cache_sched_entry *hit[TEAM_MAX];
	uint32_t known[TEAM_MAX];
	struct store_provider_busy *rows;
	struct slot *buf;
	struct team_slot *all = NULL;
	size_t nall = 0, cap = 0;
	int32_t from, to;
	int64_t lo, hi, fetch_hi;
	int n = 0, i, single;

	if (team_ids(req, ids, &n, e))
		n = 0;
	if (api_avail_query(req, TEAM_MAX_DAYS, &service, &from, &to, &single, e))
		return -1;
	/* A UTC date's instants lie on the local dates from - 1 .. to + 1 of any zone. */
	offer_window(from - 1, to + 1, &lo, &hi, &fetch_hi);
	for (i = 0; i < n; i++) {
		idp[i] = ids[i];
		hit[i] = cache_sched_find(&c->scheds, ids[i], lo, hi, req->now_ms);
		known[i] = hit[i] ? hit[i]->xmin : 0;
		if (hit[i])
			cache_sched_touch(&c->scheds, hit[i]);
	}
	if (store_providers_with_busy(c->store, req->arena, idp, n, lo, fetch_hi, req->now_ms, known,
				      &rows, e))
		return -1;
	buf = arena_alloc(req->arena, sizeof *buf * SLOT_MAX_PER_DATE);
	for (i = 0; i < n; i++) {
		struct offer_source src;
		struct slot_service svc;
		struct slot_ctx sc;

		if (!rows[i].found || !api_provider_visible(req, ids[i]))
			return ERR_NOT_FOUND(e, "Provider %s not found.", ids[i]);
		if (offer_source(c, req, ids[i], &rows[i], hit[i], lo, fetch_hi, &src, e))
			return -1;
		if (offer_slots_ctx(&src, service, req->now_ms, &svc, &sc, e))
			return e->status == 404 ? ERR_NOT_FOUND(e, "Service %s not found for provider %s.",
								service, ids[i])
						: -1;
		team_collect(req->arena, &sc, i, from - 1, to + 1, (int64_t)from * 86400,
			     ((int64_t)to + 1) * 86400, &all, &nall, &cap, buf);
	}
	if (nall > 1)
		qsort(all, nall, sizeof *all, slot_cmp);
	resp->status = 200;
	resp->json = team_encode(service, all, nall, ids);
	return 0;
}
