/*
 * cache_sched.h - providers' decoded configurations and appointments a
 * worker has read recently, so that availability neither fetches nor
 * decodes what has not changed.
 *
 * An entry is the provider row's version (its xmin) with the schedule
 * decoded at that version and every active entry overlapping [busy_lo,
 * busy_hi) (appointments, and holds live when it was read, with their
 * expiry: a hold's expiry writes nothing, so the row's version does not
 * tell it, and a reader drops expired holds at use, cache_sched_live). The caller revalidates: it asks the database for the row's
 * version, passing the entry's, and uses the entry only when they agree.
 * An entry older than CACHE_SCHED_TTL_MS is not offered whatever its
 * version says, so not even an xmin reused after wraparound keeps a stale
 * one. The least recently used entry makes room for a new one.
 */
#ifndef APPOINTD_CACHE_SCHED_H
#define APPOINTD_CACHE_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "api/codec_service.h"
#include "core/arena.h"
#include "core/ids.h"
#include "engine/sched.h"
#include "engine/slot.h"

#define CACHE_SCHED_SIZE 64
#define CACHE_SCHED_TTL_MS 60000
/* Larger appointment lists are used, not kept. */
#define CACHE_SCHED_BUSY_MAX 8192

struct cache_sched_entry {
	char id[ID_UUID_LEN + 1]; /* "" = free */
	uint32_t xmin;               /* the provider row's version all of this is of */
	int64_t loaded_ms;
	unsigned used;               /* the cache's clock when last used */
	struct sched s;              /* s.overrides is the entry's own (malloc) */
	int64_t busy_lo, busy_hi;    /* busy holds every appointment overlapping [lo, hi) */
	struct slot_entry *busy;      /* the entry's own (malloc); services numbered 0 default, i + 1 svcs[i] */
	int64_t *expires_ms;          /* busy[i]'s expiry (epoch ms), 0: no expiry (malloc); NULL: none has one */
	struct service *svcs;         /* the provider's services, retired too (malloc) */
	int nsvcs;
	size_t nbusy;
};

/* Zeroed is empty; the entries are allocated on first use. */
struct cache_sched {
	struct cache_sched_entry *entry; /* CACHE_SCHED_SIZE of them, or NULL */
	unsigned clock;
};

/*
 * Provider id's entry if it is young enough at now_ms to be revalidated by
 * version and holds the appointments of [lo, hi), or NULL. It stays valid
 * until the next cache_sched_put or cache_sched_free.
 */
struct cache_sched_entry *cache_sched_find(const struct cache_sched *c, const char *id,
					   int64_t lo, int64_t hi, int64_t now_ms);
/* Marks x as used now (the database confirmed its version). */
void cache_sched_touch(struct cache_sched *c, struct cache_sched_entry *x);
/*
 * x's entries live at now_ms, *n of them: x->busy itself when no hold among
 * them has expired by now_ms, else a copy without the expired ones (arena).
 */
const struct slot_entry *cache_sched_live(const struct cache_sched_entry *x, int64_t now_ms,
					  struct arena *a, size_t *n);
/*
 * Keeps copies of s, of svcs[0..nsvcs), of busy[0..nbusy) (the active
 * entries of [lo, hi)) and of their expiries expires_ms[0..nbusy) (NULL:
 * none expires) as provider id's at version xmin, in its own entry or the least recently
 * used one. Out of memory or over CACHE_SCHED_BUSY_MAX appointments, it
 * keeps nothing (and forgets what it had of id).
 */
void cache_sched_put(struct cache_sched *c, const char *id, uint32_t xmin, const struct sched *s,
		     const struct service *svcs, int nsvcs,
		     const struct slot_entry *busy, const int64_t *expires_ms, size_t nbusy,
		     int64_t lo, int64_t hi, int64_t now_ms);
/* Frees every entry; the cache is empty and usable again. */
void cache_sched_free(struct cache_sched *c);

#endif
