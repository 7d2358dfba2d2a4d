/*
 * pool.c - the prefork master: it starts up (pool_open, pool_listen), then
 * only supervises (pool_run) and cleans up (pool_close). The workers' lives
 * are in pool_children.c, the socket in pool_sockets.c, the shared
 * scoreboard in pool_scoreboard.c, the worker process in pool_worker.c.
 *
 * Signals set flags and wake the loop through a self-pipe, and everything
 * else happens in the loop, once per event or per 1 s tick. Invariants the
 * loop keeps:
 *  - every configured worker slot has a live process, except while a crash
 *    back-off is pending or the pool is stopping;
 *  - a reload never leaves the pool without serving workers: a new worker is
 *    started and must report ready before one old worker is asked to finish,
 *    one at a time, so a config that makes workers fail stalls the reload
 *    instead of emptying the pool;
 *  - a slot is EMPTY exactly when the master has reaped its process.
 */
#define _GNU_SOURCE /* pipe2, strsignal */
#include <config.h>

#include "http/pool_int.h"

#include "core/daemon.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POOL_STOP_TIMEOUT_MS 30000   /* then stragglers get SIGKILL */
#define POOL_RELOAD_POLL_MS 20

/* Signal flags, and the self-pipe's write end that wakes poll(). */
static volatile sig_atomic_t pool_sig_term, pool_sig_hup, pool_sig_usr1, pool_sig_chld;
static int pool_wake_fd = -1;

/* ------------------------------------------------------------ helpers */

int pool_set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) == 0)
		return 0;
	daemon_log_msg("error", "sigaction_failed", "sigaction(%s): %s", strsignal(sig),
		       strerror(errno));
	return -1;
}

int pool_start_failed(const struct pool_master *m, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	daemon_log_msg("error", "start_failed", "%s", msg);
	if (m->orig_stderr >= 0) {
		struct stat a, b;

		if (fstat(m->orig_stderr, &a) == 0 && fstat(STDERR_FILENO, &b) == 0 &&
		    (a.st_dev != b.st_dev || a.st_ino != b.st_ino))
			dprintf(m->orig_stderr, "appointd: %s\n", msg);
	}
	return 1;
}

static void pool_on_signal(int sig)
{
	int saved = errno;

	switch (sig) {
	case SIGTERM: case SIGINT: case SIGQUIT: pool_sig_term = 1; break;
	case SIGHUP: pool_sig_hup = 1; break;
	case SIGUSR1: pool_sig_usr1 = 1; break;
	case SIGCHLD: pool_sig_chld = 1; break;
	}
	if (write(pool_wake_fd, "", 1) < 0) {
		/* full pipe: a wake-up is already pending */
	}
	errno = saved;
}

/* ------------------------------------------------------------ supervising */

/*
 * Brings the pool to cfg->workers workers of the current generation. While
 * old-generation workers remain (a reload), one step at a time: start one
 * new worker (while that keeps the pool at most one over the configured
 * count), wait until it is ready, ask one old worker (an idle one when
 * possible) to finish, wait until it has exited.
 */
static void pool_reconcile(struct pool_master *m)
{
	int64_t now = pool_mono_ms();
	int live_new = 0, old = 0, retiring = 0, unready_new = 0;
	int victim = -1, victim_idle = 0;

	for (int i = 0; i < POOL_MAX_WORKERS; i++) {
		const struct pool_child *c = &m->child[i];

		if (!c->pid)
			continue;
		if (c->gen == m->gen) {
			live_new++;
			if (!pool_children_ready(m, i, now))
				unready_new++;
		} else if (c->stop_sent_ms) {
			retiring++;
		} else {
			int idle = m->shm->slots[i].state != POOL_SLOT_BUSY;

			old++;
			if (victim < 0 || (idle && !victim_idle)) {
				victim = i;
				victim_idle = idle;
			}
		}
	}
	if (old == 0 && retiring == 0) {
		if (m->reload_started_ms) {
			cJSON *o = daemon_log_begin("info", "reload_done");

			cJSON_AddNumberToObject(o, "workers", live_new);
			cJSON_AddNumberToObject(o, "durationMs", (double)(now - m->reload_started_ms));
			daemon_log_end(o);
			m->reload_started_ms = 0;
		}
		while (live_new < m->cfg->workers && now >= m->next_spawn_ms) {
			int i = pool_children_free_slot(m);

			if (i < 0 || pool_children_spawn(m, i) < 0)
				break;
			live_new++;
		}
		return;
	}
	if (retiring > 0 || unready_new > 0)
		return;
	/* At most one process over the configured count at any time. */
	if (live_new < m->cfg->workers && live_new + old <= m->cfg->workers) {
		int i = pool_children_free_slot(m);

		if (now < m->next_spawn_ms)
			return;
		if (i >= 0) {
			pool_children_spawn(m, i);
			return; /* retire an old one once this one is ready */
		}
	}
	if (victim >= 0)
		pool_children_ask_to_finish(m, victim);
}

