/*
 * cache_sched.c - the worker's provider cache (cache_sched.h). Each entry
 * owns its copies (overrides, active entries, their expiries) so that
 * nothing in it points into a request's arena.
 */
#include "api/cache_sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void entry_clear(struct cache_sched_entry *x)
{
	free(x->s.overrides);
	free(x->busy);
	free(x->expires_ms);
	free(x->svcs);
	memset(x, 0, sizeof *x);
}

void cache_sched_free(struct cache_sched *c)
{
	int i;

	for (i = 0; c->entry && i < CACHE_SCHED_SIZE; i++)
		entry_clear(&c->entry[i]);
	free(c->entry);
	c->entry = NULL;
}

struct cache_sched_entry *cache_sched_find(const struct cache_sched *c, const char *id,
					   int64_t lo, int64_t hi, int64_t now_ms)
{
	int i;

	for (i = 0; c->entry && i < CACHE_SCHED_SIZE; i++) {
		struct cache_sched_entry *x = &c->entry[i];

		if (strcmp(x->id, id) == 0)
			return now_ms >= x->loaded_ms && now_ms - x->loaded_ms < CACHE_SCHED_TTL_MS &&
				lo >= x->busy_lo && hi <= x->busy_hi ? x : NULL;
	}
	return NULL;
}

void cache_sched_touch(struct cache_sched *c, struct cache_sched_entry *x)
{
	x->used = ++c->clock;
}

/* A hold whose expiry is not after now_ms is ignored from its expiresAt on. */
static int expired(const struct cache_sched_entry *x, size_t i, int64_t now_ms)
{
	return x->expires_ms && x->expires_ms[i] != 0 && x->expires_ms[i] <= now_ms;
}

const struct slot_entry *cache_sched_live(const struct cache_sched_entry *x, int64_t now_ms,
					  struct arena *a, size_t *n)
{
	struct slot_entry *live;
	size_t i, k;

	for (i = 0; i < x->nbusy && !expired(x, i, now_ms); i++)
		;
	if (i == x->nbusy) {
		*n = x->nbusy;
		return x->busy;
	}
	live = arena_alloc(a, sizeof *live * (x->nbusy + 1));
	memcpy(live, x->busy, sizeof *live * i);
	for (k = i; i < x->nbusy; i++)
		if (!expired(x, i, now_ms))
			live[k++] = x->busy[i];
	*n = k;
	return live;
}

static void *dup_array(const void *p, size_t n, size_t size)
{
	void *q;

	if (n == 0)
		return NULL;
	q = malloc(n * size);
	if (q)
		memcpy(q, p, n * size);
	return q;
}

void cache_sched_put(struct cache_sched *c, const char *id, uint32_t xmin, const struct sched *s,
		     const struct service *svcs, int nsvcs,
		     const struct slot_entry *busy, const int64_t *expires_ms, size_t nbusy,
		     int64_t lo, int64_t hi, int64_t now_ms)
{
	struct cache_sched_entry *x = NULL;
	int i;

	if (!id[0] || (!c->entry && !(c->entry = calloc(CACHE_SCHED_SIZE, sizeof *c->entry))))
		return;
	for (i = 0; i < CACHE_SCHED_SIZE && !x; i++)
		if (strcmp(c->entry[i].id, id) == 0)
			x = &c->entry[i];
	for (i = 0; i < CACHE_SCHED_SIZE && !x; i++)
		if (!c->entry[i].id[0])
			x = &c->entry[i];
	if (!x) {
		x = &c->entry[0];
		for (i = 1; i < CACHE_SCHED_SIZE; i++)
			if (c->entry[i].used < x->used)
				x = &c->entry[i];
	}
	entry_clear(x);
	if (nbusy > CACHE_SCHED_BUSY_MAX)
		return;
	x->s = *s;
	x->s.overrides = dup_array(s->overrides, (size_t)s->noverrides, sizeof *s->overrides);
	x->busy = dup_array(busy, nbusy, sizeof *busy);
	for (i = 0; expires_ms && (size_t)i < nbusy && !x->expires_ms; i++)
		if (expires_ms[i] != 0 && !(x->expires_ms = dup_array(expires_ms, nbusy,
								      sizeof *expires_ms))) {
			entry_clear(x);
			return;
		}
	x->svcs = dup_array(svcs, (size_t)nsvcs, sizeof *svcs);
	x->nsvcs = nsvcs;
	if ((s->noverrides > 0 && !x->s.overrides) || (nbusy > 0 && !x->busy) ||
	    (nsvcs > 0 && !x->svcs)) {
		entry_clear(x);
		return;
	}
	x->nbusy = nbusy;
	x->busy_lo = lo;
	x->busy_hi = hi;
	snprintf(x->id, sizeof x->id, "%s", id);
	x->xmin = xmin;
	x->loaded_ms = now_ms;
	x->used = ++c->clock;
}
