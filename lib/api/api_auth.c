/*
 * api_auth.c - who is calling: the Bearer key, its scope, and the route's
 * need. Keys the database vouched for recently come from the worker's key
 * cache (cache_key.c). The caller found goes into the request's principal,
 * with the providers its key is bound to; api_provider_visible is the one
 * tenancy test every provider-scoped lookup makes.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/apikey.h"
#include "core/ids.h"
#include "store/store.h"

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

int api_authenticate(struct api_ctx *c, struct http_req *req, const char *token, int need,
		     struct err *e)
{
	const char *key = token ? token : bearer(req->authorization);
	char hash[APIKEY_HASH_LEN + 1];
	const struct cache_key_entry *hit;

	req->principal.key_id = NULL;
	req->principal.scope = APIKEY_NONE;
	req->principal.providers = NULL;
	req->principal.nproviders = 0;
	if (need == APIKEY_NONE)
		return 0;
	if (!key || !*key)
		return unauthorized(e, "An API key is required: Authorization: Bearer <key>.");
	if (!apikey_well_formed(key))
		return unauthorized(e, "The API key is malformed.");
	apikey_hash(key, hash);
	hit = cache_key_fresh(&c->keys, hash, req->now_ms);
	if (!hit) {
		char id[ID_UUID_LEN + 1];
		const char *scope;
		const char *const *providers;
		int nproviders;
		int found = store_key_lookup(c->store, req->arena, hash, id, &scope, &providers,
					     &nproviders, e);

		if (found < 0)
			return -1;
		if (!found) {
			cache_key_forget(&c->keys, hash);
			return unauthorized(e, "The API key is unknown or revoked.");
		}
		hit = cache_key_put(&c->keys, hash, id, apikey_scope_parse(scope), providers,
				    nproviders, req->now_ms);
		if (!hit)
			return ERR_UNAVAILABLE(e, "Out of memory; retry.");
	}
	req->principal.key_id = arena_strdup(req->arena, hit->id);
	req->principal.scope = hit->scope;
	/* The entry's own copy: no other key is looked up before this request ends. */
	req->principal.providers = hit->providers;
	req->principal.nproviders = hit->nproviders;
	if (hit->scope < need)
		return err_set(e, 403, "FORBIDDEN", "This API key's scope (%s) does not allow this call;"
			       " it needs %s.", apikey_scope_name(hit->scope), apikey_scope_name(need));
	return 0;
}

int api_provider_visible(const struct http_req *req, const char *provider_id)
{
	char id[ID_UUID_LEN + 1];
	int i;

	if (req->principal.nproviders == 0)
		return 1;
	if (!provider_id || !id_uuid_parse(provider_id, id))
		return 0;
	for (i = 0; i < req->principal.nproviders; i++)
		if (strcmp(req->principal.providers[i], id) == 0)
			return 1;
	return 0;
}

int api_provider_check(const struct http_req *req, const char *provider_id, struct err *e)
{
	if (api_provider_visible(req, provider_id))
		return 0;
	return ERR_NOT_FOUND(e, "Provider not found.");
}
