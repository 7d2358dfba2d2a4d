/*
 * pool.h - the prefork master, in the manner of php-fpm and nginx.
 *
 * The master binds the FastCGI listening socket (or inherits one through
 * systemd's LISTEN_FDS), forks the workers and never serves a request. It
 * respawns dead workers (with back-off when they die in a loop), recycles a
 * worker after max_requests (the worker exits by itself), kills a worker
 * busy past request_timeout, stops gracefully on SIGTERM/SIGINT, rereads the
 * configuration and replaces the workers gracefully on SIGHUP, and reopens
 * its log on SIGUSR1. Signals become flags handled in the main loop
 * (self-pipe). The pidfile and dropping root are the caller's, between
 * binding and forking:
 *
 *   m = pool_open(conf_path, &cfg);             log, scoreboard
 *   (refuse a pidfile naming a running process)
 *   pool_listen(m);                              bind or inherit
 *   (write the pidfile; drop root, keeping pool_socket_path(m) reachable)
 *   rc = pool_run(m, worker_main, arg);          fork, supervise, stop
 *   (remove the pidfile)
 *   pool_close(m);
 *
 * Master and workers share a scoreboard in an anonymous shared mapping made
 * before the first fork; the workers serve /status and /metrics from it, and
 * the request metrics in it outlive any worker.
 */
#ifndef APPOINTD_POOL_H
#define APPOINTD_POOL_H

#include <fcgiapp.h>
#include <signal.h>
#include <stdio.h>
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

struct pool_master;

/*
 * Start-up, first step: points fd 2 at cfg->log_path (keeping the stderr we
 * were started with for "-" and for start-up failures) and makes the
 * scoreboard. conf_path is reread on SIGHUP into *cfg, so both must outlive
 * the master. Returns NULL when it cannot (reported).
 */
struct pool_master *pool_open(const char *conf_path, struct config *cfg);

/* Second step: binds cfg->listen, or takes fd 3 from systemd. -1: reported. */
int pool_listen(struct pool_master *m);

/* The unix socket pool_listen bound, which pool_close removes; "" if none. */
const char *pool_socket_path(const struct pool_master *m);

/*
 * A start-up failure: logged as start_failed and also written to the stderr
 * we were started with when the log went elsewhere. Returns 1 (an exit status).
 */
int pool_start_failed(const struct pool_master *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Forks the workers, each running fn(listen fd, scoreboard, slot, cfg, arg),
 * and supervises them until SIGTERM/SIGINT/SIGQUIT and every worker has
 * exited. Returns the process exit status. Never returns in a worker.
 */
int pool_run(struct pool_master *m, pool_worker_fn fn, void *arg);

/* Removes the socket it bound, closes everything, frees m. NULL is fine. */
void pool_close(struct pool_master *m);

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
/* The pool's gauges and counters (workers by state, respawns, ...) in Prometheus text format. */
void pool_status_metrics(const struct pool_shared *shm, FILE *out);

#endif