static void pool_reload(struct pool_master *m)
{
	struct config next;
	struct err e;
	cJSON *o;

	err_init(&e);
	if (config_load(&next, m->conf_path, &e) < 0) {
		daemon_log_msg("error", "reload_failed", "%s; keeping the running configuration",
			     e.message);
		err_clear(&e);
		return;
	}
	if (strcmp(next.listen, m->cfg->listen) != 0) {
		daemon_log_msg("warn", "reload_partial", "listen changed to %s: needs a restart",
			     next.listen);
		memcpy(next.listen, m->cfg->listen, sizeof next.listen);
	}
	if (next.listen_backlog != m->cfg->listen_backlog) {
		daemon_log_msg("warn", "reload_partial", "listen_backlog change needs a restart");
		next.listen_backlog = m->cfg->listen_backlog;
	}
	if (strcmp(next.pidfile, m->cfg->pidfile) != 0) {
		daemon_log_msg("warn", "reload_partial", "pidfile change needs a restart");
		memcpy(next.pidfile, m->cfg->pidfile, sizeof next.pidfile);
	}
	if (strcmp(next.user, m->cfg->user) != 0) {
		daemon_log_msg("warn", "reload_partial", "user change needs a restart");
		memcpy(next.user, m->cfg->user, sizeof next.user);
	}
	if (strcmp(next.log_path, m->cfg->log_path) != 0 &&
	    daemon_open_log(next.log_path, m->orig_stderr) < 0) {
		daemon_log_msg("error", "log_reopen_failed", "%s: %s; keeping the old log",
			     next.log_path, strerror(errno));
		memcpy(next.log_path, m->cfg->log_path, sizeof next.log_path);
	}
	o = daemon_log_begin("info", "reload");
	cJSON_AddNumberToObject(o, "workersBefore", m->cfg->workers);
	cJSON_AddNumberToObject(o, "workers", next.workers);
	daemon_log_end(o);
	*m->cfg = next;
	m->gen++;
	m->reload_started_ms = pool_mono_ms();
	/* A new configuration deserves a fresh start (it may fix the crashes). */
	m->crash_streak = 0;
	m->next_spawn_ms = 0;
	pool_children_update_nslots(m);
}

static void pool_begin_stop(struct pool_master *m)
{
	m->stopping = 1;
	m->stop_deadline_ms = pool_mono_ms() + POOL_STOP_TIMEOUT_MS;
	daemon_log_msg("info", "stopping", "finishing requests in hand");
	for (int i = 0; i < POOL_MAX_WORKERS; i++)
		if (m->child[i].pid)
			pool_children_ask_to_finish(m, i);
}

static void pool_stop_tick(struct pool_master *m)
{
	int64_t now = pool_mono_ms();

	if (now >= m->stop_deadline_ms) {
		if (!m->killed_stragglers) {
			m->killed_stragglers = 1;
			daemon_log_msg("warn", "stop_timeout", "killing %d workers still running",
				       pool_children_live(m));
			pool_children_kill_all(m);
		}
		return;
	}
	/* Repeat the request: a signal landing just before a worker entered
	 * accept() would otherwise leave it blocked there. A busy worker holds it
	 * until its request is done, so repeating costs nothing. */
	for (int i = 0; i < POOL_MAX_WORKERS; i++)
		if (m->child[i].pid && now - m->child[i].stop_sent_ms >= POOL_TICK_MS)
			pool_children_ask_to_finish(m, i);
}

/* Same repetition for workers retiring in a reload. */
static void pool_retire_tick(struct pool_master *m)
{
	int64_t now = pool_mono_ms();

	for (int i = 0; i < POOL_MAX_WORKERS; i++) {
		struct pool_child *c = &m->child[i];

		if (c->pid && c->stop_sent_ms && now - c->stop_sent_ms >= POOL_TICK_MS)
			pool_children_ask_to_finish(m, i);
	}
}

static void pool_reopen_log(struct pool_master *m)
{
	if (daemon_open_log(m->cfg->log_path, m->orig_stderr) < 0)
		daemon_log_msg("error", "log_reopen_failed", "%s: %s", m->cfg->log_path,
			       strerror(errno));
	else
		daemon_log_msg("info", "log_reopened", "%s", m->cfg->log_path);
	pool_children_signal_all(m, SIGUSR1);
}

