/*
 * api_idem.c - Idempotency-Key on POST, PUT and DELETE of appointments.
 *
 * The wrapper opens the transaction the handler then works in (store_begin
 * nests), takes a transaction advisory lock on (API key, Idempotency-Key)
 * and either replays the stored answer or runs the handler and stores its
 * answer before the one commit. So the answer exists exactly when the
 * change committed, a second request with the key while the first runs is
 * told 409 IDEMPOTENCY_KEY_IN_USE at once, and concurrent retries can never
 * make two appointments. Only 2xx answers are stored: an error changed
 * nothing, so a retry may run again.
 */
#include "api/api.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "store/store.h"

#define IDEM_KEY_MAX 255

static int idem_key_ok(const char *k)
{
	size_t n = strlen(k), i;

	if (n < 1 || n > IDEM_KEY_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (k[i] < 0x20 || k[i] > 0x7e)
			return 0;
	return 1;
}

/* Hex SHA-256 of what makes two requests "the same": method, path, query, body. */
static void request_hash(const struct http_req *req, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const char *q = req->query ? req->query : "";

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, req->method, strlen(req->method) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, req->path, strlen(req->path) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, q, strlen(q) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, req->body ? req->body : "", req->body ? req->body_len : 0) != 1 ||
	    EVP_DigestFinal_ex(ctx, md, &n) != 1)
		n = 0;
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < n && i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
	out[2 * (n < 32 ? n : 32)] = '\0';
}

int api_idempotent(struct api_ctx *c, struct http_req *req, struct http_resp *resp,
		   api_handler fn, struct err *e)
{
	const char *k = req->idempotency_key, *stored_hash, *stored;
	char hash[65];
	int got, status, found;

	if (!k)
		return fn(c, req, resp, e);
	if (!idem_key_ok(k) || !c->principal.key_id) {
		err_field(e, "Idempotency-Key", "must be 1 to %d printable ASCII characters",
			  IDEM_KEY_MAX);
		return -1;
	}
	request_hash(req, hash);
	if (store_begin(c->store, e) ||
	    store_idem_lock(c->store, req->arena, c->principal.key_id, k, &got, e))
		return -1;
	if (!got)
		return err_set(e, 409, "IDEMPOTENCY_KEY_IN_USE",
			       "A request with this Idempotency-Key is still in progress.");
	found = store_idem_get(c->store, req->arena, c->principal.key_id, k, &stored_hash, &status,
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
		return 0;
	}
	if (fn(c, req, resp, e) || err_is_set(e))
		return -1;
	if (resp->status >= 200 && resp->status < 300) {
		if (resp->json) {
			char *text = cJSON_PrintUnformatted(resp->json);

			if (!text)
				return ERR_INTERNAL(e, "Internal server error.");
			resp->raw = arena_strdup(req->arena, text);
			cJSON_free(text);
			cJSON_Delete(resp->json);
			resp->json = NULL;
		}
		if (store_idem_put(c->store, req->arena, c->principal.key_id, k, hash, resp->status,
				   resp->raw ? resp->raw : "", e))
			return -1;
	}
	return store_commit(c->store, e);
}
