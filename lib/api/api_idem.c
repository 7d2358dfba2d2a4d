/*
 * api_idem.c - Idempotency-Key on POST, PUT and DELETE of appointments.
 *
 * The wrapper opens the transaction the handler then works in (store_begin
 * nests), takes a transaction advisory lock on (API key, Idempotency-Key)
 * and either replays the stored answer or runs the handler and stores its
 * answer before the one commit. So the answer exists exactly when the
 * change committed, a second request with the key while the first runs is
 * told 409 IDEMPOTENCY_KEY_IN_USE at once, and concurrent retries can never
 * make two appointments.
 *
 * As the contract asks, every outcome is remembered except a request
 * rejected before it could change anything (401, 403, 413, 415 and malformed
 * JSON never reach the wrapper; 422 is not stored), so a corrected retry
 * runs. A failed handler's work is undone to a savepoint, under the same
 * lock, and its error answer (409, 404, 400, 5xx) stored in its place. Only
 * when the database itself is gone is nothing stored.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

#include "core/digest.h"
#include "store/store.h"

#define IDEM_KEY_MAX 255

/*
 * The key as sent bare or as an RFC 8941 string ("..." with \" and \\
 * escapes), so "k1" and k1 are one key; NULL unless it is 1 to
 * IDEM_KEY_MAX printable ASCII characters.
 */
static const char *idem_key_value(struct arena *a, const char *k)
{
	size_t n = strlen(k), i;
	char *out, *o;

	for (i = 0; i < n; i++)
		if (k[i] < 0x20 || k[i] > 0x7e)
			return NULL;
	if (n == 0 || k[0] != '"')
		return n >= 1 && n <= IDEM_KEY_MAX ? k : NULL;
	if (n < 2 || k[n - 1] != '"')
		return NULL;
	out = o = arena_alloc(a, n);
	for (i = 1; i < n - 1; i++) {
		if (k[i] == '"')
			return NULL;
		if (k[i] == '\\') {
			if (i + 1 >= n - 1 || (k[i + 1] != '"' && k[i + 1] != '\\'))
				return NULL;
			i++;
		}
		*o++ = k[i];
	}
	*o = '\0';
	return o > out && (size_t)(o - out) <= IDEM_KEY_MAX ? out : NULL;
}

/* Stores the answer in resp under the key, in the open transaction. */
static int idem_put(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		    const char *k, const char *hash, struct err *e)
{
	if (resp->json) {
		char *text = cJSON_PrintUnformatted(resp->json);

		if (!text)
			return ERR_INTERNAL(e, "Internal server error.");
		resp->raw = arena_strdup(req->arena, text);
		cJSON_free(text);
		cJSON_Delete(resp->json);
		resp->json = NULL;
	}
	return store_idem_put(c->store, req->arena, req->principal.key_id, k, hash, resp->status,
			      resp->raw ? resp->raw : "", e);
}

/*
 * The handler failed with e. Unless e is a rejection (422), undoes its work
 * to the savepoint, answers with e and stores that answer; returns 0 then,
 * -1 (e kept) when nothing could be stored.
 */
static int idem_remember_error(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
			       const char *k, const char *hash, struct err *e)
{
	struct err db;

	if (e->status == 422)
		return -1;
	err_init(&db);
	if (store_rollback_to_savepoint(c->store, &db) == 0) {
		http_resp_error(req, resp, e);
		if (idem_put(c, req, resp, k, hash, &db) == 0 && store_commit(c->store, &db) == 0) {
			err_clear(e);
			return 0;
		}
	}
	err_clear(&db);
	return -1;
}

/* Hex SHA-256 of what makes two requests "the same": method, path, query, body. */
static void request_hash(const struct http_req *req, char out[DIGEST_SHA256_HEX_LEN + 1])
{
	const char *q = req->query ? req->query : "";
	struct iovec part[4] = {
		{ (void *)req->method, strlen(req->method) + 1 },
		{ (void *)req->path, strlen(req->path) + 1 },
		{ (void *)q, strlen(q) + 1 },
		{ (void *)(req->body ? req->body : ""), req->body ? req->body_len : 0 },
	};

	digest_sha256_hex(part, 4, out);
}

int api_idempotent(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		   api_handler fn, struct err *e)
{
	const char *k, *stored_hash, *stored;
	char hash[DIGEST_SHA256_HEX_LEN + 1];
	int got, status, found;

	if (!req->idempotency_key)
		return fn(c, req, resp, e);
	k = idem_key_value(req->arena, req->idempotency_key);
	if (!k || !req->principal.key_id) {
		err_field(e, "Idempotency-Key", "must be 1 to %d printable ASCII characters",
			  IDEM_KEY_MAX);
		return -1;
	}
	request_hash(req, hash);
	if (store_begin(c->store, e) ||
	    store_idem_lock(c->store, req->arena, req->principal.key_id, k, &got, e))
		return -1;
	if (!got)
		return err_set(e, 409, "IDEMPOTENCY_KEY_IN_USE",
			       "A request with this Idempotency-Key is still in progress.");
	found = store_idem_get(c->store, req->arena, req->principal.key_id, k, &stored_hash, &status,
			       &stored, e);
	if (found < 0)
		return -1;
	if (found) {
		if (strcmp(stored_hash, hash) != 0)
			return err_set(e, 422, "IDEMPOTENCY_KEY_REUSED",
				       "This Idempotency-Key was used for a different request.");
		if (store_commit(c->store, e))
			return -1;
		resp->status = status;
		resp->raw = stored;
		http_resp_header(resp, "Idempotent-Replayed", "true");
		resp->replayed = 1;
		return 0;
	}
	if (store_savepoint(c->store, e))
		return -1;
	if (fn(c, req, resp, e) || err_is_set(e))
		return idem_remember_error(c, req, resp, k, hash, e);
	if (idem_put(c, req, resp, k, hash, e))
		return -1;
	return store_commit(c->store, e);
}
