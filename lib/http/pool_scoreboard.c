/*
 * pool_scoreboard.c - the pool's scoreboard (php-fpm's fpm_scoreboard.c):
 * an anonymous shared mapping made before the first fork, one slot per
 * worker, written by the worker that owns the slot (its state, its request)
 * and by the master (a slot it forks into, a slot it has reaped), read by
 * anyone serving /status or /metrics.
 *
 * Invariant: a reader sees a slot's state with acquire order, so the fields
 * a worker stored before publishing BUSY (start time, route) are there; a
 * slot is EMPTY exactly when the master has reaped its process.
 */
#include <config.h>

#include "http/pool_int.h"

#include "core/daemon.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct pool_shared *pool_scoreboard_new(void)
{
	struct pool_shared *shm = mmap(NULL, sizeof *shm, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (shm == MAP_FAILED)
		return NULL;
	shm->start_time = time(NULL);
	return shm;
}

void pool_scoreboard_free(struct pool_shared *shm)
{
	if (shm && munmap(shm, sizeof *shm) < 0)
		daemon_log_msg("warn", "cleanup", "munmap scoreboard: %s", strerror(errno));
}

int pool_scoreboard_bound(const struct pool_shared *shm)
{
	int n = shm->nslots;

	return n < 0 || n > POOL_MAX_WORKERS ? POOL_MAX_WORKERS : n;
}

void pool_scoreboard_starting(struct pool_shared *shm, int slot)
{
	struct pool_slot *s = &shm->slots[slot];

	s->pid = 0;
	s->requests = 0;
	s->request_start_ms = 0;
	s->route[0] = '\0';
	__atomic_store_n(&s->state, POOL_SLOT_STARTING, __ATOMIC_RELEASE);
}

void pool_scoreboard_empty(struct pool_shared *shm, int slot)
{
	shm->slots[slot].pid = 0;
	__atomic_store_n(&shm->slots[slot].state, POOL_SLOT_EMPTY, __ATOMIC_RELEASE);
}

void pool_slot_busy(struct pool_shared *shm, int slot, const char *route)
{
	struct pool_slot *s = &shm->slots[slot];

	pool_worker_hold_signals();
	__atomic_store_n(&s->request_start_ms, pool_real_ms(), __ATOMIC_RELAXED);
	snprintf(s->route, sizeof s->route, "%s", route ? route : "");
	__atomic_store_n(&s->state, POOL_SLOT_BUSY, __ATOMIC_RELEASE);
	__atomic_add_fetch(&s->requests, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&shm->accepted, 1, __ATOMIC_RELAXED);
}

void pool_slot_idle(struct pool_shared *shm, int slot, int64_t duration_ms, int64_t slow_ms)
{
	struct pool_slot *s = &shm->slots[slot];

	__atomic_store_n(&s->state, POOL_SLOT_IDLE, __ATOMIC_RELEASE);
	__atomic_store_n(&s->request_start_ms, 0, __ATOMIC_RELAXED);
	if (slow_ms > 0 && duration_ms >= slow_ms) {
		cJSON *o = daemon_log_begin("warn", "slow_request");

		__atomic_add_fetch(&shm->slow_requests, 1, __ATOMIC_RELAXED);
		cJSON_AddNumberToObject(o, "pid", getpid());
		cJSON_AddStringToObject(o, "route", s->route);
		cJSON_AddNumberToObject(o, "durationMs", (double)duration_ms);
		cJSON_AddNumberToObject(o, "thresholdMs", (double)slow_ms);
		daemon_log_end(o);
	}
	/* A SIGTERM that came during the request is delivered here. */
	pool_worker_release_signals();
}

struct pool_counts pool_count_workers(const struct pool_shared *shm)
{
	struct pool_counts k = { 0, 0, 0 };
	int n = pool_scoreboard_bound(shm);

	for (int i = 0; i < n; i++) {
		int state = __atomic_load_n(&shm->slots[i].state, __ATOMIC_ACQUIRE);

		if (state == POOL_SLOT_EMPTY || shm->slots[i].pid == 0)
			continue;
		k.total++;
		k.busy += state == POOL_SLOT_BUSY;
		k.idle += state == POOL_SLOT_IDLE;
	}
	return k;
}
