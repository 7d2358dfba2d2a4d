/*
 * api_auth.c - who is calling: the Bearer key, its scope, and the route's
 * need. A worker remembers each key it has seen for API_KEY_TTL_MS, so a
 * busy key costs one lookup a second per worker and a revoked key is
 * refused everywhere within that time (the contract allows 2 s).
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/apikey.h"
#include "store/store.h"

#define API_KEY_TTL_MS 1000

static int unauthorized(struct err *e, const char *why)
{
	return err_set(e, 401, "UNAUTHORIZED", "%s", why);
}

/* The key of "Bearer KEY" (scheme in any case), or NULL. */
static const char *bearer(const char *h)
{
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	return h;
}

static struct api_key_entry *cache_find(struct api_key_cache *k, const char *hash)
{
	size_t i;

	for (i = 0; i < API_KEY_CACHE; i++)
		if (strcmp(k->entry[i].hash, hash) == 0)
			return &k->entry[i];
	return NULL;
}

int api_authenticate(struct api_ctx *c, struct http_req *req, const char *token, int need,
		     struct err *e)
{
	const char *key = token ? token : bearer(req->authorization);
	char hash[APIKEY_HASH_LEN + 1];
	struct api_key_entry *hit;

	c->principal.key_id = NULL;
	c->principal.scope = APIKEY_NONE;
	if (need == APIKEY_NONE)
		return 0;
	if (!key || !*key)
		return unauthorized(e, "An API key is required: Authorization: Bearer <key>.");
	if (!apikey_well_formed(key))
		return unauthorized(e, "The API key is malformed.");
	apikey_hash(key, hash);
	hit = cache_find(&c->keys, hash);
	if (!hit || req->now_ms - hit->checked_ms >= API_KEY_TTL_MS ||
	    req->now_ms < hit->checked_ms) {
		char id[ID_UUID_LEN + 1];
		const char *scope;
		int found = store_key_lookup(c->store, req->arena, hash, id, &scope, e);

		if (found < 0)
			return -1;
		if (!found) {
			if (hit)
				hit->hash[0] = '\0';
			return unauthorized(e, "The API key is unknown or revoked.");
		}
		if (!hit) {
			hit = &c->keys.entry[c->keys.next++ % API_KEY_CACHE];
			snprintf(hit->hash, sizeof hit->hash, "%s", hash);
		}
		snprintf(hit->id, sizeof hit->id, "%s", id);
		hit->scope = apikey_scope_parse(scope);
		hit->checked_ms = req->now_ms;
	}
	c->principal.key_id = hit->id;
	c->principal.scope = hit->scope;
	if (hit->scope < need)
		return err_set(e, 403, "FORBIDDEN", "This API key's scope (%s) does not allow this call;"
			       " it needs %s.", apikey_scope_name(hit->scope), apikey_scope_name(need));
	return 0;
}
