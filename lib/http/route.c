/*
 * route.c - the route matcher: a linear scan of the application's table,
 * which is small and ordered as written, so the first row that matches wins
 * and a path's Allow list is every method its rows have.
 */
#include "http/route.h"

#include <string.h>

#include "core/arena.h"

/* Matches path against pattern; on success id[0], id[1] are the '*' segments (arena copies). */
static int match(struct arena *a, const char *pattern, const char *path, const char *id[2])
{
	const char *p = pattern, *s = path;
	int nid = 0;

	id[0] = id[1] = NULL;
	while (*p && *s) {
		if (*p == '*') {
			const char *end = strchr(s, '/');
			size_t n = end ? (size_t)(end - s) : strlen(s);

			if (n == 0)
				return 0;
			if (nid < 2)
				id[nid++] = arena_strndup(a, s, n);
			s += n;
			p++;
		} else if (*p++ != *s++) {
			return 0;
		}
	}
	return *p == '\0' && *s == '\0';
}

const struct http_route *http_route_find(const struct http_route *routes, size_t n,
					 struct http_req *req, char allow[HTTP_ALLOW_MAX])
{
	size_t i;

	allow[0] = '\0';
	for (i = 0; i < n; i++) {
		const char *id[2];

		if (!match(req->arena, routes[i].pattern, req->path, id))
			continue;
		if (strcmp(routes[i].method, req->method) == 0) {
			req->path_id = id[0];
			req->path_id2 = id[1];
			req->route = routes[i].pattern;
			req->route_id = (int)i + 1;
			return &routes[i];
		}
		if (!strstr(allow, routes[i].method) &&
		    strlen(allow) + strlen(routes[i].method) + 2 < HTTP_ALLOW_MAX) {
			if (allow[0])
				strcat(allow, ", ");
			strcat(allow, routes[i].method);
		}
	}
	req->route = "unmatched";
	req->route_id = 0;
	return NULL;
}

void http_route_label(const char *pattern, char out[HTTP_ROUTE_LABEL_MAX])
{
	char *o = out;
	const char *p;

	for (p = pattern; *p && o < out + HTTP_ROUTE_LABEL_MAX - 5; p++) {
		if (*p == '*') {
			memcpy(o, "{id}", 4);
			o += 4;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}
