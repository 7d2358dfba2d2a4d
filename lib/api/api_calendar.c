/*
 * api_calendar.c - GET /api/providers/{id}/calendar.ics: the provider's
 * appointments as an iCalendar feed that calendar clients subscribe to.
 *
 * Calendar clients send no headers, so the route table also takes the key as
 * ?token= on this route (and on no other). Without from and to a feed starts
 * CALENDAR_PAST_DAYS back and has no upper bound, so an appointment booked
 * however far ahead reaches the provider's calendar; it never holds more
 * than CALENDAR_MAX_EVENTS events, upcoming ones kept first. The ETag is a digest
 * of the exact bytes, so If-None-Match spares a polling client the body (not
 * the server the work) while nothing changed.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

#include "core/digest.h"
#include "core/ids.h"
#include "engine/ics.h"
#include "store/store.h"

#define CALENDAR_PAST_DAYS 90
#define CALENDAR_MAX_EVENTS 10000
#define DAY_MS 86400000LL
#define ETAG_LEN 34 /* '"' + 32 hex digits (128 bits of SHA-256) + '"' */

static void etag_of(const char *text, char out[ETAG_LEN + 1])
{
	char hex[DIGEST_SHA256_HEX_LEN + 1] = "";

	digest_sha256_hex_str(text, hex);
	if (strlen(hex) < ETAG_LEN - 2) /* the crypto library failed: a tag that matches nothing stored */
		memset(hex, '0', ETAG_LEN - 2);
	out[0] = '"';
	memcpy(out + 1, hex, ETAG_LEN - 2);
	out[ETAG_LEN - 1] = '"';
	out[ETAG_LEN] = '\0';
}

/*
 * If-None-Match (RFC 9110 13.1.2): "*" or a list of entity tags, compared
 * weakly (a W/ prefix is ignored). An opaque tag may hold commas, so the
 * list is read tag by tag, not split.
 */
static int etag_matches(const char *h, const char *etag)
{
	size_t want = strlen(etag);

	for (;;) {
		const char *end;

		while (*h == ' ' || *h == '\t' || *h == ',')
			h++;
		if (*h == '\0')
			return 0;
		if (*h == '*')
			return 1;
		if (strncmp(h, "W/", 2) == 0)
			h += 2;
		if (*h != '"' || !(end = strchr(h + 1, '"')))
			return 0;
		if ((size_t)(end + 1 - h) == want && strncmp(h, etag, want) == 0)
			return 1;
		h = end + 1;
	}
}

int api_provider_calendar(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			  struct err *e)
{
	char id[ID_UUID_LEN + 1], etag[ETAG_LEN + 1];
	int64_t from = INT64_MIN, to = INT64_MAX;
	struct ics_appt *rows;
	char *text;
	int n;

	if (!id_uuid_parse(req->path_id, id))
		return ERR_NOT_FOUND(e, "Provider not found.");
	api_query_instant(req, "from", &from, e);
	api_query_instant(req, "to", &to, e);
	if (err_is_set(e))
		return -1;
	if (!http_query(req, "from") && !http_query(req, "to"))
		from = req->now_ms - CALENDAR_PAST_DAYS * DAY_MS; /* to stays open */
	if (store_appt_feed(c->store, req->arena, id, from, to, req->now_ms, CALENDAR_MAX_EVENTS,
			    &rows, &n, e))
		return -1;
	text = ics_feed(id, rows, n);
	if (!text)
		return ERR_INTERNAL(e, "Internal server error.");
	arena_cleanup(req->arena, ics_free, text);
	etag_of(text, etag);
	http_resp_header(resp, "ETag", etag);
	http_resp_header(resp, "Cache-Control", "private, no-cache");
	resp->content_type = "text/calendar; charset=utf-8";
	if (req->if_none_match && etag_matches(req->if_none_match, etag)) {
		resp->status = 304;
		resp->raw = "";
		return 0;
	}
	resp->status = 200;
	resp->raw = text;
	return 0;
}
