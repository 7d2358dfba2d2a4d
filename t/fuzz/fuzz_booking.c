/*
 * fuzz_booking.c - POST /api/appointments bodies: the body checks (http_decode_json_body),
 * then codec_book_decode. A decoded booking holds a printable patientId of
 * 1..APPT_PATIENT_MAX characters copied whole, a lower-case UUID, and an
 * instant that formats and parses back to itself.
 */
#include <string.h>

#include "api/codec.h"
#include "core/utf8.h"
#include "fuzz.h"

void fuzz_booking(const uint8_t *data, size_t size)
{
	struct arena a;
	struct http_req req;
	struct err e;
	struct book_req b;
	const cJSON *body;

	arena_init(&a, 0);
	err_init(&e);
	body = fuzz_json_body(&req, &a, data, size, &e);
	if (body && codec_book_decode(body, &b, &e) == 0) {
		const cJSON *pat = cJSON_GetObjectItemCaseSensitive(body, "patientId");
		char uuid[ID_UUID_LEN + 1];
		int len = utf8_printable_len(b.patient_id);

		FUZZ_CHECK(!err_is_set(&e));
		FUZZ_CHECK(len >= 1 && len <= APPT_PATIENT_MAX);
		FUZZ_CHECK(strcmp(b.patient_id, pat->valuestring) == 0);
		FUZZ_CHECK(id_uuid_parse(b.provider_id, uuid) && strcmp(uuid, b.provider_id) == 0);
		fuzz_check_instant(b.start_ms);
	} else if (body) {
		fuzz_check_err(&e);
	}
	err_clear(&e);
	arena_destroy(&a);
}

FUZZ_TARGET(booking)
