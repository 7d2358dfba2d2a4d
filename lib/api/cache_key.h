/*
 * cache_key.h - the API keys a worker has checked recently, so that a busy
 * key costs one database lookup per CACHE_KEY_TTL_MS per worker and a
 * revoked key is refused everywhere within that time (the contract allows
 * 2 s). Keys are known by their hash only; the cache never sees a key.
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
/* Remembers that the database vouched for hash (as id, scope) at now_ms; returns its entry. */
const struct cache_key_entry *cache_key_put(struct cache_key *k, const char *hash, const char *id,
					    int scope, int64_t now_ms);
/* Forgets hash (the database no longer knows it). */
void cache_key_forget(struct cache_key *k, const char *hash);

#endif
