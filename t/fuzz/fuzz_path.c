/*
 * fuzz_path.c - the API's path matching (http_route_find over api_routes).
 * The first byte picks the method, the rest (cut at a NUL, as FastCGI's DOCUMENT_URI is)
 * is the path. A match names a route and gives {id} segments that are
 * non-empty pieces of the path without '/'; a miss lists in Allow exactly
 * methods that do match the path.
 */
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "core/ids.h"
#include "fuzz.h"

static const char *const methods[] = { "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD" };
#define N_METHODS (sizeof methods / sizeof methods[0])

static void check_id(const char *id, const char *path)
{
	char uuid[ID_UUID_LEN + 1];

	if (!id)
		return;
	FUZZ_CHECK(id[0] && !strchr(id, '/') && strstr(path, id));
	if (id_uuid_parse(id, uuid))
		FUZZ_CHECK(strlen(id) == ID_UUID_LEN);
}

/* Pattern segments that are '*', i.e. how many ids a route gives. */
static int stars(const char *pattern)
{
	int n = 0;

	for (; *pattern; pattern++)
		n += *pattern == '*';
	return n;
}

void fuzz_path(const uint8_t *data, size_t size)
{
	struct arena a;
	struct http_req req;
	char allow[HTTP_ALLOW_MAX];
	char *path;
	const char *method;

	if (size == 0)
		return;
	method = methods[data[0] % N_METHODS];
	path = fuzz_string(data + 1, size - 1);
	arena_init(&a, 0);
	memset(&req, 0, sizeof req);
	req.arena = &a;
	req.method = method;
	req.path = path;
	if (http_route_find(api_routes, api_nroutes, &req, allow)) {
		int n = stars(req.route);

		FUZZ_CHECK(strcmp(req.route, "unmatched") != 0);
		FUZZ_CHECK((n >= 1) == (req.path_id != NULL) && (n >= 2) == (req.path_id2 != NULL));
		check_id(req.path_id, path);
		check_id(req.path_id2, path);
		FUZZ_CHECK(path[0] == '/');
	} else {
		size_t i;
		char listed[HTTP_ALLOW_MAX];

		FUZZ_CHECK(strcmp(req.route, "unmatched") == 0);
		FUZZ_CHECK(strlen(allow) < HTTP_ALLOW_MAX);
		memcpy(listed, allow, sizeof listed);
		for (i = 0; i < N_METHODS; i++) {
			struct http_req other = req;
			char again[HTTP_ALLOW_MAX];
			int found;

			other.method = methods[i];
			found = http_route_find(api_routes, api_nroutes, &other, again) != NULL;
			/* No method name is a substring of another. */
			FUZZ_CHECK(found == (strstr(listed, methods[i]) != NULL));
		}
	}
	arena_destroy(&a);
	free(path);
}

FUZZ_TARGET(path)
