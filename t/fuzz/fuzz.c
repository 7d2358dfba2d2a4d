/*
 * fuzz.c - helpers shared by the fuzz targets (see fuzz.h). Nothing here may
 * hide a bug from a target: inputs are copied to exact-size buffers so ASan
 * catches a read one byte past the end, and every allocation is freed per
 * input so LeakSanitizer sees real leaks.
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "engine/civil.h"
#include "engine/tz.h"

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: property broken: %s\n", file, line, what);
	abort();
}

struct tz_cache *fuzz_tzc(void)
{
	static struct tz_cache *tzc;

	if (!tzc) {
		tzc = tz_cache_new("/usr/share/zoneinfo");
		if (!tzc)
			fuzz_fail(__FILE__, __LINE__, "tz cache");
		tz_cache_warm_all(tzc);
	}
	return tzc;
}

char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

const cJSON *fuzz_json_body(struct http_req *req, struct arena *a, const uint8_t *data,
			    size_t size, struct err *e)
{
	char *body = malloc(size ? size : 1);

	if (!body)
		abort();
	if (size)
		memcpy(body, data, size);
	arena_cleanup(a, free, body);
	memset(req, 0, sizeof *req);
	req->arena = a;
	req->method = "POST";
	req->path = "/";
	req->content_type = "application/json";
	req->body = body;
	req->body_len = size;
	if (http_decode_json_body(req, e)) {
		FUZZ_CHECK(e->status == 400 && !e->details);
		return NULL;
	}
	FUZZ_CHECK(req->json && !err_is_set(e));
	return req->json;
}

void fuzz_check_err(const struct err *e)
{
	const cJSON *field, *msg;
	char *text;
	cJSON *back;

	FUZZ_CHECK(err_is_set(e));
	FUZZ_CHECK(e->status == 422 && e->details && cJSON_GetArraySize(e->details) > 0);
	FUZZ_CHECK(strcmp(e->code, "VALIDATION_ERROR") == 0);
	cJSON_ArrayForEach(field, e->details) {
		FUZZ_CHECK(field->string && field->string[0]);
		FUZZ_CHECK(cJSON_IsArray(field) && cJSON_GetArraySize(field) > 0);
		cJSON_ArrayForEach(msg, field)
			FUZZ_CHECK(cJSON_IsString(msg) && msg->valuestring[0]);
	}
	/* The body the client gets is one JSON value, in UTF-8. */
	text = err_to_json(e);
	FUZZ_CHECK(text);
	FUZZ_CHECK(utf8_valid(text, strlen(text)));
	back = cJSON_Parse(text);
	FUZZ_CHECK(back);
	cJSON_Delete(back);
	cJSON_free(text);
}

void fuzz_check_instant(int64_t ms)
{
	int64_t lo = ((int64_t)civil_days_from_ymd(CIVIL_MIN_YEAR, 1, 1) - 1) * 86400000;
	int64_t hi = ((int64_t)civil_days_from_ymd(CIVIL_MAX_YEAR + 1, 1, 1) + 1) * 86400000;
	char text[32];
	int64_t back = 0;

	FUZZ_CHECK(ms >= lo && ms <= hi);
	civil_format_instant(ms, text);
	FUZZ_CHECK(strlen(text) == 24 && text[10] == 'T' && text[23] == 'Z');
	/* Years just outside the range (an offset carried them over) do not parse. */
	if (civil_parse_instant(text, &back) == 0)
		FUZZ_CHECK(back == ms);
	else
		FUZZ_CHECK(strncmp(text, "1899-", 5) == 0 || strncmp(text, "2200-", 5) == 0);
}
