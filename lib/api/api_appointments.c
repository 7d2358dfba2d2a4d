/*
 * api_appointments.c - POST/GET /api/appointments and
 * GET/PUT/DELETE /api/appointments/{id}.
 *
 * Booking and rescheduling lock the provider row first (SELECT ... FOR
 * UPDATE), then read the confirmed appointments around the instant and ask
 * the engine; the decision and the write share one transaction, so of any
 * number of concurrent requests for overlapping times at most one succeeds.
 * Each committed change writes exactly one outbox event; a request that
 * changes nothing writes none.
 */
#include "api/api.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/codec.h"
#include "api/codec_service.h"
#include "api/offer.h"
#include "core/apikey.h"
#include "core/ids.h"
#include "core/utf8.h"
#include "engine/civil.h"
#include "engine/sched.h"
#include "engine/slot.h"
#include "store/store.h"

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT 500
#define DEFAULT_REASON "CLIENT_REQUEST"

/* The fields every appointment event's payload starts with. */
static cJSON *event_payload(const struct appt *a)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "appointmentId", a->id);
	cJSON_AddStringToObject(p, "patientId", a->patient_id);
	cJSON_AddStringToObject(p, "providerId", a->provider_id);
	cJSON_AddStringToObject(p, "serviceId", a->service_id);
	cJSON_AddStringToObject(p, "status", appt_status_name(a->status));
	return p;
}

/*
 * The notice policy of a change by the caller (contract: POLICY_VIOLATION):
 * for a key of scope booking, when the appointment's service asks notice
 * minutes (its current value; `default` asks none) and the appointment
 * starts sooner than that, 409 POLICY_VIOLATION. Admin keys are exempt.
 * what: "cancellation" or "reschedule".
 */
static int check_notice(struct api_ctx *c, struct http_req *req, const struct appt *a,
			const char *what, struct err *e)
{
	struct store_service row;
	struct service *sv;
	int notice;

	if (req->principal.scope >= APIKEY_ADMIN || strcmp(a->service_id, SERVICE_DEFAULT) == 0)
		return 0;
	if (store_service_get(c->store, req->arena, a->provider_id, a->service_id, &row, e) ||
	    offer_services_decode(req->arena, &row, 1, &sv, e))
		return -1;
	notice = strcmp(what, "cancellation") == 0 ? sv->cancellation_notice : sv->reschedule_notice;
	if (notice > 0 && a->start_ms - req->now_ms < (int64_t)notice * 60000)
		return err_set(e, 409, "POLICY_VIOLATION",
			       "The service's %s notice is %d minutes: this appointment starts too soon"
			       " to be %s by this key.", what, notice,
			       strcmp(what, "cancellation") == 0 ? "cancelled" : "rescheduled");
	return 0;
}

/* The appointment id (lock: FOR UPDATE); one of a provider the caller may not see is unknown. */
static int read_appt(struct api_ctx *c, struct http_req *req, const char *id, int lock,
		     struct appt *a, struct err *e)
{
	if (store_appt_get(c->store, req->arena, id, lock, a, e))
		return -1;
	if (!api_provider_visible(req, a->provider_id))
		return ERR_NOT_FOUND(e, "Appointment not found.");
	return 0;
}

/* Locks the appointment's provider, then the appointment (the order every change takes). */
static int lock_appt(struct api_ctx *c, struct http_req *req, struct appt *a, const char **config,
		     struct err *e)
{
	char id[ID_UUID_LEN + 1];

	if (api_path_id(req, id, "Appointment", e) || store_begin(c->store, e) ||
	    store_provider_lock_of_appt(c->store, req->arena, id, config, e) ||
	    read_appt(c, req, id, 1, a, e))
		return -1;
	return 0;
}

/* Writes the event of a change (its payload filled by the caller), commits, answers. */
static int commit_change(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			 const struct appt *a, const char *type, cJSON *payload, struct err *e)
{
	if (type && api_emit(c, req, type, a->id, payload, e))
		return -1;
	if (store_commit(c->store, e))
		return -1;
	resp->status = 200;
	resp->json = codec_appt_encode(a, 1);
	return 0;
}