static void pool_loop(struct pool_master *m)
{
	for (;;) {
		struct pollfd pfd = { .fd = m->wake[0], .events = POLLIN };
		int64_t now, timeout;
		char drain[64];
		int rc;

		if (pool_sig_term && !m->stopping) {
			pool_sig_term = 0;
			pool_begin_stop(m);
		}
		if (pool_sig_hup) {
			pool_sig_hup = 0;
			if (!m->stopping)
				pool_reload(m);
		}
		if (pool_sig_usr1) {
			pool_sig_usr1 = 0;
			pool_reopen_log(m);
		}
		pool_sig_chld = 0;
		pool_children_reap(m);
		pool_children_kill_overdue(m);
		if (m->stopping) {
			if (pool_children_live(m) == 0)
				return;
			pool_stop_tick(m);
		} else {
			pool_retire_tick(m);
			pool_reconcile(m);
		}
		now = pool_mono_ms();
		timeout = pool_children_next_overdue_ms(m);
		if (m->reload_started_ms && timeout > POOL_RELOAD_POLL_MS)
			timeout = POOL_RELOAD_POLL_MS;
		if (m->next_spawn_ms > now && m->next_spawn_ms - now < timeout)
			timeout = m->next_spawn_ms - now;
		rc = poll(&pfd, 1, (int)timeout);
		if (rc < 0 && errno != EINTR)
			daemon_log_msg("error", "poll_failed", "self-pipe: %s", strerror(errno));
		if (rc > 0)
			while (read(m->wake[0], drain, sizeof drain) > 0)
				;
	}
}

/* ------------------------------------------------------------ start, stop */

struct pool_master *pool_open(const char *conf_path, struct config *cfg)
{
	struct pool_master *m = calloc(1, sizeof *m);

	if (!m) {
		daemon_log_msg("error", "start_failed", "pool: out of memory");
		return NULL;
	}
	m->conf_path = conf_path;
	m->cfg = cfg;
	m->listen_fd = -1;
	m->wake[0] = m->wake[1] = -1;
	m->pid = getpid();
	m->gen = 1;
	/* Not fd 3, which systemd may have passed (LISTEN_FDS). */
	m->orig_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, getenv("LISTEN_FDS") ? 4 : 3);
	if (m->orig_stderr < 0)
		daemon_log_msg("warn", "fcntl_failed", "F_DUPFD_CLOEXEC of stderr: %s",
			       strerror(errno));
	if (daemon_open_log(cfg->log_path, m->orig_stderr) < 0) {
		pool_start_failed(m, "log %s: %s", cfg->log_path, strerror(errno));
		pool_close(m);
		return NULL;
	}
	m->shm = pool_scoreboard_new();
	if (!m->shm) {
		pool_start_failed(m, "mmap scoreboard: %s", strerror(errno));
		pool_close(m);
		return NULL;
	}
	return m;
}

int pool_listen(struct pool_master *m)
{
	return pool_sockets_open(m);
}

const char *pool_socket_path(const struct pool_master *m)
{
	return m->inherited ? "" : m->sock_path;
}

int pool_run(struct pool_master *m, pool_worker_fn fn, void *arg)
{
	static const int caught[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1 };
	cJSON *o;

	m->fn = fn;
	m->arg = arg;
	if (pipe2(m->wake, O_NONBLOCK | O_CLOEXEC) < 0)
		return pool_start_failed(m, "pipe2: %s", strerror(errno));
	pool_wake_fd = m->wake[1];
	for (size_t i = 0; i < sizeof caught / sizeof caught[0]; i++)
		if (pool_set_handler(caught[i], pool_on_signal, SA_RESTART) < 0)
			return pool_start_failed(m, "cannot catch %s", strsignal(caught[i]));
	if (pool_set_handler(SIGCHLD, pool_on_signal, SA_RESTART | SA_NOCLDSTOP) < 0 ||
	    pool_set_handler(SIGPIPE, SIG_IGN, 0) < 0)
		return pool_start_failed(m, "cannot set SIGCHLD and SIGPIPE handling");
	o = daemon_log_begin("info", "started");
	cJSON_AddNumberToObject(o, "pid", m->pid);
	cJSON_AddStringToObject(o, "listen", m->inherited ? "fd:3" : m->cfg->listen);
	cJSON_AddNumberToObject(o, "workers", m->cfg->workers);
	cJSON_AddStringToObject(o, "version", PACKAGE_VERSION);
	daemon_log_end(o);
	pool_loop(m);
	daemon_log_msg("info", "stopped", "all workers have exited");
	return 0;
}

void pool_close(struct pool_master *m)
{
	static const int handled[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGCHLD };

	if (!m)
		return;
	pool_sockets_close(m);
	pool_scoreboard_free(m->shm);
	if (m->wake[0] >= 0) {
		for (size_t i = 0; i < sizeof handled / sizeof handled[0]; i++)
			pool_set_handler(handled[i], SIG_DFL, 0);
		pool_wake_fd = -1;
		close(m->wake[0]);
		close(m->wake[1]);
	}
	if (m->orig_stderr >= 0)
		close(m->orig_stderr);
	free(m);
}
