/*
 * pool.h - the prefork master, in the manner of php-fpm and nginx.
 *
 * The master binds the FastCGI listening socket (or inherits one through
 * systemd's LISTEN_FDS), forks the workers and never serves a request. It
 * respawns dead workers (with back-off when they die in a loop), recycles a
 * worker after max_requests (the worker exits by itself), kills a worker
 * busy past request_timeout, stops gracefully on SIGTERM/SIGINT, rereads the
 * configuration and replaces the workers gracefully on SIGHUP, reopens its
 * log on SIGUSR1, writes the pidfile and drops root to the configured user.
 * Signals become flags handled in the main loop (self-pipe).
 *
 * Master and workers share a scoreboard in an anonymous shared mapping made
 * before the first fork; the workers serve /status and /metrics from it, and
 * the request metrics in it outlive any worker.
 */
#ifndef APPOINTD_POOL_H
#define APPOINTD_POOL_H

#include <fcgiapp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/config.h"
#include "http/metrics.h"

#define POOL_MAX_WORKERS 256

/* STARTING: forked, not yet past its first pool_worker_stopping() call. */
enum pool_state { POOL_SLOT_EMPTY = 0, POOL_SLOT_IDLE, POOL_SLOT_BUSY, POOL_SLOT_STARTING };

struct pool_slot {
	volatile pid_t pid;
	volatile int state;               /* enum pool_state */
	volatile int64_t request_start_ms; /* CLOCK_REALTIME ms while busy */
	volatile uint64_t requests;       /* served by this process */
	char route[64];                   /* route in hand, for the slow/kill log */
};

struct pool_shared {
	int64_t start_time;               /* unix seconds the master started */
	volatile uint64_t accepted;       /* requests accepted by all workers, ever */
	volatile uint64_t respawns;       /* workers replaced after dying abnormally */
	volatile uint64_t recycled;       /* workers replaced after max_requests */
	volatile uint64_t killed_slow;    /* workers killed past request_timeout */
	volatile uint64_t slow_requests;  /* requests over slow_request_ms */
	volatile int nslots;              /* every live slot is below this (>= workers; +1 in a reload) */
	struct pool_slot slots[POOL_MAX_WORKERS];
	struct metrics metrics;
};

struct pool_counts {
	int total, busy, idle;
};

/*
 * The worker body. Runs in the child after fork with the listening fd, the
 * scoreboard and its slot index; returns the process exit status. It must
 * poll pool_worker_stopping() between requests and return when it is set,
 * and return after cfg->max_requests requests.
 */
typedef int (*pool_worker_fn)(int listen_fd, struct pool_shared *shm, int slot,
			      const struct config *cfg, void *arg);

/*
 * Runs the master until SIGTERM/SIGINT and every worker has exited.
 * conf_path is reread on SIGHUP. Returns the process exit status.
 */
int pool_run(const char *conf_path, struct config *cfg, pool_worker_fn fn, void *arg);

/* In a worker: set once SIGTERM/SIGQUIT/SIGHUP-rotation asked it to finish. */
int pool_worker_stopping(void);

/*
 * In a worker: waits for the next request. Returns 0 with a request
 * accepted, or -1 when the worker should stop. It waits in poll(), where a
 * graceful signal (SIGTERM, SIGUSR1) may interrupt it; from accept() on
 * those signals are held back until pool_slot_idle() (called after
 * FCGX_Finish_r), so a connection once accepted is always answered.
 */
int pool_worker_accept(int listen_fd, FCGX_Request *req);

/* Worker-side scoreboard updates. */
void pool_slot_busy(struct pool_shared *shm, int slot, const char *route);
void pool_slot_idle(struct pool_shared *shm, int slot, int64_t duration_ms,
		    int64_t slow_ms);

/* Live workers by state, from the scoreboard. */
struct pool_counts pool_count_workers(const struct pool_shared *shm);

/* The pool's state as the /status JSON body (malloc'd). */
char *pool_status_json(const struct pool_shared *shm);

#endif
