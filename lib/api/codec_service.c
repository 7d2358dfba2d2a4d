/*
 * codec_service.c - services as JSON (codec_service.h). A service's stored
 * configuration is its PUT body in canonical form, so equal bodies store
 * equal text and a PUT that changes nothing can be told by comparing them.
 */
#include "api/codec_service.h"

#include <stdio.h>
#include <string.h>

#include "api/codec.h"
#include "core/utf8.h"
#include "engine/civil.h"

int codec_service_id_valid(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > SERVICE_ID_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && i > 0)))
			return 0;
	}
	return 1;
}

int codec_service_field(const cJSON *obj, const char *key, char out[SERVICE_ID_MAX + 1],
			struct err *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	snprintf(out, SERVICE_ID_MAX + 1, "%s", SERVICE_DEFAULT);
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v) || !codec_service_id_valid(v->valuestring)) {
		err_field(e, key, "must match ^[a-z0-9][a-z0-9-]{0,62}$");
		return -1;
	}
	snprintf(out, SERVICE_ID_MAX + 1, "%s", v->valuestring);
	return 0;
}

static void add_int_or_null(cJSON *o, const char *key, int v, int null_value)
{
	if (v == null_value)
		cJSON_AddNullToObject(o, key);
	else
		cJSON_AddNumberToObject(o, key, v);
}

/* An optional inheriting field: SERVICE_INHERIT when absent or null. */
static int inheriting(const cJSON *body, const char *key, long lo, long hi, int *out,
		      struct err *e)
{
	*out = SERVICE_INHERIT;
	return codec_int_field(body, key, key, lo, hi, out, e) < 0 ? -1 : 0;
}

int codec_service_decode(const cJSON *body, struct service *out, struct err *e)
{
	const cJSON *name, *rc;
	int bad = 0, len;

	if (!cJSON_IsObject(body)) {
		err_field(e, "body", "must be a JSON object");
		return -1;
	}
	name = cJSON_GetObjectItemCaseSensitive(body, "name");
	len = cJSON_IsString(name) ? utf8_printable_len(name->valuestring) : -1;
	if (!name || cJSON_IsNull(name)) {
		err_field(e, "name", "is required");
		bad = 1;
	} else if (len < 1 || len > SERVICE_NAME_MAX) {
		err_field(e, "name", "must be 1 to %d characters without control characters",
			  SERVICE_NAME_MAX);
		bad = 1;
	} else {
		snprintf(out->name, sizeof out->name, "%s", name->valuestring);
	}
	switch (codec_int_field(body, "duration", "duration", SCHED_MIN_DURATION,
				SCHED_MAX_DURATION, &out->duration, e)) {
	case 0: err_field(e, "duration", "is required"); /* fall through */
	case -1: bad = 1; break;
	}
	bad |= inheriting(body, "slotInterval", SCHED_MIN_DURATION, SCHED_MAX_DURATION,
			  &out->slot_interval, e);
	bad |= inheriting(body, "bufferBefore", 0, SCHED_MAX_BUFFER, &out->buffer_before, e);
	bad |= inheriting(body, "bufferAfter", 0, SCHED_MAX_BUFFER, &out->buffer_after, e);
	bad |= inheriting(body, "minimumNotice", 0, SCHED_MAX_NOTICE, &out->minimum_notice, e);
	bad |= inheriting(body, "bookingHorizonDays", 1, SCHED_MAX_HORIZON_DAYS,
			  &out->horizon_days, e);
	out->capacity = 1;
	bad |= codec_int_field(body, "capacity", "capacity", 1, SERVICE_MAX_CAPACITY,
			       &out->capacity, e) < 0;
	bad |= codec_limits_decode(cJSON_GetObjectItemCaseSensitive(body, "limits"), "limits",
				   &out->limit_day, &out->limit_week, e);
	rc = cJSON_GetObjectItemCaseSensitive(body, "requiresConfirmation");
	out->requires_confirmation = 0;
	if (cJSON_IsBool(rc)) {
		out->requires_confirmation = cJSON_IsTrue(rc);
	} else if (rc && !cJSON_IsNull(rc)) {
		err_field(e, "requiresConfirmation", "must be true or false");
		bad = 1;
	}
	out->cancellation_notice = out->reschedule_notice = 0;
	bad |= codec_int_field(body, "cancellationNotice", "cancellationNotice", 0,
			       SERVICE_MAX_NOTICE, &out->cancellation_notice, e) < 0;
	bad |= codec_int_field(body, "rescheduleNotice", "rescheduleNotice", 0, SERVICE_MAX_NOTICE,
			       &out->reschedule_notice, e) < 0;
	return bad ? -1 : 0;
}

/* The fields a PUT sets, in the contract's order. */
static void add_body_fields(cJSON *o, const struct service *sv)
{
	cJSON_AddStringToObject(o, "name", sv->name);
	cJSON_AddNumberToObject(o, "duration", sv->duration);
	add_int_or_null(o, "slotInterval", sv->slot_interval, SERVICE_INHERIT);
	add_int_or_null(o, "bufferBefore", sv->buffer_before, SERVICE_INHERIT);
	add_int_or_null(o, "bufferAfter", sv->buffer_after, SERVICE_INHERIT);
	add_int_or_null(o, "minimumNotice", sv->minimum_notice, SERVICE_INHERIT);
	add_int_or_null(o, "bookingHorizonDays", sv->horizon_days, SERVICE_INHERIT);
	cJSON_AddNumberToObject(o, "capacity", sv->capacity);
	cJSON_AddItemToObject(o, "limits", codec_limits_encode(sv->limit_day, sv->limit_week));
	cJSON_AddBoolToObject(o, "requiresConfirmation", sv->requires_confirmation);
	cJSON_AddNumberToObject(o, "cancellationNotice", sv->cancellation_notice);
	cJSON_AddNumberToObject(o, "rescheduleNotice", sv->reschedule_notice);
}

char *codec_service_config(const struct service *sv)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	if (!o)
		return NULL;
	add_body_fields(o, sv);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

cJSON *codec_service_encode(const char *provider_id, const struct service *sv)
{
	cJSON *o = cJSON_CreateObject();
	char buf[32];

	cJSON_AddStringToObject(o, "providerId", provider_id);
	cJSON_AddStringToObject(o, "serviceId", sv->id);
	add_body_fields(o, sv);
	cJSON_AddBoolToObject(o, "active", sv->active);
	civil_format_instant(sv->created_ms, buf);
	cJSON_AddStringToObject(o, "createdAt", buf);
	civil_format_instant(sv->updated_ms, buf);
	cJSON_AddStringToObject(o, "updatedAt", buf);
	return o;
}

void codec_service_default(const struct sched *s, int64_t created_ms, int64_t updated_ms,
			   struct service *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->id, sizeof out->id, "%s", SERVICE_DEFAULT);
	snprintf(out->name, sizeof out->name, "%s", SERVICE_DEFAULT);
	out->duration = s->duration;
	out->slot_interval = out->buffer_before = out->buffer_after = SERVICE_INHERIT;
	out->minimum_notice = out->horizon_days = SERVICE_INHERIT;
	out->capacity = 1;
	out->active = 1;
	out->created_ms = created_ms;
	out->updated_ms = updated_ms;
}