int api_appt_create(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		    struct err *e)
{
	struct book_req b;
	struct sched s;
	struct service sv;
	struct slot_service eff;
	struct appt a;
	const char *config;
	cJSON *payload;
	int held;

	/*
	 * A live hold it names gives its seat, end and buffers (api_hold_offer);
	 * a team booking chooses its provider (api_team_choose).
	 */
	if (codec_book_decode(req->json, &b, e) ||
	    (!b.nteam && api_provider_check(req, b.provider_id, e)) || store_begin(c->store, e))
		return -1;
	if (b.nteam)
		held = api_team_choose(c, req, &b, &s, &sv, &eff, e);
	else if (store_provider_get(c->store, req->arena, b.provider_id, 1, &config, NULL, NULL, e))
		return -1;
	else
		held = api_hold_offer(c, req, &b, config, &s, &sv, &eff, e);
	if (held < 0)
		return -1;
	memset(&a, 0, sizeof a);
	id_uuid4(a.id);
	memcpy(a.provider_id, b.provider_id, sizeof a.provider_id);
	memcpy(a.patient_id, b.patient_id, sizeof a.patient_id);
	snprintf(a.service_id, sizeof a.service_id, "%s", sv.id);
	a.start_ms = b.start_ms;
	a.end_ms = b.start_ms + (int64_t)eff.duration * 60000;
	a.buffer_before = eff.buffer_before;
	a.buffer_after = eff.buffer_after;
	a.status = sv.requires_confirmation ? APPT_PENDING : APPT_CONFIRMED;
	a.version = 1;
	a.created_ms = a.updated_ms = req->now_ms;
	if (store_appt_insert(c->store, req->arena, &a, e) ||
	    (held && store_hold_convert(c->store, req->arena, b.hold_id, a.id, req->now_ms, e)))
		return -1;
	payload = event_payload(&a);
	api_add_instant(payload, "appointmentTime", a.start_ms);
	api_add_instant(payload, "endTime", a.end_ms);
	if (api_emit(c, req, a.status == APPT_PENDING ? "APPOINTMENT_REQUESTED" : "APPOINTMENT_CONFIRMED",
		     a.id, payload, e) ||
	    store_commit(c->store, e))
		return -1;
	resp->status = 201;
	resp->json = codec_appt_encode(&a, 0);
	return 0;
}

int api_appt_get(struct api_ctx *c, struct http_req *req, struct http_resp *resp, struct err *e)
{
	char id[ID_UUID_LEN + 1];
	struct appt a;

	if (api_path_id(req, id, "Appointment", e) || read_appt(c, req, id, 0, &a, e))
		return -1;
	resp->status = 200;
	resp->json = codec_appt_encode(&a, 1);
	return 0;
}

int api_appt_reschedule(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			struct err *e)
{
	int64_t start_ms, previous;
	struct appt a;
	struct sched s;
	struct service sv;
	struct slot_service eff;
	const char *config;
	cJSON *payload;

	/* Order: 404, 400, the same-time 200, POLICY_VIOLATION, the new slot's 409. */
	if (codec_reschedule_decode(req->json, &start_ms, e) || lock_appt(c, req, &a, &config, e))
		return -1;
	if (!config) /* it appeared between the two statements */
		return ERR_NOT_FOUND(e, "Appointment not found.");
	if (a.status == APPT_CANCELLED || a.status == APPT_DECLINED)
		return ERR_BAD_REQUEST(e, "A %s appointment cannot be rescheduled.",
				       a.status == APPT_CANCELLED ? "cancelled" : "declined");
	if (a.attendance != APPT_ATTENDANCE_NONE)
		return ERR_BAD_REQUEST(e, "An appointment whose attendance was recorded cannot be"
				       " rescheduled.");
	if (a.start_ms == start_ms)
		return commit_change(c, req, resp, &a, NULL, NULL, e);
	if (check_notice(c, req, &a, "reschedule", e))
		return -1;
	/* The service as it is now: a retired one offers nothing (409, not 404). */
	if (offer_check(c, req, a.provider_id, config, a.service_id, start_ms, a.id, &s, &sv, &eff,
			e)) {
		if (e->status != 404)
			return -1;
		err_clear(e);
		return ERR_SLOT_TAKEN(e);
	}
	previous = a.start_ms;
	a.start_ms = start_ms;
	a.end_ms = start_ms + (int64_t)eff.duration * 60000;
	a.buffer_before = eff.buffer_before;
	a.buffer_after = eff.buffer_after;
	a.updated_ms = req->now_ms;
	if (store_appt_reschedule(c->store, req->arena, &a, e))
		return -1;
	payload = event_payload(&a);
	api_add_instant(payload, "newAppointmentTime", a.start_ms);
	api_add_instant(payload, "previousAppointmentTime", previous);
	api_add_instant(payload, "endTime", a.end_ms);
	return commit_change(c, req, resp, &a, "APPOINTMENT_RESCHEDULED", payload, e);
}

/* Commits and answers DELETE's message. */
static int commit_change_message(struct api_ctx *c, struct http_resp *resp, struct err *e)
{
	if (store_commit(c->store, e))
		return -1;
	resp->status = 200;
	resp->json = cJSON_CreateObject();
	cJSON_AddStringToObject(resp->json, "message", "Appointment cancelled successfully.");
	return 0;
}

