/*
 * test_cache.c - the worker's caches (api/cache_key.c, api/cache_sched.c):
 * what they offer, when they stop offering it (expiry, a clock that went
 * back, a range they do not hold), which entry makes room (eviction), and
 * that a newer version replaces an entry in place (revalidation).
 */
#include <config.h>

#include "api/cache_key.h"
#include "api/cache_sched.h"
#include "testmain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hash_of(int i, char out[65])
{
	snprintf(out, 65, "%064d", i);
}

static void test_key_expiry(void)
{
	struct cache_key k;
	const struct cache_key_entry *x;
	char h[65];

	memset(&k, 0, sizeof k);
	hash_of(1, h);
	CU_ASSERT_PTR_NULL(cache_key_fresh(&k, h, 1000));
	x = cache_key_put(&k, h, "id-1", 2, NULL, 0, 1000);
	CU_ASSERT_STRING_EQUAL(x->id, "id-1");
	CU_ASSERT_EQUAL(x->scope, 2);
	CU_ASSERT_PTR_EQUAL(cache_key_fresh(&k, h, 1000), x);
	CU_ASSERT_PTR_EQUAL(cache_key_fresh(&k, h, 1000 + CACHE_KEY_TTL_MS - 1), x);
	CU_ASSERT_PTR_NULL(cache_key_fresh(&k, h, 1000 + CACHE_KEY_TTL_MS));
	CU_ASSERT_PTR_NULL(cache_key_fresh(&k, h, 999)); /* the clock went back */
	CU_ASSERT_PTR_NULL(cache_key_fresh(&k, "", 1000)); /* a free entry is no key */
}

static void test_key_revalidation_and_forgetting(void)
{
	struct cache_key k;
	const struct cache_key_entry *a, *b;
	char h[65];

	memset(&k, 0, sizeof k);
	hash_of(7, h);
	a = cache_key_put(&k, h, "id-7", 1, NULL, 0, 0);
	/* Vouched for again (its scope changed): the same entry, refreshed. */
	b = cache_key_put(&k, h, "id-7", 3, NULL, 0, 5000);
	CU_ASSERT_PTR_EQUAL(a, b);
	CU_ASSERT_EQUAL(b->scope, 3);
	CU_ASSERT_PTR_EQUAL(cache_key_fresh(&k, h, 5000), b);
	CU_ASSERT_EQUAL(k.next, 1);
	/* Revoked: forgotten at once, not merely stale. */
	cache_key_forget(&k, h);
	CU_ASSERT_PTR_NULL(cache_key_fresh(&k, h, 5000));
	cache_key_forget(&k, h); /* twice is harmless */
}

/* A bound key's providers: copied in, replaced on refresh, dropped when forgotten. */
static void test_key_providers(void)
{
	struct cache_key k;
	const struct cache_key_entry *x;
	const char *two[2] = { "11111111-1111-4111-8111-111111111111",
			       "22222222-2222-4222-8222-222222222222" };
	char buf[37];
	const char *one[1] = { buf };
	char h[65];

	memset(&k, 0, sizeof k);
	hash_of(3, h);
	x = cache_key_put(&k, h, "id-3", 1, two, 2, 0);
	CU_ASSERT_EQUAL(x->nproviders, 2);
	CU_ASSERT_STRING_EQUAL(x->providers[0], two[0]);
	CU_ASSERT_STRING_EQUAL(x->providers[1], two[1]);
	snprintf(buf, sizeof buf, "%s", "33333333-3333-4333-8333-333333333333");
	x = cache_key_put(&k, h, "id-3", 1, one, 1, 10);
	buf[0] = '9'; /* the cache's copy, not the caller's */
	CU_ASSERT_EQUAL(x->nproviders, 1);
	CU_ASSERT_STRING_EQUAL(x->providers[0], "33333333-3333-4333-8333-333333333333");
	x = cache_key_put(&k, h, "id-3", 1, NULL, 0, 20); /* unbound now */
	CU_ASSERT_EQUAL(x->nproviders, 0);
	CU_ASSERT_PTR_NULL(x->providers);
	cache_key_put(&k, h, "id-3", 1, two, 2, 30);
	cache_key_forget(&k, h);
	cache_key_free(&k);
	CU_ASSERT_PTR_NULL(cache_key_fresh(&k, h, 30));
}

