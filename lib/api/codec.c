/*
 * codec.c - the contract's bodies other than the schedule (see codec.h;
 * the schedule's are in codec_sched.c). Output instants are always UTC with
 * milliseconds; input instants must carry an offset.
 */
#include "api/codec.h"

#include <stdio.h>
#include <string.h>

#include "api/codec_service.h"
#include "core/utf8.h"
#include "engine/civil.h"

int codec_instant_field(const cJSON *v, const char *path, int64_t *ms, struct err *e)
{
	int r;

	if (!v || cJSON_IsNull(v)) {
		err_field(e, path, "is required");
		return -1;
	}
	if (!cJSON_IsString(v)) {
		err_field(e, path, "must be an ISO 8601 instant with offset");
		return -1;
	}
	r = civil_parse_instant(v->valuestring, ms);
	if (r == -2) {
		err_field(e, path, "must be an ISO 8601 instant with offset (Z or ±HH:mm)");
		return -1;
	}
	if (r) {
		err_field(e, path, "must be an ISO 8601 instant with offset");
		return -1;
	}
	return 0;
}

/* The fields bookings and holds share; patientId may be absent (or null) unless required. */
static int book_fields(const cJSON *body, struct book_req *out, int patient_required,
		       const cJSON *team, struct err *e)
{
	const cJSON *pat, *prov;
	int bad = 0, len;

	memset(out, 0, sizeof *out);
	if (!cJSON_IsObject(body)) {
		err_field(e, "body", "must be a JSON object");
		return -1;
	}
	pat = cJSON_GetObjectItemCaseSensitive(body, "patientId");
	prov = cJSON_GetObjectItemCaseSensitive(body, "providerId");
	if (!pat || cJSON_IsNull(pat)) {
		if (patient_required) {
			err_field(e, "patientId", "is required");
			bad = 1;
		}
	} else if (!cJSON_IsString(pat) || (len = utf8_printable_len(pat->valuestring)) < 1 ||
		   len > APPT_PATIENT_MAX) {
		err_field(e, "patientId", "must be 1 to %d printable characters", APPT_PATIENT_MAX);
		bad = 1;
	} else {
		snprintf(out->patient_id, sizeof out->patient_id, "%s", pat->valuestring);
	}
	if (prov && !cJSON_IsNull(prov) && team) {
		err_field(e, "providerId", "must not be given with providerIds: exactly one of them");
		bad = 1;
	} else if (team) {
		;
	} else if (!prov || cJSON_IsNull(prov)) {
		err_field(e, "providerId", "is required");
		bad = 1;
	} else if (!cJSON_IsString(prov) || !id_uuid_parse(prov->valuestring, out->provider_id)) {
		err_field(e, "providerId", "must be a UUID");
		bad = 1;
	}
	if (codec_instant_field(cJSON_GetObjectItemCaseSensitive(body, "startTime"), "startTime",
				&out->start_ms, e))
		bad = 1;
	if (codec_service_field(body, "serviceId", out->service_id, e))
		bad = 1;
	return bad ? -1 : 0;
}

/* providerIds: an array of 1..CODEC_TEAM_MAX distinct UUIDs into out->team. */
static int team_field(const cJSON *team, struct book_req *out, struct err *e)
{
	const cJSON *v;
	int n = cJSON_IsArray(team) ? cJSON_GetArraySize(team) : -1, i;

	if (n < 1 || n > CODEC_TEAM_MAX) {
		err_field(e, "providerIds", "must be an array of 1 to %d provider UUIDs", CODEC_TEAM_MAX);
		return -1;
	}
	out->nteam = 0;
	cJSON_ArrayForEach(v, team) {
		char *id = out->team[out->nteam];

		if (!cJSON_IsString(v) || !id_uuid_parse(v->valuestring, id)) {
			err_field(e, "providerIds", "must hold UUIDs only");
			return -1;
		}
		for (i = 0; i < out->nteam; i++)
			if (strcmp(out->team[i], id) == 0) {
				err_field(e, "providerIds", "must not name a provider twice");
				return -1;
			}
		out->nteam++;
	}
	return 0;
}

int codec_book_decode(const cJSON *body, struct book_req *out, struct err *e)
{
	const cJSON *team = cJSON_IsObject(body)
				    ? cJSON_GetObjectItemCaseSensitive(body, "providerIds") : NULL;
	const cJSON *hold;
	int bad;

	if (team && cJSON_IsNull(team))
		team = NULL;
	bad = book_fields(body, out, 1, team, e);
	if (bad && !cJSON_IsObject(body))
		return -1;
	hold = cJSON_GetObjectItemCaseSensitive(body, "holdId");
	if (team && team_field(team, out, e))
		bad = -1;
	if (hold && !cJSON_IsNull(hold) &&
	    (!cJSON_IsString(hold) || !id_uuid_parse(hold->valuestring, out->hold_id))) {
		err_field(e, "holdId", "must be a UUID");
		bad = -1;
	}
	return bad ? -1 : 0;
}

int codec_hold_decode(const cJSON *body, struct book_req *out, int *ttl_s, struct err *e)
{
	int bad = book_fields(body, out, 0, NULL, e);

	*ttl_s = CODEC_HOLD_TTL_DEFAULT;
	if (bad && !cJSON_IsObject(body))
		return -1;
	if (codec_int_field(body, "ttlSeconds", "ttlSeconds", CODEC_HOLD_TTL_MIN,
			    CODEC_HOLD_TTL_MAX, ttl_s, e) < 0)
		bad = -1;
	return bad ? -1 : 0;
}

