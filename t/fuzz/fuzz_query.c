/*
 * fuzz_query.c - query strings: http_parse_query, then every check a query
 * value meets in a handler (api_query_int with the bounds the routes use,
 * UUIDs, dates, instants, printable text such as DELETE's ?reason=). The
 * input is QUERY_STRING as FastCGI hands it over: cut at the first NUL.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "core/ids.h"
#include "core/utf8.h"
#include "engine/civil.h"
#include "fuzz.h"

/* Non-empty '&'-separated pieces: what a successful parse must have kept. */
static int pieces(const char *q)
{
	int n = 0;

	while (*q) {
		size_t len = strcspn(q, "&");

		n += len > 0;
		q += len + (q[len] == '&');
	}
	return n;
}

static void check_int(struct http_req *req, const char *name, int64_t min, int64_t max)
{
	struct err e;
	int64_t v = -1;
	const char *text = http_query(req, name);

	err_init(&e);
	if (api_query_int(req, name, min, max, 7, &v, &e) == 0) {
		FUZZ_CHECK(!err_is_set(&e));
		if (!text) {
			FUZZ_CHECK(v == 7);
		} else {
			FUZZ_CHECK(v >= min && v <= max);
			FUZZ_CHECK(strspn(text, "0123456789") == strlen(text));
			FUZZ_CHECK(strtoll(text, NULL, 10) == v);
		}
	} else {
		fuzz_check_err(&e);
		FUZZ_CHECK(cJSON_GetObjectItemCaseSensitive(e.details, name));
	}
	err_clear(&e);
}

static void check_value(const char *v)
{
	char uuid[ID_UUID_LEN + 1];
	int32_t days;
	int64_t ms;
	int len = utf8_printable_len(v);

	FUZZ_CHECK(len == -1 || (len >= 0 && (size_t)len <= strlen(v)));
	if (id_uuid_parse(v, uuid))
		FUZZ_CHECK(strlen(v) == ID_UUID_LEN && strcasecmp(uuid, v) == 0);
	if (civil_parse_date(v, &days) == 0) {
		char back[11];

		civil_format_date(days, back);
		FUZZ_CHECK(strcmp(back, v) == 0);
	}
	if (civil_parse_instant(v, &ms) == 0)
		fuzz_check_instant(ms);
}

void fuzz_query(const uint8_t *data, size_t size)
{
	struct arena a;
	struct http_req req;
	struct err e;
	char *q = fuzz_string(data, size);
	int i, j;

	arena_init(&a, 0);
	err_init(&e);
	memset(&req, 0, sizeof req);
	req.arena = &a;
	req.query = q;
	if (http_parse_query(&req, &e) == 0) {
		FUZZ_CHECK(!err_is_set(&e));
		FUZZ_CHECK(req.nparams == pieces(q) && req.nparams <= HTTP_MAX_QUERY_PARAMS);
		for (i = 0; i < req.nparams; i++) {
			FUZZ_CHECK(strlen(req.params[i].key) + strlen(req.params[i].value) <= strlen(q));
			for (j = 0; j < i; j++)
				FUZZ_CHECK(strcmp(req.params[i].key, req.params[j].key) != 0);
			FUZZ_CHECK(http_query(&req, req.params[i].key) == req.params[i].value);
			check_value(req.params[i].value);
		}
		/* The bounds of GET /api/appointments, /api/events and deliveries. */
		check_int(&req, "limit", 1, 500);
		check_int(&req, "after", 0, INT64_MAX / 10);
		check_int(&req, "before", 1, INT64_MAX / 10);
	} else {
		fuzz_check_err(&e);
	}
	err_clear(&e);
	arena_destroy(&a);
	free(q);
}

FUZZ_TARGET(query)
