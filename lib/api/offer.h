/*
 * offer.h - the slot rules as the API applies them (contract, "How slots
 * are computed"): which service a request names, its effective values,
 * the numbers the engine knows the entries' services by, and the check a
 * booking or a reschedule makes under its provider's row lock.
 */
#ifndef APPOINTD_OFFER_H
#define APPOINTD_OFFER_H

#include <stddef.h>

#include "api/api.h"
#include "api/codec_service.h"
#include "engine/slot.h"

struct store_busy;
struct store_service;
struct store_provider_busy;

/*
 * Numbers the services of b's entries for the engine (slot_entry.service):
 * 0 for `default`, i + 1 for ids[i], and a number of its own for each other
 * serviceId. So equal numbers are equal services.
 */
void offer_number_entries(struct arena *a, struct store_busy *b, const struct service *svcs,
			  int nsvcs);
/* The effective values of sv under schedule s (its nulls are the schedule's), as service key. */
void offer_effective(const struct sched *s, const struct service *sv, int32_t key,
		     struct slot_service *out);
/*
 * Decodes the provider's stored services (rows of store_provider_with_busy
 * or store_service_list) into out (arena, n of them).
 */
int offer_services_decode(struct arena *a, const struct store_service *rows, int n,
			  struct service **out, struct err *e);
/*
 * The service `id` among svcs[0..n) of schedule s, and its engine number
 * (0 for `default`, i + 1 for svcs[i]): 404 "Service not found." when the
 * provider has no such service or it is retired.
 */
int offer_find(const struct sched *s, const struct service *svcs, int n, const char *id,
	       struct service *out, int32_t *key, struct err *e);
/*
 * The provider's schedule (config: as stored) into s, and its service
 * service_id (404 "Service not found." when unknown or retired) into sv,
 * with its effective values eff (what a booking records).
 */
int offer_resolve(struct api_ctx *c, struct http_req *req, const char *provider,
		  const char *config, const char *service_id, struct sched *s, struct service *sv,
		  struct slot_service *eff, struct err *e);
/*
 * Under the provider's row lock (config: its stored schedule): the service
 * service_id (404 when unknown or retired) and whether start_ms begins a
 * slot it offers now, the appointment `except` counting as absent (409
 * CONFLICT when not). Fills s and sv (the service as configured) and eff
 * (its effective values: what a booking records).
 */
int offer_check(struct api_ctx *c, struct http_req *req, const char *provider,
		const char *config, const char *service_id, int64_t start_ms, const char *except,
		struct sched *s, struct service *sv, struct slot_service *eff, struct err *e);

/*
 * The active entries availability over the dates [from, to] fetches: [lo,
 * hi) is slot_busy_window's (what the dates need; a cache entry must hold
 * it), [lo, fetch_hi) at least a 62-day range's window starting up to a
 * month later, so later reads inside it find the cache entry enough.
 */
void offer_window(int32_t from, int32_t to, int64_t *lo, int64_t *hi, int64_t *fetch_hi);

/* What a provider's slots are computed from: schedule, services, live active entries. */
struct offer_source {
	struct sched s;
	struct service *svcs;           /* retired too */
	int nsvcs;
	const struct slot_entry *live;  /* services numbered by offer_number_entries */
	size_t nlive;
};
/*
 * Provider id's source from row (its store_provider(s)_with_busy answer
 * for [lo, fetch_hi)): decoded from the row, which then replaces id's cache
 * entry; or, when the row's version was hit's (row->config NULL), hit's
 * schedule, services and entries live at the request's time (hit stays
 * the cache's own: valid until the next cache_sched_put evicts it). A row
 * saying "unchanged" without hit at that version is an internal error.
 */
int offer_source(struct api_ctx *c, struct http_req *req, const char *id,
		 const struct store_provider_busy *row, struct cache_sched_entry *hit, int64_t lo,
		 int64_t fetch_hi, struct offer_source *out, struct err *e);
/*
 * The engine's context for service `service` of src at now_ms (404
 * "Service not found." when unknown or retired): svc its effective values,
 * sc pointing at src and svc.
 */
int offer_slots_ctx(const struct offer_source *src, const char *service, int64_t now_ms,
		    struct slot_service *svc, struct slot_ctx *sc, struct err *e);

#endif
