/*
 * body.c - a JSON request body, checked before any handler sees it: its
 * size, its media type, UTF-8, its nesting depth, and that it is exactly one
 * JSON value. What it holds is the handler's to judge.
 */
#include <string.h>
#include <strings.h>

#include "core/utf8.h"
#include "http/http.h"

static int is_json_type(const char *ct)
{
	size_t n;

	if (!ct)
		return 0;
	while (*ct == ' ')
		ct++;
	n = strcspn(ct, "; ");
	return n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0;
}

/*
 * One pass over the raw body before cJSON sees it: rejects nesting deeper
 * than HTTP_MAX_JSON_DEPTH, and turns the escape \u0000 into \u0001.
 * cJSON keeps strings NUL-terminated, so "a\u0000b" would silently become
 * "a"; as U+0001 it is a control character, which every field refuses with
 * its own path.
 */
static int json_prescan(char *s, size_t n)
{
	int depth = 0, in_str = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (in_str) {
			if (ch == '\\') {
				if (i + 5 < n && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
					s[i + 5] = '1';
				i++;
			} else if (ch == '"')
				in_str = 0;
		} else if (ch == '"') {
			in_str = 1;
		} else if (ch == '{' || ch == '[') {
			if (++depth > HTTP_MAX_JSON_DEPTH)
				return 1;
		} else if (ch == '}' || ch == ']') {
			depth--;
		}
	}
	return 0;
}

static void free_json(void *p)
{
	cJSON_Delete(p);
}

int http_decode_json_body(struct http_req *req, struct err *e)
{
	const char *end = NULL;

	if (req->body_too_large)
		return err_set(e, 413, "PAYLOAD_TOO_LARGE", "The request body exceeds %d bytes.",
			       HTTP_MAX_BODY);
	if (!is_json_type(req->content_type))
		return err_set(e, 415, "UNSUPPORTED_MEDIA_TYPE",
			       "The request body must be sent as application/json.");
	if (!utf8_valid(req->body, req->body_len))
		return ERR_BAD_REQUEST(e, "Malformed JSON: the body is not valid UTF-8.");
	if (json_prescan((char *)req->body, req->body_len))
		return ERR_BAD_REQUEST(e, "Malformed JSON: nested deeper than %d levels.",
				       HTTP_MAX_JSON_DEPTH);
	req->json = cJSON_ParseWithLengthOpts(req->body, req->body_len, &end, 0);
	if (!req->json)
		return ERR_BAD_REQUEST(e, "Malformed JSON in the request body.");
	arena_cleanup(req->arena, free_json, req->json);
	/* Only white space may follow the value. */
	while (end && end < req->body + req->body_len &&
	       (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (end != req->body + req->body_len)
		return ERR_BAD_REQUEST(e, "Malformed JSON in the request body.");
	return 0;
}
