/*
 * store_key.c - the api_keys table. Only hashes are stored or compared;
 * the key itself never reaches the database or a log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store.h"

const struct store_stmt store_key_stmts[] = {
	{ "key_insert",
	  "INSERT INTO api_keys (id, name, scope, key_hash, provider_ids) VALUES ($1, $2, $3, $4, $5)"
	  " RETURNING " SQL_MS("created_at") },
	{ "key_lookup",
	  "SELECT id, scope, array_to_string(provider_ids, ',') FROM api_keys"
	  " WHERE key_hash = $1 AND revoked_at IS NULL" },
	{ "key_list",
	  "SELECT id, scope, coalesce(name, ''), to_char(created_at AT TIME ZONE 'UTC',"
	  " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), coalesce(to_char(revoked_at AT TIME ZONE 'UTC',"
	  " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), " SQL_MS("created_at") ", "
	  SQL_MS("revoked_at") ", name IS NULL, array_to_string(provider_ids, ',')"
	  " FROM api_keys ORDER BY created_at, id" },
	{ "key_revoke",
	  "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1" },
	{ NULL, NULL }
};

int store_key_insert(struct store *s, struct arena *a, const char *id, const char *name,
		     const char *scope, const char *hash, const char *const *providers,
		     int nproviders, int64_t *created_ms, struct err *e)
{
	const char *p[5] = { id, name, scope, hash,
			     nproviders ? store_id_array(a, providers, nproviders) : NULL };
	PGresult *r = store_exec(s, a, "key_insert", 5, p, e);

	if (!r)
		return -1;
	if (created_ms)
		*created_ms = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	return 0;
}

/* "a,b,c" (array_to_string of uuid[]) as n ids in the arena; NULL and 0 for "" or NULL. */
static const char *const *split_ids(struct arena *a, const char *text, int *n)
{
	const char **out;
	char *p;
	int k = 1;

	*n = 0;
	if (!text || !*text)
		return NULL;
	for (p = (char *)text; *p; p++)
		k += *p == ',';
	out = arena_alloc(a, sizeof *out * (size_t)k);
	p = arena_strdup(a, text);
	out[(*n)++] = p;
	for (; *p; p++)
		if (*p == ',') {
			*p = '\0';
			out[(*n)++] = p + 1;
		}
	return out;
}

int store_key_lookup(struct store *s, struct arena *a, const char *hash, char *id,
		     const char **scope, const char *const **providers, int *nproviders,
		     struct err *e)
{
	const char *p[1] = { hash };
	PGresult *r = store_exec(s, a, "key_lookup", 1, p, e);

	if (!r)
		return -1;
	if (PQntuples(r) == 0)
		return 0;
	snprintf(id, ID_UUID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
	*scope = PQgetvalue(r, 0, 1);
	*providers = split_ids(a, PQgetisnull(r, 0, 2) ? NULL : PQgetvalue(r, 0, 2), nproviders);
	return 1;
}

int store_key_list(struct store *s, struct arena *a, struct store_key **out, int *n,
		   struct err *e)
{
	PGresult *r = store_exec(s, a, "key_list", 0, NULL, e);
	int i;

	if (!r)
		return -1;
	*n = PQntuples(r);
	*out = arena_alloc(a, sizeof **out * (size_t)(*n ? *n : 1));
	for (i = 0; i < *n; i++)
		(*out)[i] = (struct store_key){
			PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
			PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
			strtoll(PQgetvalue(r, i, 5), NULL, 10),
			PQgetisnull(r, i, 6) ? INT64_MIN : strtoll(PQgetvalue(r, i, 6), NULL, 10),
			PQgetvalue(r, i, 7)[0] == 't',
			PQgetisnull(r, i, 8) ? NULL : PQgetvalue(r, i, 8),
		};
	return 0;
}

int store_key_revoke(struct store *s, struct arena *a, const char *id, struct err *e)
{
	const char *p[1] = { id };
	PGresult *r = store_exec(s, a, "key_revoke", 1, p, e);

	if (!r)
		return -1;
	if (strcmp(PQcmdTuples(r), "0") == 0)
		return ERR_NOT_FOUND(e, "No API key with id %s.", id);
	return 0;
}
