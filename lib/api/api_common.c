/*
 * api_common.c - what several handlers share: the stored configuration
 * decoded through the same validator requests use, and event emission.
 */
#include "api/api.h"

#include <stdio.h>

#include "api/codec.h"
#include "core/daemon.h"
#include "core/ids.h"
#include "engine/civil.h"
#include "engine/sched.h"
#include "engine/slot.h"
#include "store/store.h"

static void free_json(void *p)
{
	cJSON_Delete(p);
}

int api_sched_from_config(struct api_ctx *c, struct http_req *req, const char *config,
			  struct sched *out, struct err *e)
{
	cJSON *j = cJSON_Parse(config);
	struct err inner;

	if (!j)
		return ERR_INTERNAL(e, "Internal server error.");
	arena_cleanup(req->arena, free_json, j);
	err_init(&inner);
	if (codec_sched_decode(j, c->tzc, req->arena, out, &inner)) {
		/* A stored configuration always passed validation: the tz database changed under us. */
		daemon_log_msg("error", "stored_config_invalid", "provider configuration: %s",
			       inner.message);
		err_clear(&inner);
		return ERR_INTERNAL(e, "Internal server error.");
	}
	return 0;
}

int api_emit_at(struct store *s, struct arena *a, int64_t now_ms, const char *type,
		const char *aggregate, cJSON *payload, struct err *e)
{
	char uuid[37], event_id[48];
	char *envelope;
	int rc;

	id_uuid4(uuid);
	snprintf(event_id, sizeof event_id, "evt_%s", uuid);
	envelope = codec_event_envelope(event_id, type, now_ms, payload);
	if (!envelope)
		return ERR_INTERNAL(e, "Internal server error.");
	rc = store_outbox_add(s, a, uuid, type, aggregate, envelope, e);
	cJSON_free(envelope);
	return rc;
}

int api_emit(struct api_ctx *c, struct http_req *req, const char *type, const char *aggregate,
	     cJSON *payload, struct err *e)
{
	return api_emit_at(c->store, req->arena, req->now_ms, type, aggregate, payload, e);
}

int api_path_id(const struct http_req *req, char out[ID_UUID_LEN + 1], const char *what,
		struct err *e)
{
	if (!req->path_id || !id_uuid_parse(req->path_id, out))
		return ERR_NOT_FOUND(e, "%s not found.", what);
	return 0;
}

void api_add_instant(cJSON *o, const char *key, int64_t ms)
{
	char buf[32];

	civil_format_instant(ms, buf);
	cJSON_AddStringToObject(o, key, buf);
}

int api_query_instant(struct http_req *req, const char *name, int64_t *out, struct err *e)
{
	const char *v = http_query(req, name);
	cJSON *s;
	int rc;

	if (!v)
		return 0;
	s = cJSON_CreateString(v);
	rc = codec_instant_field(s, name, out, e);
	cJSON_Delete(s);
	return rc;
}

int api_query_int(struct http_req *req, const char *name, int64_t min, int64_t max,
		  int64_t dflt, int64_t *out, struct err *e)
{
	const char *v = http_query(req, name);
	const char *p;
	int64_t n = 0;
	int big = 0;

	*out = dflt;
	if (!v)
		return 0;
	for (p = v; *p >= '0' && *p <= '9'; p++) {
		int d = *p - '0';

		/* n * 10 + d > max, asked without computing it (it may overflow). */
		if (n > (max - d) / 10)
			big = 1;
		else
			n = n * 10 + d;
	}
	if (p == v || *p || big || n < min || n > max) {
		err_field(e, name, "must be an integer from %lld to %lld", (long long)min,
			  (long long)max);
		return -1;
	}
	*out = n;
	return 0;
}
