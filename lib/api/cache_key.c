/*
 * cache_key.c - the worker's key cache (cache_key.h): a small array, looked
 * up by hash, an entry refreshed in place and a new key placed round-robin.
 * An entry's providers are one allocation: the pointers, then the ids.
 */
#include "api/cache_key.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/daemon.h"

static struct cache_key_entry *find(const struct cache_key *k, const char *hash)
{
	size_t i;

	if (!hash[0])
		return NULL;
	for (i = 0; i < CACHE_KEY_SIZE; i++)
		if (strcmp(k->entry[i].hash, hash) == 0)
			return (struct cache_key_entry *)&k->entry[i];
	return NULL;
}

const struct cache_key_entry *cache_key_fresh(const struct cache_key *k, const char *hash,
					      int64_t now_ms)
{
	const struct cache_key_entry *x = find(k, hash);

	if (!x || now_ms < x->checked_ms || now_ms - x->checked_ms >= CACHE_KEY_TTL_MS)
		return NULL;
	return x;
}

static void drop_providers(struct cache_key_entry *x)
{
	free((void *)x->providers);
	x->providers = NULL;
	x->nproviders = 0;
}

/* A copy of n ids in one allocation, or NULL for none (*ok = 0 when out of memory). */
static const char *const *copy_providers(const char *const *ids, int n, int *ok)
{
	size_t at = sizeof(char *) * (size_t)n, len = at;
	char **out, *p;
	int i;

	*ok = 1;
	if (n <= 0)
		return NULL;
	for (i = 0; i < n; i++)
		len += strlen(ids[i]) + 1;
	out = malloc(len);
	if (!out) {
		daemon_log_msg("error", "out_of_memory", "cache_key: malloc(%zu): %s", len,
			       strerror(errno));
		*ok = 0;
		return NULL;
	}
	p = (char *)out + at;
	for (i = 0; i < n; i++) {
		out[i] = p;
		p = stpcpy(p, ids[i]) + 1;
	}
	return (const char *const *)out;
}

const struct cache_key_entry *cache_key_put(struct cache_key *k, const char *hash, const char *id,
					    int scope, const char *const *providers,
					    int nproviders, int64_t now_ms)
{
	struct cache_key_entry *x = find(k, hash);
	int ok;

	if (!x) {
		x = &k->entry[k->next++ % CACHE_KEY_SIZE];
		snprintf(x->hash, sizeof x->hash, "%s", hash);
	}
	drop_providers(x);
	x->providers = copy_providers(providers, nproviders, &ok);
	if (!ok) {
		x->hash[0] = '\0';
		return NULL;
	}
	x->nproviders = nproviders > 0 ? nproviders : 0;
	snprintf(x->id, sizeof x->id, "%s", id);
	x->scope = scope;
	x->checked_ms = now_ms;
	return x;
}

void cache_key_forget(struct cache_key *k, const char *hash)
{
	struct cache_key_entry *x = find(k, hash);

	if (x) {
		x->hash[0] = '\0';
		drop_providers(x);
	}
}

void cache_key_free(struct cache_key *k)
{
	size_t i;

	for (i = 0; i < CACHE_KEY_SIZE; i++) {
		k->entry[i].hash[0] = '\0';
		drop_providers(&k->entry[i]);
	}
}
