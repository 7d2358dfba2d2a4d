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

#endif
