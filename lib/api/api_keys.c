/*
 * api_keys.c - /api/keys: minting, listing and revoking API keys over HTTP,
 * the same keys `appointctl key` manages (core/apikey.c makes and hashes
 * them, store/store_key.c keeps them).
 *
 * Invariant: a key's text exists only in the answer to the POST that made
 * it; the database holds its hash and no answer ever carries either again.
 * Revocation needs nothing here to reach every worker: each worker trusts a
 * key it looked up for at most the key cache's TTL (cache_key.c, 1 s), so a
 * revoked key is refused everywhere within 2 seconds.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

#include "core/apikey.h"
#include "core/ids.h"
#include "core/utf8.h"
#include "store/store.h"

#define KEY_NAME_MAX 200
#define KEY_PROVIDERS_MAX 1000

/* The POST body, checked. */
struct key_req {
	const char *scope;
	const char *name;               /* NULL when not given */
	const char *const *provider_ids; /* lower-case UUIDs, NULL for an unbound key */
	int nproviders;
};

static const char *check_scope(const cJSON *v, struct err *e)
{
	if (!cJSON_IsString(v) || apikey_scope_parse(v->valuestring) == APIKEY_NONE) {
		err_field(e, "scope", v ? "must be read, booking or admin" : "is required");
		return NULL;
	}
	return apikey_scope_name(apikey_scope_parse(v->valuestring));
}

static const char *check_name(const cJSON *v, struct err *e)
{
	int len;

	if (!v || cJSON_IsNull(v))
		return NULL;
	len = cJSON_IsString(v) ? utf8_printable_len(v->valuestring) : -1;
	if (len < 1 || len > KEY_NAME_MAX) {
		err_field(e, "name", "must be a string of 1 to %d characters without control characters",
			  KEY_NAME_MAX);
		return NULL;
	}
	return v->valuestring;
}

/* 1..KEY_PROVIDERS_MAX distinct UUIDs into out (arena), or NULL for null/absent. */
static const char *const *check_providers(struct arena *a, const cJSON *v, int *n, struct err *e)
{
	char **ids;
	const cJSON *x;
	int i = 0, j, bad = 0;

	*n = 0;
	if (!v || cJSON_IsNull(v))
		return NULL;
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) < 1 ||
	    cJSON_GetArraySize(v) > KEY_PROVIDERS_MAX) {
		err_field(e, "providerIds",
			  "must be an array of 1 to %d provider UUIDs, or null for an unbound key",
			  KEY_PROVIDERS_MAX);
		return NULL;
	}
	ids = arena_alloc(a, sizeof *ids * (size_t)cJSON_GetArraySize(v));
	cJSON_ArrayForEach(x, v) {
		char path[32];

		snprintf(path, sizeof path, "providerIds.%d", i);
		ids[i] = arena_alloc(a, ID_UUID_LEN + 1);
		if (!cJSON_IsString(x) || !id_uuid_parse(x->valuestring, ids[i])) {
			err_field(e, path, "must be a provider UUID");
			ids[i][0] = '\0';
			bad = 1;
		} else {
			for (j = 0; j < i; j++)
				if (strcmp(ids[j], ids[i]) == 0)
					break;
			if (j < i) {
				err_field(e, path, "must not name a provider twice");
				bad = 1;
			}
		}
		i++;
	}
	*n = i;
	return bad ? NULL : (const char *const *)ids;
}

static int key_decode(const cJSON *body, struct arena *a, struct key_req *out, struct err *e)
{
	memset(out, 0, sizeof *out);
	if (!cJSON_IsObject(body)) {
		err_field(e, "body", "must be a JSON object");
		return -1;
	}
	out->scope = check_scope(cJSON_GetObjectItemCaseSensitive(body, "scope"), e);
	out->name = check_name(cJSON_GetObjectItemCaseSensitive(body, "name"), e);
	out->provider_ids = check_providers(a, cJSON_GetObjectItemCaseSensitive(body, "providerIds"),
					    &out->nproviders, e);
	return err_is_set(e) ? -1 : 0;
}

/* "a,b,c" of ids[0..n), in the arena: the form store_key_list reports providers in. */
static const char *joined(struct arena *a, const char *const *ids, int n)
{
	char *out = arena_alloc(a, (size_t)n * (ID_UUID_LEN + 1) + 1), *p = out;
	int i;

	*p = '\0';
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", ids[i]);
	return out;
}

/*
 * A key as answers show it; key: its text, only in the POST's answer (else
 * NULL); providers: "id,id,..." of a bound key, NULL for an unbound one.
 */
static cJSON *key_json(const char *id, const char *key, const char *scope, const char *name,
		       const char *providers, int64_t created_ms)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", id);
	if (key)
		cJSON_AddStringToObject(o, "key", key);
	cJSON_AddStringToObject(o, "scope", scope);
	if (name)
		cJSON_AddStringToObject(o, "name", name);
	else
		cJSON_AddNullToObject(o, "name");
	if (providers) {
		cJSON *arr = cJSON_AddArrayToObject(o, "providerIds");
		const char *p = providers;

		while (*p) {
			size_t n = strcspn(p, ",");
			char one[ID_UUID_LEN + 1];

			snprintf(one, sizeof one, "%.*s", (int)(n < ID_UUID_LEN ? n : ID_UUID_LEN), p);
			cJSON_AddItemToArray(arr, cJSON_CreateString(one));
			p += n + (p[n] == ',');
		}
	} else {
		cJSON_AddNullToObject(o, "providerIds");
	}
	api_add_instant(o, "createdAt", created_ms);
	return o;
}

int api_key_create(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		   struct err *e)
{
	char key[APIKEY_LEN + 1], hash[APIKEY_HASH_LEN + 1], id[ID_UUID_LEN + 1];
	struct key_req in;
	int64_t created_ms;

	if (key_decode(req->json, req->arena, &in, e))
		return -1;
	if (apikey_new(key) < 0)
		return ERR_INTERNAL(e, "Internal server error.");
	id_uuid4(id);
	apikey_hash(key, hash);
	if (store_key_insert(c->store, req->arena, id, in.name, in.scope, hash, in.provider_ids,
			     in.nproviders, &created_ms, e))
		return -1;
	resp->status = 201;
	resp->json = key_json(id, key, in.scope, in.name,
			      in.nproviders ? joined(req->arena, in.provider_ids, in.nproviders) : NULL,
			      created_ms);
	return 0;
}

int api_key_list(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		 struct err *e)
{
	struct store_key *k;
	cJSON *arr;
	int n, i;

	if (store_key_list(c->store, req->arena, &k, &n, e))
		return -1;
	resp->status = 200;
	resp->json = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(resp->json, "keys");
	for (i = 0; i < n; i++) {
		cJSON *o = key_json(k[i].id, NULL, k[i].scope, k[i].name_null ? NULL : k[i].name,
				    k[i].providers, k[i].created_ms);

		if (k[i].revoked_ms == INT64_MIN)
			cJSON_AddNullToObject(o, "revokedAt");
		else
			api_add_instant(o, "revokedAt", k[i].revoked_ms);
		cJSON_AddItemToArray(arr, o);
	}
	return 0;
}

int api_key_revoke(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		   struct err *e)
{
	char id[ID_UUID_LEN + 1];

	if (!id_uuid_parse(req->path_id, id))
		return ERR_NOT_FOUND(e, "API key not found.");
	if (store_key_revoke(c->store, req->arena, id, e))
		return -1;
	resp->status = 204;
	return 0;
}
