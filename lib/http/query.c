/*
 * query.c - the query string: split on '&', percent-decoded, bounded (its
 * length, the number of parameters). Names and values may be anything but
 * NUL; each handler checks the values it reads.
 */
#include <string.h>

#include "core/utf8.h"
#include "http/http.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..n) ('+' is a space); NULL if a %-escape is broken or decodes to NUL. */
static char *decode(struct arena *a, const char *s, size_t n)
{
	char *out = arena_alloc(a, n + 1), *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int h, l;

			if (i + 2 >= n || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0 ||
			    (h == 0 && l == 0))
				return NULL;
			*o++ = (char)(h * 16 + l);
			i += 2;
		} else {
			*o++ = s[i] == '+' ? ' ' : s[i];
		}
	}
	*o = '\0';
	return out;
}

int http_parse_query(struct http_req *req, struct err *e)
{
	const char *p = req->query;

	req->nparams = 0;
	if (p && strlen(p) > HTTP_MAX_QUERY) {
		err_field(e, "query", "must be at most %d bytes", HTTP_MAX_QUERY);
		return -1;
	}
	while (p && *p) {
		const char *amp = strchr(p, '&'), *eq;
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		char *key, *val;
		int i;

		eq = memchr(p, '=', len);
		if (len == 0) {
			p = amp ? amp + 1 : NULL;
			continue;
		}
		key = decode(req->arena, p, eq ? (size_t)(eq - p) : len);
		val = eq ? decode(req->arena, eq + 1, len - (size_t)(eq - p) - 1) : arena_strdup(req->arena, "");
		if (!key || !val) {
			err_field(e, "query", "is not a well-formed query string");
			return -1;
		}
		for (i = 0; i < req->nparams; i++)
			if (strcmp(req->params[i].key, key) == 0) {
				/* Named only when the name can be a field path of the answer. */
				int n = utf8_printable_len(key);

				if (n >= 1 && n <= HTTP_MAX_PARAM_NAME)
					err_field(e, key, "must be given at most once");
				else
					err_field(e, "query", "repeats a parameter");
				return -1;
			}
		if (req->nparams == HTTP_MAX_QUERY_PARAMS) {
			err_field(e, "query", "has too many parameters");
			return -1;
		}
		req->params[req->nparams].key = key;
		req->params[req->nparams].value = val;
		req->nparams++;
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

const char *http_query_peek(struct http_req *req, const char *key)
{
	const char *p = req->query;

	while (p && *p) {
		const char *amp = strchr(p, '&');
		size_t len = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		char *k = decode(req->arena, p, eq ? (size_t)(eq - p) : len);

		if (k && strcmp(k, key) == 0)
			return eq ? decode(req->arena, eq + 1, len - (size_t)(eq - p) - 1) : "";
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

const char *http_query(const struct http_req *req, const char *key)
{
	int i;

	for (i = 0; i < req->nparams; i++)
		if (strcmp(req->params[i].key, key) == 0)
			return req->params[i].value;
	return NULL;
}
