/*
 * api_holds.c - POST /api/holds, GET and DELETE /api/holds/{id}, and the
 * conversion of a hold by a booking that names it (api_hold_offer).
 *
 * A hold is a seat kept during checkout: it is made, released and converted
 * under its provider's row lock, as bookings are, so its check and its
 * write are one decision among all of that provider's bookings and holds.
 * It is live until expiresAt, its release or its conversion; every read and
 * write judges that against the request's time in its own SQL, so nothing
 * has to run when a hold expires. Holds write no events.
 */
#include "api/api.h"

#include <string.h>

#include "api/codec.h"
#include "api/offer.h"
#include "core/ids.h"
#include "store/store.h"

/* Live holds a patientId may have at once, over all providers. */
#define HOLD_PATIENT_MAX 10

static int hold_live(const struct hold *h, int64_t now_ms)
{
	return h->ended_ms == 0 && h->expires_ms > now_ms;
}

static cJSON *hold_encode(const struct hold *h)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "holdId", h->id);
	cJSON_AddStringToObject(o, "providerId", h->provider_id);
	cJSON_AddStringToObject(o, "serviceId", h->service_id);
	api_add_instant(o, "startTime", h->start_ms);
	api_add_instant(o, "endTime", h->end_ms);
	api_add_instant(o, "expiresAt", h->expires_ms);
	if (h->patient_id[0])
		cJSON_AddStringToObject(o, "patientId", h->patient_id);
	else
		cJSON_AddNullToObject(o, "patientId");
	return o;
}

int api_hold_create(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		    struct err *e)
{
	struct book_req b;
	struct sched s;
	struct service sv;
	struct slot_service eff;
	struct hold h;
	const char *config;
	int ttl_s, n;

	/* Lock order: the provider, then the patient's hold lock (store_hold_count_patient). */
	if (codec_hold_decode(req->json, &b, &ttl_s, e) || api_provider_check(req, b.provider_id, e) ||
	    store_begin(c->store, e) ||
	    store_provider_get(c->store, req->arena, b.provider_id, 1, &config, NULL, NULL, e) ||
	    offer_check(c, req, b.provider_id, config, b.service_id, b.start_ms, NULL, &s, &sv, &eff,
			e))
		return -1;
	if (b.patient_id[0]) {
		if (store_hold_count_patient(c->store, req->arena, b.patient_id, req->now_ms, &n, e))
			return -1;
		if (n >= HOLD_PATIENT_MAX)
			return ERR_CONFLICT(e, "The patient's hold limit is reached (at most %d live holds).",
					    HOLD_PATIENT_MAX);
	}
	memset(&h, 0, sizeof h);
	id_uuid4(h.id);
	memcpy(h.provider_id, b.provider_id, sizeof h.provider_id);
	snprintf(h.service_id, sizeof h.service_id, "%s", sv.id);
	memcpy(h.patient_id, b.patient_id, sizeof h.patient_id);
	h.start_ms = b.start_ms;
	h.end_ms = b.start_ms + (int64_t)eff.duration * 60000;
	h.buffer_before = eff.buffer_before;
	h.buffer_after = eff.buffer_after;
	h.expires_ms = req->now_ms + (int64_t)ttl_s * 1000;
	if (h.expires_ms > h.start_ms)
		h.expires_ms = h.start_ms;
	h.created_ms = req->now_ms;
	if (store_hold_insert(c->store, req->arena, &h, req->principal.key_id, e) ||
	    store_commit(c->store, e))
		return -1;
	resp->status = 201;
	resp->json = hold_encode(&h);
	return 0;
}

int api_hold_get(struct api_ctx *c, struct http_req *req, struct http_resp *resp, struct err *e)
{
	char id[ID_UUID_LEN + 1];
	struct hold h;

	if (api_path_id(req, id, "Hold", e) || store_hold_get(c->store, req->arena, id, &h, e))
		return -1;
	if (!hold_live(&h, req->now_ms) || !api_provider_visible(req, h.provider_id))
		return ERR_NOT_FOUND(e, "Hold not found.");
	resp->status = 200;
	resp->json = hold_encode(&h);
	return 0;
}

int api_hold_release(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		     struct err *e)
{
	char id[ID_UUID_LEN + 1];
	const char *provider;

	/* The provider first, as every write of a hold (its trigger updates that row). */
	if (api_path_id(req, id, "Hold", e) || store_begin(c->store, e) ||
	    store_hold_lock_provider(c->store, req->arena, id, &provider, e))
		return -1;
	if (!provider || !api_provider_visible(req, provider))
		return ERR_NOT_FOUND(e, "Hold not found.");
	if (store_hold_release(c->store, req->arena, id, req->now_ms, e) ||
	    store_commit(c->store, e))
		return -1;
	resp->status = 200;
	resp->json = cJSON_CreateObject();
	cJSON_AddStringToObject(resp->json, "message", "Hold released.");
	return 0;
}

int api_hold_match(struct api_ctx *c, struct http_req *req, const struct book_req *b,
		   struct hold *h, struct err *e)
{
	int i, among;

	if (!b->hold_id[0])
		return 0;
	if (store_hold_get(c->store, req->arena, b->hold_id, h, e)) {
		if (e->status != 404)
			return -1;
		err_clear(e); /* unknown: booked as if no holdId were given */
		return 0;
	}
	if (!hold_live(h, req->now_ms) || !api_provider_visible(req, h->provider_id))
		return 0; /* as unknown: another provider's hold, for a key not bound to it */
	among = !b->nteam && strcmp(h->provider_id, b->provider_id) == 0;
	for (i = 0; i < b->nteam; i++)
		among |= strcmp(h->provider_id, b->team[i]) == 0;
	if (!among || strcmp(h->service_id, b->service_id) != 0 || h->start_ms != b->start_ms ||
	    (h->patient_id[0] && strcmp(h->patient_id, b->patient_id) != 0)) {
		err_field(e, "holdId", "names a live hold of another provider, service, "
			  "startTime or patient");
		return -1;
	}
	return 1;
}

int api_hold_place(struct api_ctx *c, struct http_req *req, const struct book_req *b,
		   const char *config, const struct hold *h, struct sched *s, struct service *sv,
		   struct slot_service *eff, struct err *e)
{
	/*
	 * The hold takes the appointment's place: its end and buffers,
	 * whatever the service says now; its seat was counted all along.
	 */
	if (offer_resolve(c, req, h->provider_id, config, b->service_id, s, sv, eff, e))
		return -1;
	eff->duration = (int)((h->end_ms - h->start_ms) / 60000);
	eff->buffer_before = h->buffer_before;
	eff->buffer_after = h->buffer_after;
	return 0;
}

int api_hold_offer(struct api_ctx *c, struct http_req *req, const struct book_req *b,
		   const char *config, struct sched *s, struct service *sv,
		   struct slot_service *eff, struct err *e)
{
	struct hold h;
	int held = api_hold_match(c, req, b, &h, e);

	if (held < 0)
		return -1;
	if (held)
		return api_hold_place(c, req, b, config, &h, s, sv, eff, e) ? -1 : 1;
	return offer_check(c, req, b->provider_id, config, b->service_id, b->start_ms, NULL, s, sv,
			   eff, e) ? -1 : 0;
}
