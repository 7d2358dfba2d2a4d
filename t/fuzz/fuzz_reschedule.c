/*
 * fuzz_reschedule.c - PUT /api/appointments/{id} bodies ({"startTime"}):
 * the body checks (http_decode_json_body), then codec_reschedule_decode.
 */
#include "api/codec.h"
#include "fuzz.h"

void fuzz_reschedule(const uint8_t *data, size_t size)
{
	struct arena a;
	struct http_req req;
	struct err e;
	int64_t ms = 0;
	const cJSON *body;

	arena_init(&a, 0);
	err_init(&e);
	body = fuzz_json_body(&req, &a, data, size, &e);
	if (body && codec_reschedule_decode(body, &ms, &e) == 0) {
		FUZZ_CHECK(!err_is_set(&e));
		fuzz_check_instant(ms);
	} else if (body) {
		fuzz_check_err(&e);
	}
	err_clear(&e);
	arena_destroy(&a);
}

FUZZ_TARGET(reschedule)
