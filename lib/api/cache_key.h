/*
 * cache_key.h - the API keys a worker has checked recently, so that a busy
 * key costs one database lookup per CACHE_KEY_TTL_MS per worker and a
 * revoked key is refused everywhere within that time (the contract allows
 * 2 s). Keys are known by their hash only; the cache never sees a key.
 * An entry keeps the providers its key is bound to (heap, its own), so a
 * bound key's tenancy costs no lookup either.
 */
#ifndef APPOINTD_CACHE_KEY_H
#define APPOINTD_CACHE_KEY_H

#include <stdint.h>

#define CACHE_KEY_SIZE 32
#define CACHE_KEY_TTL_MS 1000

struct cache_key_entry {
	char hash[65];               /* "" = free */
	char id[37];
	int scope;                   /* enum apikey_scope */
	int64_t checked_ms;          /* when the database last vouched for it */
	const char *const *providers; /* the bound providers (heap); NULL with 0: unbound */
	int nproviders;
};

/* Zeroed is empty. Entries are replaced round-robin. */
struct cache_key {
	struct cache_key_entry entry[CACHE_KEY_SIZE];
	unsigned next;
};

/*
 * The entry of hash if the database vouched for it less than
 * CACHE_KEY_TTL_MS before now_ms, else NULL (also when the clock went back).
 */
const struct cache_key_entry *cache_key_fresh(const struct cache_key *k, const char *hash,
					      int64_t now_ms);
/*
 * Remembers that the database vouched for hash (as id, scope, bound to the
 * nproviders providers, copied) at now_ms; returns its entry, or NULL (and
 * the hash forgotten) when memory ran out. The entry's providers stay valid
 * until the next cache_key_put, cache_key_forget or cache_key_free.
 */
const struct cache_key_entry *cache_key_put(struct cache_key *k, const char *hash, const char *id,
					    int scope, const char *const *providers,
					    int nproviders, int64_t now_ms);
/* Forgets hash (the database no longer knows it). */
void cache_key_forget(struct cache_key *k, const char *hash);
/* Frees every entry's providers; the cache is empty after. */
void cache_key_free(struct cache_key *k);

#endif
