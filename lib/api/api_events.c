/*
 * api_events.c - GET /api/events: the commit-ordered event feed.
 *
 * Before reading, the handler numbers whatever has committed since the last
 * dispatch (store_outbox_dispatch: the relay usually has already), so a
 * consumer sees an event as soon as its transaction commits, and a sequence
 * number is never visible before every smaller one.
 */
#include "api/api.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

#define EVENTS_DEFAULT_LIMIT 100
#define EVENTS_MAX_LIMIT 1000
/* Dispatches per request, at most: a large backlog is the relay's to number. */
#define EVENTS_DISPATCH_BATCH 1000

int api_events(struct api_ctx *c, struct http_req *req, struct http_resp *resp, struct err *e)
{
	int64_t after, limit, next;
	struct feed_event *ev;
	size_t cap, len = 0;
	char *out;
	int n, i, numbered;

	api_query_int(req, "after", 0, INT64_MAX / 10, 0, &after, e);
	api_query_int(req, "limit", 1, EVENTS_MAX_LIMIT, EVENTS_DEFAULT_LIMIT, &limit, e);
	if (err_is_set(e))
		return -1;
	if (store_outbox_dispatch(c->store, req->arena, EVENTS_DISPATCH_BATCH, &numbered, e) ||
	    store_outbox_feed(c->store, req->arena, after, (int)limit, &ev, &n, e))
		return -1;
	/* Each stored envelope goes out byte for byte, "sequence" spliced in first. */
	cap = 64;
	for (i = 0; i < n; i++)
		cap += strlen(ev[i].envelope) + 48; /* ",{\"sequence\":" + 19 digits + "," */
	out = arena_alloc(req->arena, cap);
	len += (size_t)sprintf(out, "{\"events\":[");
	next = after;
	for (i = 0; i < n; i++) {
		const char *env = ev[i].envelope;

		if (env[0] != '{' || env[1] != '"')
			return ERR_INTERNAL(e, "Internal server error.");
		len += (size_t)sprintf(out + len, "%s{\"sequence\":%" PRId64 ",%s", i ? "," : "",
				       ev[i].seq, env + 1);
		next = ev[i].seq;
	}
	sprintf(out + len, "],\"nextAfter\":%" PRId64 "}", next);
	resp->status = 200;
	resp->raw = out;
	return 0;
}