int api_appt_cancel(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		    struct err *e)
{
	const char *reason = http_query(req, "reason");
	struct appt a;
	cJSON *payload;
	int len;

	if (api_path_id(req, a.id, "Appointment", e))
		return -1;
	if (!reason || !*reason)
		reason = DEFAULT_REASON;
	len = utf8_printable_len(reason);
	if (len < 0 || len > APPT_REASON_MAX) {
		err_field(e, "reason", "must be at most %d printable characters", APPT_REASON_MAX);
		return -1;
	}
	/* Order: 404, the 200 for a cancelled one, 400, POLICY_VIOLATION. */
	if (lock_appt(c, req, &a, NULL, e))
		return -1;
	if (a.status == APPT_CANCELLED)
		return commit_change_message(c, resp, e);
	if (a.status == APPT_DECLINED)
		return ERR_BAD_REQUEST(e, "A declined appointment cannot be cancelled.");
	if (a.attendance != APPT_ATTENDANCE_NONE)
		return ERR_BAD_REQUEST(e, "An appointment whose attendance was recorded cannot be"
				       " cancelled.");
	if (check_notice(c, req, &a, "cancellation", e))
		return -1;
	snprintf(a.reason, sizeof a.reason, "%s", reason);
	a.updated_ms = req->now_ms;
	if (store_appt_cancel(c->store, req->arena, &a, e))
		return -1;
	payload = event_payload(&a);
	cJSON_AddStringToObject(payload, "reason", a.reason);
	api_add_instant(payload, "appointmentTime", a.start_ms);
	if (api_emit(c, req, "APPOINTMENT_CANCELLED", a.id, payload, e))
		return -1;
	return commit_change_message(c, resp, e);
}

int api_appt_confirm(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e)
{
	struct appt a;
	cJSON *payload;

	if (lock_appt(c, req, &a, NULL, e))
		return -1;
	if (a.status == APPT_CONFIRMED)
		return commit_change(c, req, resp, &a, NULL, NULL, e);
	if (a.status != APPT_PENDING)
		return ERR_BAD_REQUEST(e, "A %s appointment cannot be confirmed.",
				       a.status == APPT_CANCELLED ? "cancelled" : "declined");
	a.updated_ms = req->now_ms;
	if (store_appt_confirm(c->store, req->arena, &a, e))
		return -1;
	payload = event_payload(&a);
	api_add_instant(payload, "appointmentTime", a.start_ms);
	api_add_instant(payload, "endTime", a.end_ms);
	return commit_change(c, req, resp, &a, "APPOINTMENT_CONFIRMED", payload, e);
}

int api_appt_decline(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e)
{
	char reason[APPT_REASON_MAX * 4 + 1];
	struct appt a;
	cJSON *payload;

	if (codec_decline_decode(req->json, reason, e) || lock_appt(c, req, &a, NULL, e))
		return -1;
	if (a.status == APPT_DECLINED)
		return commit_change(c, req, resp, &a, NULL, NULL, e);
	if (a.status != APPT_PENDING)
		return ERR_BAD_REQUEST(e, "A %s appointment cannot be declined: only a pending one can.",
				       a.status == APPT_CANCELLED ? "cancelled" : "confirmed");
	snprintf(a.decline_reason, sizeof a.decline_reason, "%s", reason);
	a.updated_ms = req->now_ms;
	if (store_appt_decline(c->store, req->arena, &a, e))
		return -1;
	payload = event_payload(&a);
	if (a.decline_reason[0])
		cJSON_AddStringToObject(payload, "reason", a.decline_reason);
	else
		cJSON_AddNullToObject(payload, "reason");
	api_add_instant(payload, "appointmentTime", a.start_ms);
	return commit_change(c, req, resp, &a, "APPOINTMENT_DECLINED", payload, e);
}

int api_appt_attendance(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			struct err *e)
{
	struct appt a;
	int attendance;
	cJSON *payload;

	/* The body is checked before the state. */
	if (codec_attendance_decode(req->json, &attendance, e) || lock_appt(c, req, &a, NULL, e))
		return -1;
	if (a.status != APPT_CONFIRMED)
		return ERR_BAD_REQUEST(e, "Attendance is recorded only for a confirmed appointment;"
				       " this one is %s.", appt_status_name(a.status));
	if (a.start_ms > req->now_ms)
		return ERR_BAD_REQUEST(e, "Attendance cannot be recorded before the appointment"
				       " starts: it has not started yet.");
	if (a.attendance == attendance)
		return commit_change(c, req, resp, &a, NULL, NULL, e);
	a.attendance = attendance;
	a.updated_ms = req->now_ms;
	if (store_appt_attendance(c->store, req->arena, &a, e))
		return -1;
	payload = event_payload(&a);
	api_add_instant(payload, "appointmentTime", a.start_ms);
	cJSON_AddStringToObject(payload, "attendance", appt_attendance_name(a.attendance));
	return commit_change(c, req, resp, &a, "APPOINTMENT_ATTENDANCE_RECORDED", payload, e);
}