static void test_key_eviction_is_round_robin(void)
{
	struct cache_key k;
	char h[65];
	int i;

	memset(&k, 0, sizeof k);
	for (i = 0; i < CACHE_KEY_SIZE; i++) {
		hash_of(i, h);
		cache_key_put(&k, h, "id", 1, NULL, 0, 100);
	}
	for (i = 0; i < CACHE_KEY_SIZE; i++) {
		hash_of(i, h);
		CU_ASSERT_PTR_NOT_NULL(cache_key_fresh(&k, h, 100));
	}
	hash_of(CACHE_KEY_SIZE, h);
	cache_key_put(&k, h, "id", 1, NULL, 0, 100); /* takes the oldest place: key 0's */
	CU_ASSERT_PTR_NOT_NULL(cache_key_fresh(&k, h, 100));
	hash_of(0, h);
	CU_ASSERT_PTR_NULL(cache_key_fresh(&k, h, 100));
	hash_of(1, h);
	CU_ASSERT_PTR_NOT_NULL(cache_key_fresh(&k, h, 100));
}

static const char *provider(int i)
{
	static char id[8][ID_UUID_LEN + 1];
	char *p = id[i % 8];

	snprintf(p, ID_UUID_LEN + 1, "00000000-0000-4000-8000-%012d", i);
	return p;
}

/* A schedule with n overrides and nbusy appointments, put for provider i. */
static void put(struct cache_sched *c, int i, uint32_t xmin, int noverrides, size_t nbusy,
		int64_t lo, int64_t hi, int64_t now)
{
	struct sched s;
	struct sched_override ov[2];
	struct slot_entry busy[3];
	size_t j;

	memset(&s, 0, sizeof s);
	memset(ov, 0, sizeof ov);
	snprintf(s.timezone, sizeof s.timezone, "Europe/Berlin");
	s.duration = 30 + i;
	s.overrides = noverrides ? ov : NULL;
	s.noverrides = noverrides;
	for (j = 0; j < 3; j++)
		busy[j] = (struct slot_entry){ .start = lo + (int64_t)j * 3600,
					       .end = lo + (int64_t)j * 3600 + 1800 };
	cache_sched_put(c, provider(i), xmin, &s, NULL, 0, busy, NULL, nbusy, lo, hi, now);
}

