/*
 * cache_key.c - the worker's key cache (cache_key.h): a small array, looked
 * up by hash, an entry refreshed in place and a new key placed round-robin.
 */
#include "api/cache_key.h"

#include <stdio.h>
#include <string.h>

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

const struct cache_key_entry *cache_key_put(struct cache_key *k, const char *hash, const char *id,
					    int scope, int64_t now_ms)
{
	struct cache_key_entry *x = find(k, hash);

	if (!x) {
		x = &k->entry[k->next++ % CACHE_KEY_SIZE];
		snprintf(x->hash, sizeof x->hash, "%s", hash);
	}
	snprintf(x->id, sizeof x->id, "%s", id);
	x->scope = scope;
	x->checked_ms = now_ms;
	return x;
}

void cache_key_forget(struct cache_key *k, const char *hash)
{
	struct cache_key_entry *x = find(k, hash);

	if (x)
		x->hash[0] = '\0';
}
