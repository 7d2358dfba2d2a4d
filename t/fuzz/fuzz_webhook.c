/*
 * fuzz_webhook.c - POST /api/webhooks bodies: the body checks (http_decode_json_body), then
 * api_webhook_decode (libcurl's URL parser included) with private addresses
 * allowed and refused. Refusing them may only turn an accepted body into a
 * 422 at "url", never the other way round.
 */
#include <string.h>

#include "api/api.h"
#include "core/utf8.h"
#include "fuzz.h"

static void check_accepted(const struct api_webhook_req *w)
{
	const char *p;
	int len;

	FUZZ_CHECK(w->url && w->url[0] && strlen(w->url) <= 2048);
	for (p = w->url; *p; p++)
		FUZZ_CHECK(*p > ' ' && *p <= '~');
	FUZZ_CHECK(strncmp(w->url, "http", 4) == 0 || strncmp(w->url, "HTTP", 4) == 0 ||
		   strchr(w->url, ':'));
	if (w->types) {
		size_t n = strlen(w->types);

		FUZZ_CHECK(n >= 2 && w->types[0] == '{' && w->types[n - 1] == '}');
		FUZZ_CHECK(strspn(w->types + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_,") == n - 2);
	}
	if (w->description) {
		len = utf8_printable_len(w->description);
		FUZZ_CHECK(len >= 0 && len <= 500);
	}
}

void fuzz_webhook(const uint8_t *data, size_t size)
{
	struct arena a;
	struct http_req req;
	struct err open, strict;
	struct api_webhook_req w;
	const cJSON *body;

	arena_init(&a, 0);
	err_init(&open);
	err_init(&strict);
	body = fuzz_json_body(&req, &a, data, size, &open);
	if (body) {
		int ok_open = api_webhook_decode(body, 1, &a, &w, &open) == 0;
		int ok_strict;

		if (ok_open)
			check_accepted(&w);
		else
			fuzz_check_err(&open);
		ok_strict = api_webhook_decode(body, 0, &a, &w, &strict) == 0;
		if (ok_strict) {
			check_accepted(&w);
			FUZZ_CHECK(ok_open);
		} else {
			fuzz_check_err(&strict);
			FUZZ_CHECK(!ok_open || (cJSON_GetArraySize(strict.details) == 1 &&
						cJSON_GetObjectItemCaseSensitive(strict.details, "url")));
		}
	}
	err_clear(&open);
	err_clear(&strict);
	arena_destroy(&a);
}

FUZZ_TARGET(webhook)