int codec_reschedule_decode(const cJSON *body, int64_t *start_ms, struct err *e)
{
	if (!cJSON_IsObject(body)) {
		err_field(e, "body", "must be a JSON object");
		return -1;
	}
	return codec_instant_field(cJSON_GetObjectItemCaseSensitive(body, "startTime"),
				   "startTime", start_ms, e);
}

static void add_instant(cJSON *o, const char *key, int64_t ms)
{
	char buf[32];

	civil_format_instant(ms, buf);
	cJSON_AddStringToObject(o, key, buf);
}

int codec_decline_decode(const cJSON *body, char reason[APPT_REASON_MAX * 4 + 1], struct err *e)
{
	const cJSON *r;
	int len;

	reason[0] = '\0';
	if (!body || cJSON_IsNull(body))
		return 0;
	if (!cJSON_IsObject(body)) {
		err_field(e, "body", "must be a JSON object");
		return -1;
	}
	r = cJSON_GetObjectItemCaseSensitive(body, "reason");
	if (!r || cJSON_IsNull(r))
		return 0;
	if (!cJSON_IsString(r) || (len = utf8_printable_len(r->valuestring)) < 0 ||
	    len > APPT_REASON_MAX) {
		err_field(e, "reason", "must be at most %d characters without control characters",
			  APPT_REASON_MAX);
		return -1;
	}
	snprintf(reason, APPT_REASON_MAX * 4 + 1, "%s", r->valuestring);
	return 0;
}

int codec_attendance_decode(const cJSON *body, int *attendance, struct err *e)
{
	const cJSON *v;

	if (!cJSON_IsObject(body)) {
		err_field(e, "body", "must be a JSON object");
		return -1;
	}
	v = cJSON_GetObjectItemCaseSensitive(body, "attendance");
	if (cJSON_IsString(v) && strcmp(v->valuestring, "ATTENDED") == 0)
		*attendance = APPT_ATTENDED;
	else if (cJSON_IsString(v) && strcmp(v->valuestring, "NO_SHOW") == 0)
		*attendance = APPT_NO_SHOW;
	else {
		err_field(e, "attendance", v && !cJSON_IsNull(v) ? "must be ATTENDED or NO_SHOW"
								: "is required (ATTENDED or NO_SHOW)");
		return -1;
	}
	return 0;
}

cJSON *codec_appt_encode(const struct appt *a, int with_timestamps)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "appointmentId", a->id);
	cJSON_AddStringToObject(o, "status", appt_status_name(a->status));
	cJSON_AddStringToObject(o, "patientId", a->patient_id);
	cJSON_AddStringToObject(o, "providerId", a->provider_id);
	add_instant(o, "startTime", a->start_ms);
	add_instant(o, "endTime", a->end_ms);
	if (with_timestamps) {
		add_instant(o, "createdAt", a->created_ms);
		add_instant(o, "updatedAt", a->updated_ms);
	}
	if (a->reason[0])
		cJSON_AddStringToObject(o, "cancellationReason", a->reason);
	else
		cJSON_AddNullToObject(o, "cancellationReason");
	cJSON_AddNumberToObject(o, "version", a->version);
	cJSON_AddStringToObject(o, "serviceId", a->service_id);
	if (appt_attendance_name(a->attendance))
		cJSON_AddStringToObject(o, "attendance", appt_attendance_name(a->attendance));
	else
		cJSON_AddNullToObject(o, "attendance");
	if (a->decline_reason[0])
		cJSON_AddStringToObject(o, "declineReason", a->decline_reason);
	else
		cJSON_AddNullToObject(o, "declineReason");
	return o;
}

cJSON *codec_hhmm_list(const struct slot *slots, int n)
{
	cJSON *arr = cJSON_CreateArray();
	char buf[6];
	int i;

	for (i = 0; i < n; i++) {
		civil_format_hhmm(slots[i].local_min, buf);
		cJSON_AddItemToArray(arr, cJSON_CreateString(buf));
	}
	return arr;
}

cJSON *codec_availability_encode(const char *provider_id, int32_t date, const char *tz,
				 int duration_min, const struct slot *slots, int n)
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char buf[11];
	int i;

	cJSON_AddStringToObject(o, "providerId", provider_id);
	civil_format_date(date, buf);
	cJSON_AddStringToObject(o, "date", buf);
	cJSON_AddItemToObject(o, "availableSlots", codec_hhmm_list(slots, n));
	cJSON_AddStringToObject(o, "timezone", tz);
	arr = cJSON_AddArrayToObject(o, "slots");
	for (i = 0; i < n; i++) {
		cJSON *s = cJSON_CreateObject();

		add_instant(s, "startTime", slots[i].start * 1000);
		add_instant(s, "endTime", (slots[i].start + (int64_t)duration_min * 60) * 1000);
		cJSON_AddNumberToObject(s, "seatsLeft", slots[i].seats_left);
		cJSON_AddItemToArray(arr, s);
	}
	return o;
}

char *codec_event_envelope(const char *event_id, const char *type, int64_t ts_ms,
			   cJSON *payload)
{
	cJSON *o = cJSON_CreateObject();
	char *out;

	cJSON_AddStringToObject(o, "eventId", event_id);
	cJSON_AddStringToObject(o, "eventType", type);
	add_instant(o, "timestamp", ts_ms);
	cJSON_AddItemToObject(o, "payload", payload);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}
