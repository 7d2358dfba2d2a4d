/*
 * worker.h - the FastCGI worker: accept, read, hand the request to the
 * application, respond, log; repeat until the master asks it to stop or
 * max_requests is reached. It knows nothing of the application.
 */
#ifndef APPOINTD_WORKER_H
#define APPOINTD_WORKER_H

#include "core/config.h"
#include "http/pool.h"

#include "http/http.h"

/* The application a worker serves, handed to worker_main as pool_run's arg. */
struct worker_app {
	/* In the worker after fork: its state for the worker's life, or NULL when it cannot serve. */
	void *(*open)(const struct config *cfg, struct pool_shared *shm, void *arg);
	/* Answers one request: always fills resp (req->route_id names the route for metrics). */
	void (*dispatch)(void *state, struct http_req *req, struct http_resp *resp);
	/* Frees the state as the worker exits. */
	void (*close)(void *state);
	void *arg;                   /* passed to open */
};

/* A pool_worker_fn. arg: the struct worker_app to serve. */
int worker_main(int listen_fd, struct pool_shared *shm, int slot, const struct config *cfg,
		void *arg);

#endif
