/*
 * worker.h - the FastCGI worker: accept, read, route, respond, log; repeat
 * until the master asks it to stop or max_requests is reached.
 */
#ifndef APPOINTD_WORKER_H
#define APPOINTD_WORKER_H

#include "core/config.h"
#include "http/pool.h"

/* A pool_worker_fn. arg: a struct tz_cache * warmed before fork, or NULL. */
int worker_main(int listen_fd, struct pool_shared *shm, int slot, const struct config *cfg,
		void *arg);

#endif
