/*
 * pool_worker.c - the worker process's side of the pool: what a freshly
 * forked child sets up before it runs the worker body, its signals, and the
 * accept that waits for the next request.
 *
 * Invariant: a connection once accepted is always answered. Workers defer
 * SIGTERM (and the log-reopen SIGUSR1) from accept() until pool_slot_idle(),
 * so a graceful stop never interrupts a request's I/O with EINTR; between
 * requests the signal breaks the worker out of poll() and makes
 * pool_worker_stopping() true (and FCGX_Accept_r out of accept() through
 * FCGX_ShutdownPending()).
 */
#include <config.h>

#include "http/pool_int.h"

#include "core/daemon.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcgiapp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile sig_atomic_t pool_w_stopping, pool_w_reopen;
static int pool_w_active;            /* this process is a pool worker */
static int pool_w_slot = -1;
static struct pool_shared *pool_w_shm;
static const struct config *pool_w_cfg;
static sigset_t pool_w_deferred;     /* held while a request is in hand */

static void pool_worker_on_stop(int sig)
{
	(void)sig;
	pool_w_stopping = 1;
	FCGX_ShutdownPending();
}

static void pool_worker_on_usr1(int sig)
{
	(void)sig;
	pool_w_reopen = 1;
}

static void pool_worker_reopen_if_asked(void)
{
	if (!pool_w_reopen)
		return;
	pool_w_reopen = 0;
	/* No original stderr here: the master closed it for us ("-" keeps fd 2). */
	if (daemon_open_log(pool_w_cfg->log_path, -1) < 0)
		daemon_log_msg("error", "log_reopen_failed", "%s: %s", pool_w_cfg->log_path,
			       strerror(errno));
}

static void pool_worker_sigmask(int how)
{
	if (sigprocmask(how, &pool_w_deferred, NULL) < 0)
		daemon_log_msg("error", "sigprocmask_failed", "%s: %s",
			       how == SIG_BLOCK ? "SIG_BLOCK" : "SIG_UNBLOCK", strerror(errno));
}

void pool_worker_hold_signals(void)
{
	if (!pool_w_active)
		return;
	pool_worker_sigmask(SIG_BLOCK);
	pool_worker_reopen_if_asked();
}

void pool_worker_release_signals(void)
{
	if (pool_w_active)
		pool_worker_sigmask(SIG_UNBLOCK);
}

int pool_worker_stopping(void)
{
	if (pool_w_active) {
		struct pool_slot *s = &pool_w_shm->slots[pool_w_slot];
		int starting = POOL_SLOT_STARTING;

		/* The first call, before the first accept, tells the master this
		 * worker has initialised (a reload waits for it). */
		__atomic_compare_exchange_n(&s->state, &starting, POOL_SLOT_IDLE, 0,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
		pool_worker_reopen_if_asked();
	}
	return pool_w_stopping;
}

int pool_worker_accept(int listen_fd, FCGX_Request *req)
{
	/* The listening socket is non-blocking (pool_sockets.c): a worker that
	 * loses the race for a connection (EAGAIN) comes back to poll(). */
	while (!pool_worker_stopping()) {
		struct pollfd pfd = { listen_fd, POLLIN, 0 };
		int rc = poll(&pfd, 1, 1000);

		if (rc < 0 && errno != EINTR) {
			daemon_log_msg("error", "poll_failed", "listening socket: %s", strerror(errno));
			return -1;
		}
		if (rc <= 0)
			continue;
		pool_worker_sigmask(SIG_BLOCK);
		rc = FCGX_Accept_r(req);
		if (rc >= 0)
			return 0;
		pool_worker_sigmask(SIG_UNBLOCK);
		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR || rc == -ECONNABORTED)
			continue;
		{
			cJSON *o = daemon_log_begin("error", "accept_failed");

			cJSON_AddNumberToObject(o, "errno", -rc);
			cJSON_AddStringToObject(o, "message", strerror(-rc));
			daemon_log_end(o);
		}
		return -1;
	}
	return -1;
}

void pool_worker_run(struct pool_master *m, int slot, const sigset_t *mask)
{
	int ok = 1;

	/* The master's descriptors are not the worker's business. */
	close(m->wake[0]);
	close(m->wake[1]);
	if (m->orig_stderr >= 0)
		close(m->orig_stderr);
	/* No SA_RESTART: the signal must break poll() and accept() out with EINTR. */
	ok &= pool_set_handler(SIGTERM, pool_worker_on_stop, 0) == 0;
	ok &= pool_set_handler(SIGQUIT, pool_worker_on_stop, 0) == 0;
	ok &= pool_set_handler(SIGINT, pool_worker_on_stop, 0) == 0;
	/* Installed before libfcgi initialises, which would otherwise take
	 * SIGUSR1 as "shut down". */
	ok &= pool_set_handler(SIGUSR1, pool_worker_on_usr1, SA_RESTART) == 0;
	ok &= pool_set_handler(SIGHUP, SIG_IGN, 0) == 0;
	/* A client that went away must fail a write, not kill the worker. */
	ok &= pool_set_handler(SIGPIPE, SIG_IGN, 0) == 0;
	ok &= pool_set_handler(SIGCHLD, SIG_DFL, 0) == 0;
	if (!ok)
		exit(1);
	sigemptyset(&pool_w_deferred);
	sigaddset(&pool_w_deferred, SIGTERM);
	sigaddset(&pool_w_deferred, SIGQUIT);
	sigaddset(&pool_w_deferred, SIGINT);
	sigaddset(&pool_w_deferred, SIGUSR1);
	/* Orphaned workers finish their request and go when the master dies. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		daemon_log_msg("warn", "prctl_failed", "PR_SET_PDEATHSIG: %s", strerror(errno));
	if (getppid() != m->pid)
		pool_w_stopping = 1;
	pool_w_active = 1;
	pool_w_slot = slot;
	pool_w_shm = m->shm;
	pool_w_cfg = m->cfg;
	m->shm->slots[slot].pid = getpid();
	if (sigprocmask(SIG_SETMASK, mask, NULL) < 0) {
		daemon_log_msg("error", "sigprocmask_failed", "SIG_SETMASK: %s", strerror(errno));
		exit(1);
	}
	exit(m->fn(m->listen_fd, m->shm, slot, m->cfg, m->arg));
}
