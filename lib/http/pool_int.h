/*
 * pool_int.h - what the pool's files share and nothing outside lib/http/pool*.c
 * may use: the master's state and each file's entry points.
 *
 *   pool.c            the master: start-up, signals to flags, the loop,
 *                     reconcile, reload, stop
 *   pool_children.c   spawn, reap, respawn back-off, kill overdue workers
 *   pool_sockets.c    binding (unix, tcp) or inheriting (LISTEN_FDS) the socket
 *   pool_scoreboard.c the shared mapping and the slots' states
 *   pool_status.c     the pool as the /status JSON body and the /metrics gauges
 *   pool_worker.c     the worker process: its signals, accept
 *
 * The master's struct is written only by the master process; a worker
 * reads its copy (made by fork) and never writes it back.
 */
#ifndef APPOINTD_POOL_INT_H
#define APPOINTD_POOL_INT_H

#include "http/pool.h"

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>

#include "core/daemon.h"

#define POOL_TICK_MS 1000

struct pool_child {
	pid_t pid;              /* 0 = slot free */
	unsigned gen;           /* configuration generation it was started with */
	int64_t spawned_ms;     /* monotonic */
	int64_t stop_sent_ms;   /* monotonic; 0 = not asked to finish */
	int killed;             /* SIGKILLed by us: not a crash */
};

struct pool_master {
	const char *conf_path;
	struct config *cfg;
	pool_worker_fn fn;
	void *arg;
	struct pool_shared *shm;
	int listen_fd;
	int inherited;               /* socket came from systemd */
	char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* "" = not ours */
	int orig_stderr;             /* the stderr we were started with, or -1 */
	int wake[2];                 /* self-pipe: signal handlers -> poll() */
	pid_t pid;
	unsigned gen;
	struct pool_child child[POOL_MAX_WORKERS];
	int crash_streak;
	int64_t last_crash_ms, next_spawn_ms;
	int stopping;
	int64_t stop_deadline_ms;
	int killed_stragglers;
	int64_t reload_started_ms;   /* 0 = no reload in progress */
};

/* The master's and the scoreboard's clocks (core/daemon.h's helper). */
#define pool_mono_ms() daemon_clock_ms(CLOCK_MONOTONIC)
#define pool_real_ms() daemon_clock_ms(CLOCK_REALTIME)
/* sigaction(2) with an empty mask; a failure is logged. -1 on failure. */
int pool_set_handler(int sig, void (*fn)(int), int flags);

/* pool_sockets.c: binds or inherits the socket (m->listen_fd, m->inherited,
 * m->sock_path), non-blocking for all workers; -1 when it cannot (reported). */
int pool_sockets_open(struct pool_master *m);
/* Closes it, and removes a unix socket we bound. */
void pool_sockets_close(struct pool_master *m);

/* pool_scoreboard.c */
struct pool_shared *pool_scoreboard_new(void);      /* NULL with errno */
void pool_scoreboard_free(struct pool_shared *shm);
/* Iteration bound for readers: every live slot is below it. */
int pool_scoreboard_bound(const struct pool_shared *shm);
/* Master side: a slot about to be forked into, and one whose process was reaped. */
void pool_scoreboard_starting(struct pool_shared *shm, int slot);
void pool_scoreboard_empty(struct pool_shared *shm, int slot);

/* pool_children.c */
int pool_children_spawn(struct pool_master *m, int slot);
void pool_children_reap(struct pool_master *m);
void pool_children_kill_overdue(struct pool_master *m);
int64_t pool_children_next_overdue_ms(const struct pool_master *m);
void pool_children_signal_all(struct pool_master *m, int sig);
/* SIGKILL to every live worker; none of them then counts as a crash. */
void pool_children_kill_all(struct pool_master *m);
void pool_children_ask_to_finish(struct pool_master *m, int slot);
int pool_children_live(const struct pool_master *m);
int pool_children_free_slot(const struct pool_master *m);
int pool_children_ready(const struct pool_master *m, int slot, int64_t now);
void pool_children_update_nslots(struct pool_master *m);

/* pool_worker.c: the forked child's life; never returns. */
void pool_worker_run(struct pool_master *m, int slot, const sigset_t *mask)
	__attribute__((noreturn));
/* Hold the graceful signals while a request is in hand; let them through. */
void pool_worker_hold_signals(void);
void pool_worker_release_signals(void);

#endif
