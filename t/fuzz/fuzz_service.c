/*
 * fuzz_service.c - PUT /api/providers/{id}/services/{serviceId} bodies: the
 * body checks (http_decode_json_body), then codec_service_decode. A decoded
 * service keeps every bound of the contract's table, and its stored form
 * decodes back to the same service and encodes to the same bytes (that is
 * how it is stored, compared and read back).
 */
#include <stdlib.h>
#include <string.h>

#include "api/codec_service.h"
#include "core/utf8.h"
#include "fuzz.h"

static int inherit_ok(int v, int lo, int hi)
{
	return v == SERVICE_INHERIT || (v >= lo && v <= hi);
}

void fuzz_service(const uint8_t *data, size_t size)
{
	struct arena a;
	struct http_req req;
	struct err e;
	struct service sv, back;
	const cJSON *body;

	arena_init(&a, 0);
	err_init(&e);
	memset(&sv, 0, sizeof sv);
	body = fuzz_json_body(&req, &a, data, size, &e);
	if (body && codec_service_decode(body, &sv, &e) == 0) {
		char *text = codec_service_config(&sv), *again;
		cJSON *stored;
		int len = utf8_printable_len(sv.name);

		FUZZ_CHECK(!err_is_set(&e));
		FUZZ_CHECK(len >= 1 && len <= SERVICE_NAME_MAX);
		FUZZ_CHECK(sv.duration >= SCHED_MIN_DURATION && sv.duration <= SCHED_MAX_DURATION);
		FUZZ_CHECK(inherit_ok(sv.slot_interval, SCHED_MIN_DURATION, SCHED_MAX_DURATION));
		FUZZ_CHECK(inherit_ok(sv.buffer_before, 0, SCHED_MAX_BUFFER));
		FUZZ_CHECK(inherit_ok(sv.buffer_after, 0, SCHED_MAX_BUFFER));
		FUZZ_CHECK(inherit_ok(sv.minimum_notice, 0, SCHED_MAX_NOTICE));
		FUZZ_CHECK(inherit_ok(sv.horizon_days, 1, SCHED_MAX_HORIZON_DAYS));
		FUZZ_CHECK(sv.capacity >= 1 && sv.capacity <= SERVICE_MAX_CAPACITY);
		FUZZ_CHECK(sv.limit_day >= 0 && sv.limit_day <= SCHED_MAX_LIMIT);
		FUZZ_CHECK(sv.limit_week >= 0 && sv.limit_week <= SCHED_MAX_LIMIT);
		FUZZ_CHECK(sv.cancellation_notice >= 0 && sv.cancellation_notice <= SERVICE_MAX_NOTICE);
		FUZZ_CHECK(sv.reschedule_notice >= 0 && sv.reschedule_notice <= SERVICE_MAX_NOTICE);
		FUZZ_CHECK(text != NULL);
		stored = cJSON_Parse(text);
		FUZZ_CHECK(stored != NULL);
		memset(&back, 0, sizeof back);
		FUZZ_CHECK(codec_service_decode(stored, &back, &e) == 0);
		FUZZ_CHECK(memcmp(&back, &sv, sizeof sv) == 0);
		again = codec_service_config(&back);
		FUZZ_CHECK(again && strcmp(again, text) == 0);
		cJSON_free(again);
		cJSON_Delete(stored);
		cJSON_free(text);
	} else if (body) {
		fuzz_check_err(&e);
	}
	err_clear(&e);
	arena_destroy(&a);
}

FUZZ_TARGET(service)
