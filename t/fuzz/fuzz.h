/*
 * fuzz.h - what the libFuzzer targets of t/fuzz share.
 *
 * Each target file defines `void fuzz_NAME(const uint8_t *data, size_t size)`:
 * it feeds one input through the same functions a request goes through and
 * abort()s (via FUZZ_CHECK) when a property those functions promise is
 * broken. Built with FUZZ_ENTRY_POINTS, FUZZ_TARGET(NAME) also makes it the
 * binary's LLVMFuzzerTestOneInput; without, t/unit/test_regress.c calls the
 * functions on the seed corpora and the crash regressions.
 */
#ifndef APPOINTD_FUZZ_H
#define APPOINTD_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "http/http.h"

struct tz_cache;

/* Reports a broken property and aborts (a crash libFuzzer keeps). */
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/* The system tz database, loaded once per process. */
struct tz_cache *fuzz_tzc(void);

/* A malloc'd copy of data with a NUL after it (free it), so ASan sees its end. */
char *fuzz_string(const uint8_t *data, size_t size);

/*
 * A JSON request for a route that takes one: the body (an exact-size copy of
 * data) through the body checks every JSON route runs (http_decode_json_body). Returns the
 * parsed body or NULL when the API would answer 4xx; req lives in a.
 */
const cJSON *fuzz_json_body(struct http_req *req, struct arena *a, const uint8_t *data,
			    size_t size, struct err *e);
/* A decoder's error: 422 VALIDATION_ERROR naming each field, and a body that is JSON. */
void fuzz_check_err(const struct err *e);

/* An accepted instant: within the years civil accepts, and a fixed point of format -> parse. */
void fuzz_check_instant(int64_t ms);

void fuzz_schedule(const uint8_t *data, size_t size);
void fuzz_booking(const uint8_t *data, size_t size);
void fuzz_service(const uint8_t *data, size_t size);
void fuzz_reschedule(const uint8_t *data, size_t size);
void fuzz_webhook(const uint8_t *data, size_t size);
void fuzz_query(const uint8_t *data, size_t size);
void fuzz_path(const uint8_t *data, size_t size);
void fuzz_instant(const uint8_t *data, size_t size);

#ifdef FUZZ_ENTRY_POINTS
#define FUZZ_TARGET(name)                                                     \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);         \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)          \
	{                                                                     \
		fuzz_##name(data, size);                                      \
		return 0;                                                     \
	}
#else
#define FUZZ_TARGET(name)
#endif

#endif
