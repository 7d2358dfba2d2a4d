/*
 * codec_service.h - a service (contract, "Services"): the PUT body decoded
 * and checked, its stored form, its response shape, and the `default`
 * service a provider's schedule defines.
 */
#ifndef APPOINTD_CODEC_SERVICE_H
#define APPOINTD_CODEC_SERVICE_H

#include <cjson/cJSON.h>
#include <stdint.h>

#include "core/err.h"
#include "engine/sched.h"

#define SERVICE_ID_MAX 63              /* ^[a-z0-9][a-z0-9-]{0,62}$ */
#define SERVICE_NAME_MAX 200           /* characters */
#define SERVICE_MAX_CAPACITY 1000
#define SERVICE_MAX_NOTICE 525600      /* minutes: cancellationNotice, rescheduleNotice */
#define SERVICE_INHERIT (-2)           /* a null inheriting field: the schedule's value */
#define SERVICE_DEFAULT "default"

struct service {
	char id[SERVICE_ID_MAX + 1];
	char name[SERVICE_NAME_MAX * 4 + 1];   /* UTF-8 */
	int duration;                          /* minutes */
	/* SERVICE_INHERIT, or the service's own value */
	int slot_interval, buffer_before, buffer_after, minimum_notice, horizon_days;
	int capacity;
	int limit_day, limit_week;             /* 0: none */
	int requires_confirmation;
	int cancellation_notice, reschedule_notice;
	int active;
	int64_t created_ms, updated_ms;
};

/* 1 if s is a serviceId: ^[a-z0-9][a-z0-9-]{0,62}$. */
int codec_service_id_valid(const char *s);
/*
 * An optional serviceId member `key` of obj into out: "default" when absent
 * or null; -1 with a 422 at key when it is not a serviceId.
 */
int codec_service_field(const cJSON *obj, const char *key, char out[SERVICE_ID_MAX + 1],
			struct err *e);
/*
 * Decodes a PUT body (or a stored configuration) into out, whose id the
 * caller sets. Returns 0 with every field filled (defaults included;
 * active, created_ms and updated_ms untouched), or -1 with a 422 naming
 * each broken field.
 */
int codec_service_decode(const cJSON *body, struct service *out, struct err *e);
/* The stored configuration: the PUT body's fields in canonical form (malloc'd text). */
char *codec_service_config(const struct service *sv);
/* The response shape, with providerId, serviceId, active and the timestamps. Caller owns it. */
cJSON *codec_service_encode(const char *provider_id, const struct service *sv);
/* The service `default` of a schedule; created_ms and updated_ms are the provider's. */
void codec_service_default(const struct sched *s, int64_t created_ms, int64_t updated_ms,
			   struct service *out);

#endif