static void test_sched_window_and_expiry(void)
{
	struct cache_sched c;
	struct cache_sched_entry *x;

	memset(&c, 0, sizeof c);
	CU_ASSERT_PTR_NULL(cache_sched_find(&c, provider(1), 0, 10, 0)); /* empty, unallocated */
	put(&c, 1, 42, 2, 3, 1000, 2000, 50000);
	x = cache_sched_find(&c, provider(1), 1000, 2000, 50000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_EQUAL(x->xmin, 42);
	CU_ASSERT_EQUAL(x->s.duration, 31);
	CU_ASSERT_EQUAL(x->s.noverrides, 2);
	CU_ASSERT_EQUAL(x->nbusy, 3);
	CU_ASSERT_EQUAL(x->busy[2].start, 1000 + 2 * 3600);
	CU_ASSERT_PTR_NOT_NULL(cache_sched_find(&c, provider(1), 1500, 1600, 50000));
	/* A range it does not hold, in part or whole. */
	CU_ASSERT_PTR_NULL(cache_sched_find(&c, provider(1), 999, 1500, 50000));
	CU_ASSERT_PTR_NULL(cache_sched_find(&c, provider(1), 1500, 2001, 50000));
	/* Too old to be offered, whatever its version; or the clock went back. */
	CU_ASSERT_PTR_NOT_NULL(cache_sched_find(&c, provider(1), 1000, 2000, 50000 + CACHE_SCHED_TTL_MS - 1));
	CU_ASSERT_PTR_NULL(cache_sched_find(&c, provider(1), 1000, 2000, 50000 + CACHE_SCHED_TTL_MS));
	CU_ASSERT_PTR_NULL(cache_sched_find(&c, provider(1), 1000, 2000, 49999));
	CU_ASSERT_PTR_NULL(cache_sched_find(&c, provider(2), 1000, 2000, 50000));
	cache_sched_free(&c);
	CU_ASSERT_PTR_NULL(c.entry);
	CU_ASSERT_PTR_NULL(cache_sched_find(&c, provider(1), 1000, 2000, 50000));
}

static void test_sched_revalidation_replaces_in_place(void)
{
	struct cache_sched c;
	struct cache_sched_entry *a, *b;

	memset(&c, 0, sizeof c);
	put(&c, 3, 7, 0, 1, 0, 100, 0);
	a = cache_sched_find(&c, provider(3), 0, 100, 10);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	/* The database said the row changed: the new version takes the same entry. */
	put(&c, 3, 8, 1, 2, 0, 200, 20);
	b = cache_sched_find(&c, provider(3), 0, 200, 20);
	CU_ASSERT_PTR_EQUAL(a, b);
	CU_ASSERT_EQUAL(b->xmin, 8);
	CU_ASSERT_EQUAL(b->nbusy, 2);
	CU_ASSERT_EQUAL(b->loaded_ms, 20);
	/* Too many appointments to keep: nothing kept, the old version forgotten too. */
	{
		struct sched s;
		struct slot_entry *many = calloc(CACHE_SCHED_BUSY_MAX + 1, sizeof *many);

		memset(&s, 0, sizeof s);
		cache_sched_put(&c, provider(3), 9, &s, NULL, 0, many, NULL, CACHE_SCHED_BUSY_MAX + 1, 0, 200,
				30);
		free(many);
	}
	CU_ASSERT_PTR_NULL(cache_sched_find(&c, provider(3), 0, 100, 30));
	cache_sched_free(&c);
}

static void test_sched_evicts_least_recently_used(void)
{
	struct cache_sched c;
	int i;

	memset(&c, 0, sizeof c);
	for (i = 0; i < CACHE_SCHED_SIZE; i++)
		put(&c, 100 + i, 1, 0, 0, 0, 100, 0);
	/* Provider 100 is the oldest put, but used since; 101 is now the least recent. */
	cache_sched_touch(&c, cache_sched_find(&c, provider(100), 0, 100, 1));
	put(&c, 1000, 1, 0, 0, 0, 100, 2);
	CU_ASSERT_PTR_NOT_NULL(cache_sched_find(&c, provider(1000), 0, 100, 2));
	CU_ASSERT_PTR_NOT_NULL(cache_sched_find(&c, provider(100), 0, 100, 2));
	CU_ASSERT_PTR_NULL(cache_sched_find(&c, provider(101), 0, 100, 2));
	CU_ASSERT_PTR_NOT_NULL(cache_sched_find(&c, provider(102), 0, 100, 2));
	cache_sched_free(&c);
}

/* Holds kept with their expiry are dropped at use from their expiresAt on, copying only then. */
static void test_sched_live_drops_expired_holds(void)
{
	struct cache_sched c;
	struct cache_sched_entry *x;
	struct sched s;
	struct slot_entry busy[4];
	int64_t expires[4] = { 0, 5000, 0, 9000 }; /* appointment, hold, appointment, hold */
	const struct slot_entry *live;
	struct arena a;
	size_t n, j;

	memset(&c, 0, sizeof c);
	memset(&s, 0, sizeof s);
	arena_init(&a, 4096);
	for (j = 0; j < 4; j++)
		busy[j] = (struct slot_entry){ .start = (int64_t)j * 3600, .end = (int64_t)j * 3600 + 1800 };
	cache_sched_put(&c, provider(5), 1, &s, NULL, 0, busy, expires, 4, 0, 100000, 1000);
	x = cache_sched_find(&c, provider(5), 0, 100, 1000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x->expires_ms);
	/* Nothing expired: the entry's own array, no copy. */
	live = cache_sched_live(x, 4999, &a, &n);
	CU_ASSERT_PTR_EQUAL(live, x->busy);
	CU_ASSERT_EQUAL(n, 4);
	/* At expiresAt the hold is gone; order kept. */
	live = cache_sched_live(x, 5000, &a, &n);
	CU_ASSERT_PTR_NOT_EQUAL(live, x->busy);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_EQUAL(live[0].start, 0);
	CU_ASSERT_EQUAL(live[1].start, 2 * 3600);
	CU_ASSERT_EQUAL(live[2].start, 3 * 3600);
	live = cache_sched_live(x, 9000, &a, &n);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(live[1].start, 2 * 3600);
	CU_ASSERT_EQUAL(x->nbusy, 4); /* the entry itself is untouched */
	/* Appointments only: no expiry kept, never a copy. */
	expires[1] = expires[3] = 0;
	cache_sched_put(&c, provider(5), 2, &s, NULL, 0, busy, expires, 4, 0, 100000, 1000);
	x = cache_sched_find(&c, provider(5), 0, 100, 1000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	CU_ASSERT_PTR_NULL(x->expires_ms);
	live = cache_sched_live(x, 1 << 30, &a, &n);
	CU_ASSERT_PTR_EQUAL(live, x->busy);
	CU_ASSERT_EQUAL(n, 4);
	arena_destroy(&a);
	cache_sched_free(&c);
}

void suite_cache(void)
{
	CU_pSuite s = test_suite("cache");

	TEST_ADD(s, test_key_expiry);
	TEST_ADD(s, test_key_revalidation_and_forgetting);
	TEST_ADD(s, test_key_providers);
	TEST_ADD(s, test_key_eviction_is_round_robin);
	TEST_ADD(s, test_sched_window_and_expiry);
	TEST_ADD(s, test_sched_revalidation_replaces_in_place);
	TEST_ADD(s, test_sched_evicts_least_recently_used);
	TEST_ADD(s, test_sched_live_drops_expired_holds);
}
