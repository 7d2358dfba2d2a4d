/*
 * store_idem.c - the idempotency_keys table: the answer to a request that
 * carried an Idempotency-Key, kept 24 hours, scoped to the API key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store.h"

const struct store_stmt store_idem_stmts[] = {
	/* Held to the end of the transaction; a second holder is "in use". */
	{ "idem_lock", "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || ' ' || $2, 7))" },
	{ "idem_get",
	  "SELECT request_hash, status, response FROM idempotency_keys"
	  " WHERE api_key_id = $1 AND idem_key = $2 AND created_at > now() - interval '24 hours'" },
	{ "idem_put",
	  "INSERT INTO idempotency_keys (api_key_id, idem_key, request_hash, status, response)"
	  " VALUES ($1, $2, $3, $4::integer, $5) ON CONFLICT (api_key_id, idem_key) DO UPDATE"
	  " SET request_hash = $3, status = $4::integer, response = $5, created_at = now()" },
	{ "idem_prune",
	  "DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'" },
	{ NULL, NULL }
};

int store_idem_lock(struct store *s, struct arena *a, const char *key_id, const char *idem_key,
		    int *got, struct err *e)
{
	const char *p[2] = { key_id, idem_key };
	PGresult *r = store_exec(s, a, "idem_lock", 2, p, e);

	if (!r)
		return -1;
	*got = PQgetvalue(r, 0, 0)[0] == 't';
	return 0;
}

int store_idem_get(struct store *s, struct arena *a, const char *key_id, const char *idem_key,
		   const char **hash, int *status, const char **response, struct err *e)
{
	const char *p[2] = { key_id, idem_key };
	PGresult *r = store_exec(s, a, "idem_get", 2, p, e);

	if (!r)
		return -1;
	if (PQntuples(r) == 0)
		return 0;
	*hash = PQgetvalue(r, 0, 0);
	*status = atoi(PQgetvalue(r, 0, 1));
	*response = PQgetvalue(r, 0, 2);
	return 1;
}

int store_idem_put(struct store *s, struct arena *a, const char *key_id, const char *idem_key,
		   const char *hash, int status, const char *response, struct err *e)
{
	char st[16];
	const char *p[5] = { key_id, idem_key, hash, st, response };

	snprintf(st, sizeof st, "%d", status);
	return store_exec(s, a, "idem_put", 5, p, e) ? 0 : -1;
}

int store_idem_prune(struct store *s, struct arena *a, int64_t *deleted, struct err *e)
{
	PGresult *r = store_exec(s, a, "idem_prune", 0, NULL, e);

	if (!r)
		return -1;
	*deleted = strtoll(PQcmdTuples(r), NULL, 10);
	return 0;
}
