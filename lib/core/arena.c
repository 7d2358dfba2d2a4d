/*
 * arena.c - bump allocation in chunks; oversize requests get a chunk of their
 * own. The first chunk is kept across resets so a steady worker does not call
 * malloc for ordinary requests at all.
 */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	max_align_t data[];
};

struct arena_cleanup {
	struct arena_cleanup *next;
	void (*fn)(void *);
	void *data;
};

static struct arena_chunk *chunk_new(size_t size)
{
	struct arena_chunk *c = malloc(sizeof *c + size);

	if (!c)
		abort();
	c->next = NULL;
	c->size = size;
	c->used = 0;
	return c;
}

void arena_init(struct arena *a, size_t chunk_size)
{
	a->chunk_size = chunk_size ? chunk_size : 16384;
	a->head = chunk_new(a->chunk_size);
	a->cleanups = NULL;
}

void *arena_alloc(struct arena *a, size_t n)
{
	const size_t align = sizeof(max_align_t);
	struct arena_chunk *c = a->head;
	void *p;

	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / 2)
		abort();
	n = (n + align - 1) & ~(align - 1);
	if (c->size - c->used < n) {
		struct arena_chunk *fresh = chunk_new(n > a->chunk_size ? n : a->chunk_size);

		/* Keep the first chunk first: it is the one reused after reset. */
		fresh->next = c->next;
		c->next = fresh;
		if (n > a->chunk_size) {
			fresh->used = n;
			return fresh->data;
		}
		/* Swap so the fresh chunk becomes the bump target. */
		c->next = fresh->next;
		fresh->next = c;
		a->head = fresh;
		c = fresh;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

void *arena_calloc(struct arena *a, size_t count, size_t n)
{
	void *p;

	if (n && count > SIZE_MAX / n)
		abort();
	p = arena_alloc(a, count * n);
	memset(p, 0, count * n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void arena_cleanup(struct arena *a, void (*fn)(void *), void *data)
{
	struct arena_cleanup *c = arena_alloc(a, sizeof *c);

	c->fn = fn;
	c->data = data;
	c->next = a->cleanups;
	a->cleanups = c;
}

static void run_cleanups(struct arena *a)
{
	while (a->cleanups) {
		struct arena_cleanup *c = a->cleanups;

		a->cleanups = c->next;
		c->fn(c->data);
	}
}

void arena_reset(struct arena *a)
{
	struct arena_chunk *c, *keep = NULL;

	run_cleanups(a);
	/* Keep one chunk of the standard size; free the rest. */
	for (c = a->head; c;) {
		struct arena_chunk *next = c->next;

		if (!keep && c->size == a->chunk_size)
			keep = c;
		else
			free(c);
		c = next;
	}
	if (!keep)
		keep = chunk_new(a->chunk_size);
	keep->next = NULL;
	keep->used = 0;
	a->head = keep;
}

void arena_destroy(struct arena *a)
{
	run_cleanups(a);
	while (a->head) {
		struct arena_chunk *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}