/*
 * Cursors are "<startMs>.<appointmentId>.<check>": the position after the
 * last row of a page, and a checksum binding it to the filters, so a cursor
 * that was not issued for this query is refused (422) rather than followed.
 */
static uint32_t cursor_check(const struct http_req *req, int64_t start_ms, const char *id)
{
	static const char *const keys[] = { "providerId", "patientId", "status", "from", "to" };
	uint32_t h = 2166136261u;
	char buf[64];
	size_t k;
	const char *p;

	snprintf(buf, sizeof buf, "%" PRId64 ".%s|", start_ms, id);
	for (p = buf; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		const char *v = http_query(req, keys[k]);

		for (p = v ? v : ""; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
		h = (h ^ '|') * 16777619u;
	}
	/* Filters added later count only when given, so cursors issued before them stay valid. */
	if ((p = http_query(req, "serviceId")))
		for (p = arena_printf(req->arena, "serviceId=%s", p); *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
	return h;
}

static int parse_cursor(const struct http_req *req, const char *cur, struct appt_filter *f,
			struct err *e)
{
	char id[ID_UUID_LEN + 1];
	char *end;
	long long ms;
	unsigned long check;

	ms = strtoll(cur, &end, 10);
	if (end == cur || *end != '.' || strlen(end + 1) < ID_UUID_LEN + 2)
		goto bad;
	memcpy(id, end + 1, ID_UUID_LEN);
	id[ID_UUID_LEN] = '\0';
	if (!id_uuid_parse(id, f->after_id) || end[1 + ID_UUID_LEN] != '.')
		goto bad;
	check = strtoul(end + 2 + ID_UUID_LEN, &end, 16);
	if (*end || check != cursor_check(req, ms, f->after_id))
		goto bad;
	f->has_after = 1;
	f->after_start_ms = ms;
	return 0;
bad:
	err_field(e, "cursor", "is not a cursor this service issued for this query");
	return -1;
}

int api_appt_list(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		  struct err *e)
{
	struct appt_filter f;
	const char *v;
	struct appt *rows;
	int n, i, len;
	int64_t limit;
	cJSON *arr;
	char *provider = arena_alloc(req->arena, ID_UUID_LEN + 1);

	memset(&f, 0, sizeof f);
	f.from_ms = INT64_MIN;
	f.to_ms = INT64_MAX;
	f.limit = LIST_DEFAULT_LIMIT;
	if ((v = http_query(req, "providerId"))) {
		if (!id_uuid_parse(v, provider))
			err_field(e, "providerId", "must be a UUID");
		f.provider_id = provider;
	}
	if ((v = http_query(req, "patientId"))) {
		len = utf8_printable_len(v);
		if (len < 1 || len > APPT_PATIENT_MAX)
			err_field(e, "patientId", "must be 1 to %d printable characters", APPT_PATIENT_MAX);
		f.patient_id = v;
	}
	if ((v = http_query(req, "status"))) {
		if (appt_status_parse(v) < 0)
			err_field(e, "status", "must be PENDING, CONFIRMED, CANCELLED or DECLINED");
		f.status = v;
	}
	if ((v = http_query(req, "serviceId"))) {
		if (!codec_service_id_valid(v))
			err_field(e, "serviceId", "must match ^[a-z0-9][a-z0-9-]{0,62}$");
		f.service_id = v;
	}
	api_query_instant(req, "from", &f.from_ms, e);
	api_query_instant(req, "to", &f.to_ms, e);
	if (api_query_int(req, "limit", 1, LIST_MAX_LIMIT, LIST_DEFAULT_LIMIT, &limit, e) == 0)
		f.limit = (int)limit;
	if ((v = http_query(req, "cursor")))
		parse_cursor(req, v, &f, e);
	if (err_is_set(e))
		return -1;
	f.providers = req->principal.providers; /* a bound key lists its own providers only */
	f.nproviders = req->principal.nproviders;
	if (store_appt_list(c->store, req->arena, &f, &rows, &n, e))
		return -1;
	resp->status = 200;
	resp->json = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(resp->json, "appointments");
	for (i = 0; i < n && i < f.limit; i++)
		cJSON_AddItemToArray(arr, codec_appt_encode(&rows[i], 1));
	if (n > f.limit) {
		const struct appt *last = &rows[f.limit - 1];
		char *cur = arena_printf(req->arena, "%" PRId64 ".%s.%08x", last->start_ms, last->id,
					 cursor_check(req, last->start_ms, last->id));

		cJSON_AddStringToObject(resp->json, "nextCursor", cur);
	} else {
		cJSON_AddNullToObject(resp->json, "nextCursor");
	}
	return 0;
}
