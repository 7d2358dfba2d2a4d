/*
 * arena.h - a per-request region allocator (after nginx's ngx_pool_t).
 *
 * Everything a request allocates comes from its arena and is released at
 * once by arena_reset(), so a worker serving a million requests cannot leak.
 * Cleanups registered with arena_cleanup() run at reset, for objects owned by
 * other allocators (cJSON trees, libpq results).
 */
#ifndef APPOINTD_ARENA_H
#define APPOINTD_ARENA_H

#include <stddef.h>

struct arena_chunk;
struct arena_cleanup;

struct arena {
	struct arena_chunk *head;
	struct arena_cleanup *cleanups;
	size_t chunk_size;
};

void arena_init(struct arena *a, size_t chunk_size);
/* Never returns NULL: an allocation failure aborts the process (the master respawns it). */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t count, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_cleanup(struct arena *a, void (*fn)(void *), void *data);
/* Runs cleanups, frees every chunk but the first, and rewinds it. */
void arena_reset(struct arena *a);
void arena_destroy(struct arena *a);

#endif
