/*
 * pool.c - the prefork master and the worker-side scoreboard calls.
 *
 * The master binds (or inherits) the listening socket, forks the workers and
 * then only watches: signals set flags and wake the loop through a self-pipe,
 * and everything else happens in the loop, once per event or per 1 s tick.
 * Invariants the loop keeps:
 *  - every configured worker slot has a live process, except while a crash
 *    back-off is pending or the pool is stopping;
 *  - a reload never leaves the pool without serving workers: a new worker is
 *    started and must report ready before one old worker is asked to finish,
 *    one at a time, so a config that makes workers fail stalls the reload
 *    instead of emptying the pool;
 *  - a slot is EMPTY exactly when the master has reaped its process.
 *
 * Workers defer SIGTERM (and the log-reopen SIGUSR1) while a request is in
 * hand, between pool_slot_busy() and pool_slot_idle(), so a graceful stop
 * never interrupts a request's I/O with EINTR; between requests the signal
 * breaks FCGX_Accept_r out of accept() through FCGX_ShutdownPending().
 */
#define _GNU_SOURCE /* pipe2, strsignal */
#include <config.h>

#include "http/pool.h"

#include "core/daemon.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POOL_TICK_MS 1000
#define POOL_STOP_TIMEOUT_MS 30000   /* then stragglers get SIGKILL */
#define POOL_CRASH_WINDOW_MS 10000   /* crashes closer than this form a streak */
#define POOL_BACKOFF_MIN_MS 100
#define POOL_BACKOFF_MAX_MS 5000
/* A reload proceeds once a new worker is ready, or has lived this long
 * (for a worker body that never calls pool_worker_stopping() before its
 * first accept). */
#define POOL_READY_FALLBACK_MS 3000
#define POOL_RELOAD_POLL_MS 20

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
	char pidfile[sizeof(((struct config *)0)->pidfile)]; /* written by us */
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

/* Master side: signal flags and the self-pipe that wakes poll(). */
static volatile sig_atomic_t pool_sig_term, pool_sig_hup, pool_sig_usr1, pool_sig_chld;
static int pool_pipe[2] = { -1, -1 };
/* The stderr we were started with, for "-" and for start-up failures. */
static int pool_orig_stderr = -1;

/* Worker side. */
static volatile sig_atomic_t pool_w_stopping, pool_w_reopen;
static int pool_w_active;            /* this process is a pool worker */
static int pool_w_slot = -1;
static struct pool_shared *pool_w_shm;
static const struct config *pool_w_cfg;
static sigset_t pool_w_deferred;     /* held while a request is in hand */

/* ------------------------------------------------------------ time, log */

static int64_t pool_clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define pool_mono_ms() pool_clock_ms(CLOCK_MONOTONIC)
#define pool_real_ms() pool_clock_ms(CLOCK_REALTIME)

static void pool_log_child(const char *level, const char *event, pid_t pid, int slot)
{
	cJSON *o = daemon_log_begin(level, event);

	cJSON_AddNumberToObject(o, "pid", pid);
	cJSON_AddNumberToObject(o, "slot", slot);
	daemon_log_end(o);
}

/* Start-up failures also go to the terminal or journal we were started from,
 * when the log has already been redirected to a file. */
static int pool_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int pool_fatal(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	daemon_log_msg("error", "start_failed", "%s", msg);
	if (pool_orig_stderr >= 0) {
		struct stat a, b;

		if (fstat(pool_orig_stderr, &a) == 0 && fstat(STDERR_FILENO, &b) == 0 &&
		    (a.st_dev != b.st_dev || a.st_ino != b.st_ino))
			dprintf(pool_orig_stderr, "appointd: %s\n", msg);
	}
	return 1;
}

/* ------------------------------------------------------------ worker side */

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
	if (daemon_open_log(pool_w_cfg->log_path, pool_orig_stderr) < 0)
		daemon_log_msg("error", "log_reopen_failed", "%s: %s", pool_w_cfg->log_path,
			     strerror(errno));
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
	/*
	 * The listening socket is shared by every worker, so it is made
	 * non-blocking once for all: a worker that loses the race for a
	 * connection (accept: EAGAIN) goes back to poll() rather than blocking
	 * in accept() with its signals held.
	 */
	fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
	while (!pool_worker_stopping()) {
		struct pollfd pfd = { listen_fd, POLLIN, 0 };
		int rc;

		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		sigprocmask(SIG_BLOCK, &pool_w_deferred, NULL);
		rc = FCGX_Accept_r(req);
		if (rc >= 0)
			return 0;
		sigprocmask(SIG_UNBLOCK, &pool_w_deferred, NULL);
		if (rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR || rc == -ECONNABORTED)
			continue;
		fprintf(stderr, "{\"level\":\"error\",\"event\":\"accept_failed\",\"errno\":%d}\n", -rc);
		return -1;
	}
	return -1;
}

void pool_slot_busy(struct pool_shared *shm, int slot, const char *route)
{
	struct pool_slot *s = &shm->slots[slot];

	if (pool_w_active) {
		sigprocmask(SIG_BLOCK, &pool_w_deferred, NULL);
		pool_worker_reopen_if_asked();
	}
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
	if (pool_w_active)
		sigprocmask(SIG_UNBLOCK, &pool_w_deferred, NULL);
}

static void pool_set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* In the child after fork; never returns. */
static void pool_child_main(struct pool_master *m, int slot, const sigset_t *mask)
{
	int rc;

	close(pool_pipe[0]);
	close(pool_pipe[1]);
	if (pool_orig_stderr >= 0)
		close(pool_orig_stderr);
	/* No SA_RESTART: the signal must break accept() out with EINTR. */
	pool_set_handler(SIGTERM, pool_worker_on_stop, 0);
	pool_set_handler(SIGQUIT, pool_worker_on_stop, 0);
	pool_set_handler(SIGINT, pool_worker_on_stop, 0);
	/* Installed before libfcgi initialises, which would otherwise take
	 * SIGUSR1 as "shut down". */
	pool_set_handler(SIGUSR1, pool_worker_on_usr1, SA_RESTART);
	pool_set_handler(SIGHUP, SIG_IGN, 0);
	/* A client that went away must fail a write, not kill the worker. */
	pool_set_handler(SIGPIPE, SIG_IGN, 0);
	pool_set_handler(SIGCHLD, SIG_DFL, 0);
	sigemptyset(&pool_w_deferred);
	sigaddset(&pool_w_deferred, SIGTERM);
	sigaddset(&pool_w_deferred, SIGQUIT);
	sigaddset(&pool_w_deferred, SIGINT);
	sigaddset(&pool_w_deferred, SIGUSR1);
	/* Orphaned workers finish their request and go when the master dies. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != m->pid)
		pool_w_stopping = 1;
	pool_w_active = 1;
	pool_w_slot = slot;
	pool_w_shm = m->shm;
	pool_w_cfg = m->cfg;
	m->shm->slots[slot].pid = getpid();
	sigprocmask(SIG_SETMASK, mask, NULL);
	rc = m->fn(m->listen_fd, m->shm, slot, m->cfg, m->arg);
	exit(rc);
}

/* ------------------------------------------------------------ master */

static void pool_on_signal(int sig)
{
	int saved = errno;

	switch (sig) {
	case SIGTERM: case SIGINT: case SIGQUIT: pool_sig_term = 1; break;
	case SIGHUP: pool_sig_hup = 1; break;
	case SIGUSR1: pool_sig_usr1 = 1; break;
	case SIGCHLD: pool_sig_chld = 1; break;
	}
	if (write(pool_pipe[1], "", 1) < 0) {
		/* full pipe: a wake-up is already pending */
	}
	errno = saved;
}

static int pool_unix_path(const char *listen, const char **path)
{
	if (strncmp(listen, "unix:", 5) == 0)
		listen += 5;
	*path = listen;
	return listen[0] == '/';
}

static int pool_bind_unix(struct pool_master *m, const char *path, int backlog)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old_umask;
	int fd;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path)
		return pool_fatal("listen %s: path too long", path), -1;
	memcpy(sa.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode))
			return pool_fatal("listen %s: exists and is not a socket", path), -1;
		/* Only a socket nobody answers on is stale; never steal a live one. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return pool_fatal("socket: %s", strerror(errno)), -1;
		if (connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0) {
			close(probe);
			return pool_fatal("listen %s: another server is accepting on it", path), -1;
		}
		close(probe);
		if (unlink(path) < 0)
			return pool_fatal("listen %s: cannot remove stale socket: %s", path,
					  strerror(errno)), -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return pool_fatal("socket: %s", strerror(errno)), -1;
	/* 0666 from the start, not after a window: nginx's workers run as
	 * another user; restrict access with the directory's permissions. */
	old_umask = umask(0111);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int err = errno;

		umask(old_umask);
		close(fd);
		return pool_fatal("listen %s: bind: %s", path, strerror(err)), -1;
	}
	umask(old_umask);
	snprintf(m->sock_path, sizeof m->sock_path, "%s", path);
	if (listen(fd, backlog) < 0) {
		int err = errno;

		close(fd);
		return pool_fatal("listen %s: %s", path, strerror(err)), -1;
	}
	return fd;
}

static int pool_bind_tcp(const char *listen_spec, int backlog)
{
	char host[256], *colon;
	const char *port;
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc, err = 0;

	snprintf(host, sizeof host, "%s", listen_spec);
	colon = strrchr(host, ':');
	if (!colon)
		return pool_fatal("listen %s: expected host:port", listen_spec), -1;
	*colon = '\0';
	port = colon + 1;
	if (host[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(host[0] && strcmp(host, "*") != 0 ? host : NULL, port, &hints, &res);
	if (rc != 0)
		return pool_fatal("listen %s: %s", listen_spec, gai_strerror(rc)), -1;
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return pool_fatal("listen %s: %s", listen_spec, strerror(err)), -1;
	return fd;
}

static int pool_open_listener(struct pool_master *m)
{
	const char *lpid = getenv("LISTEN_PID"), *lfds = getenv("LISTEN_FDS");
	const char *path;

	if (lpid && lfds && strtol(lpid, NULL, 10) == (long)getpid()) {
		int one = 0;
		socklen_t len = sizeof one;
		long n = strtol(lfds, NULL, 10);

		/* Not for our workers, nor anything they might exec. */
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
		if (n < 1)
			return pool_fatal("LISTEN_FDS=%s: no socket passed", lfds), -1;
		if (getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &one, &len) < 0 || !one)
			return pool_fatal("LISTEN_FDS: fd 3 is not a listening socket"), -1;
		if (n > 1)
			daemon_log_msg("warn", "listen_inherited",
				     "%ld sockets passed; serving only fd 3", n);
		fcntl(3, F_SETFD, FD_CLOEXEC);
		m->inherited = 1;
		daemon_log_msg("info", "listen_inherited", "fd 3 from the service manager");
		return 3;
	}
	if (pool_unix_path(m->cfg->listen, &path))
		return pool_bind_unix(m, path, m->cfg->listen_backlog);
	return pool_bind_tcp(m->cfg->listen, m->cfg->listen_backlog);
}

static int pool_pidfile_check(const char *path)
{
	pid_t pid = daemon_pidfile_read(path);

	if (daemon_pid_running(pid))
		return pool_fatal("pidfile %s names running process %d", path, (int)pid);
	return 0;
}

static int pool_pidfile_write(struct pool_master *m)
{
	const char *path = m->cfg->pidfile;

	if (!path[0])
		return 0;
	if (daemon_pidfile_write(path) < 0)
		return pool_fatal("pidfile %s: %s", path, strerror(errno));
	snprintf(m->pidfile, sizeof m->pidfile, "%s", path);
	return 0;
}

static int pool_drop_privileges(struct pool_master *m)
{
	/* What the unprivileged master must still reach: its socket and pidfile
	 * for the clean-up (in a sticky directory the owner must match), its
	 * log for SIGUSR1 reopens. */
	const char *keep[] = { m->sock_path, m->pidfile, m->cfg->log_path, NULL };
	char why[300];
	int rc = daemon_drop_privileges(m->cfg->user, keep, why, sizeof why);

	if (rc < 0)
		return pool_fatal("%s", why);
	if (rc > 0)
		daemon_log_msg(rc == 1 ? "info" : "warn", rc == 1 ? "privileges_dropped" : "user_ignored",
			     "%s", why);
	return 0;
}

/* Iteration bound for readers of the scoreboard: every live slot is below it. */
static void pool_update_nslots(struct pool_master *m)
{
	int n = 0;

	for (int i = 0; i < POOL_MAX_WORKERS; i++)
		if (m->child[i].pid)
			n = i + 1;
	if (n < m->cfg->workers)
		n = m->cfg->workers;
	m->shm->nslots = n;
}

static int pool_spawn(struct pool_master *m, int i)
{
	struct pool_slot *s = &m->shm->slots[i];
	sigset_t all, old;
	pid_t pid;

	s->pid = 0;
	s->requests = 0;
	s->request_start_ms = 0;
	s->route[0] = '\0';
	__atomic_store_n(&s->state, POOL_SLOT_STARTING, __ATOMIC_RELEASE);
	/* Signals wait until the child has its own handlers: a SIGTERM caught
	 * by the master's handler in the child would be lost. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0)
		pool_child_main(m, i, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		__atomic_store_n(&s->state, POOL_SLOT_EMPTY, __ATOMIC_RELEASE);
		daemon_log_msg("error", "fork_failed", "%s", strerror(errno));
		m->next_spawn_ms = pool_mono_ms() + POOL_TICK_MS;
		return -1;
	}
	s->pid = pid;
	m->child[i] = (struct pool_child){ .pid = pid, .gen = m->gen,
					   .spawned_ms = pool_mono_ms() };
	pool_update_nslots(m);
	pool_log_child("info", "worker_spawned", pid, i);
	return 0;
}

static void pool_signal_all(struct pool_master *m, int sig)
{
	for (int i = 0; i < POOL_MAX_WORKERS; i++)
		if (m->child[i].pid)
			kill(m->child[i].pid, sig);
}

static void pool_ask_to_finish(struct pool_master *m, int i)
{
	m->child[i].stop_sent_ms = pool_mono_ms();
	kill(m->child[i].pid, SIGTERM);
}

static void pool_note_crash(struct pool_master *m)
{
	int64_t now = pool_mono_ms();

	if (now - m->last_crash_ms > POOL_CRASH_WINDOW_MS)
		m->crash_streak = 0;
	m->crash_streak++;
	m->last_crash_ms = now;
	if (m->crash_streak > 1) {
		int shift = m->crash_streak - 2;
		int64_t delay = shift > 6 ? POOL_BACKOFF_MAX_MS : (int64_t)POOL_BACKOFF_MIN_MS << shift;
		cJSON *o;

		if (delay > POOL_BACKOFF_MAX_MS)
			delay = POOL_BACKOFF_MAX_MS;
		if (m->next_spawn_ms < now + delay)
			m->next_spawn_ms = now + delay;
		o = daemon_log_begin("warn", "respawn_backoff");
		cJSON_AddNumberToObject(o, "crashes", m->crash_streak);
		cJSON_AddNumberToObject(o, "delayMs", (double)delay);
		daemon_log_end(o);
	}
}

static void pool_reap(struct pool_master *m)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct pool_child *c = NULL;
		struct pool_slot *s;
		const char *event, *level = "info";
		cJSON *o;
		int i;

		for (i = 0; i < POOL_MAX_WORKERS; i++)
			if (m->child[i].pid == pid) {
				c = &m->child[i];
				break;
			}
		if (!c)
			continue;
		s = &m->shm->slots[i];
		if (c->killed) {
			event = "worker_killed_exit";
		} else if (c->stop_sent_ms) {
			event = "worker_stopped";
		} else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			event = "worker_recycled";
			if (!m->stopping)
				__atomic_add_fetch(&m->shm->recycled, 1, __ATOMIC_RELAXED);
		} else {
			event = "worker_crashed";
			level = "error";
			if (!m->stopping)
				__atomic_add_fetch(&m->shm->respawns, 1, __ATOMIC_RELAXED);
		}
		o = daemon_log_begin(level, event);
		cJSON_AddNumberToObject(o, "pid", pid);
		cJSON_AddNumberToObject(o, "slot", i);
		cJSON_AddNumberToObject(o, "requests", (double)s->requests);
		if (WIFEXITED(st))
			cJSON_AddNumberToObject(o, "exitStatus", WEXITSTATUS(st));
		else if (WIFSIGNALED(st))
			cJSON_AddStringToObject(o, "signal", strsignal(WTERMSIG(st)));
		daemon_log_end(o);
		if (level[0] == 'e' && !m->stopping)
			pool_note_crash(m);
		memset(c, 0, sizeof *c);
		s->pid = 0;
		__atomic_store_n(&s->state, POOL_SLOT_EMPTY, __ATOMIC_RELEASE);
	}
	pool_update_nslots(m);
}

static void pool_kill_overdue(struct pool_master *m)
{
	int64_t limit = (int64_t)m->cfg->request_timeout * 1000;

	for (int i = 0; i < POOL_MAX_WORKERS; i++) {
		struct pool_child *c = &m->child[i];
		struct pool_slot *s = &m->shm->slots[i];
		int64_t start, took;
		char route[sizeof s->route];
		cJSON *o;

		if (!c->pid || c->killed ||
		    __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != POOL_SLOT_BUSY)
			continue;
		start = __atomic_load_n(&s->request_start_ms, __ATOMIC_RELAXED);
		took = pool_real_ms() - start;
		if (!start || took <= limit)
			continue;
		memcpy(route, s->route, sizeof route);
		route[sizeof route - 1] = '\0';
		/* Re-check: the request may have ended while we looked. */
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != POOL_SLOT_BUSY ||
		    __atomic_load_n(&s->request_start_ms, __ATOMIC_RELAXED) != start)
			continue;
		kill(c->pid, SIGKILL);
		c->killed = 1;
		__atomic_add_fetch(&m->shm->killed_slow, 1, __ATOMIC_RELAXED);
		o = daemon_log_begin("error", "worker_killed_slow");
		cJSON_AddNumberToObject(o, "pid", c->pid);
		cJSON_AddNumberToObject(o, "slot", i);
		cJSON_AddStringToObject(o, "route", route);
		cJSON_AddNumberToObject(o, "durationMs", (double)took);
		cJSON_AddNumberToObject(o, "timeoutMs", (double)limit);
		daemon_log_end(o);
	}
}

/* Milliseconds until the earliest busy worker passes request_timeout. */
static int64_t pool_next_overdue_ms(const struct pool_master *m)
{
	int64_t limit = (int64_t)m->cfg->request_timeout * 1000, now = pool_real_ms();
	int64_t next = POOL_TICK_MS;

	for (int i = 0; i < POOL_MAX_WORKERS; i++) {
		const struct pool_slot *s = &m->shm->slots[i];
		int64_t start;

		if (!m->child[i].pid || m->child[i].killed ||
		    __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != POOL_SLOT_BUSY)
			continue;
		start = __atomic_load_n(&s->request_start_ms, __ATOMIC_RELAXED);
		if (start && start + limit + 1 - now < next)
			next = start + limit + 1 - now;
	}
	return next < 0 ? 0 : next;
}

static int pool_free_slot(const struct pool_master *m)
{
	for (int i = 0; i < POOL_MAX_WORKERS; i++)
		if (!m->child[i].pid)
			return i;
	return -1;
}

static int pool_is_ready(const struct pool_master *m, int i, int64_t now)
{
	int state = __atomic_load_n(&m->shm->slots[i].state, __ATOMIC_ACQUIRE);

	return state != POOL_SLOT_STARTING || now - m->child[i].spawned_ms >= POOL_READY_FALLBACK_MS;
}

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
			if (!pool_is_ready(m, i, now))
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
			int i = pool_free_slot(m);

			if (i < 0 || pool_spawn(m, i) < 0)
				break;
			live_new++;
		}
		return;
	}
	if (retiring > 0 || unready_new > 0)
		return;
	/* At most one process over the configured count at any time. */
	if (live_new < m->cfg->workers && live_new + old <= m->cfg->workers) {
		int i = pool_free_slot(m);

		if (now < m->next_spawn_ms)
			return;
		if (i >= 0) {
			pool_spawn(m, i);
			return; /* retire an old one once this one is ready */
		}
	}
	if (victim >= 0)
		pool_ask_to_finish(m, victim);
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
	if (strcmp(next.log_path, m->cfg->log_path) != 0 && daemon_open_log(next.log_path, pool_orig_stderr) < 0) {
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
	pool_update_nslots(m);
}

static void pool_begin_stop(struct pool_master *m)
{
	int64_t now = pool_mono_ms();

	m->stopping = 1;
	m->stop_deadline_ms = now + POOL_STOP_TIMEOUT_MS;
	daemon_log_msg("info", "stopping", "finishing requests in hand");
	for (int i = 0; i < POOL_MAX_WORKERS; i++)
		if (m->child[i].pid)
			pool_ask_to_finish(m, i);
}

static int pool_live(const struct pool_master *m)
{
	int n = 0;

	for (int i = 0; i < POOL_MAX_WORKERS; i++)
		n += m->child[i].pid != 0;
	return n;
}

static void pool_stop_tick(struct pool_master *m)
{
	int64_t now = pool_mono_ms();

	if (now >= m->stop_deadline_ms) {
		if (!m->killed_stragglers) {
			m->killed_stragglers = 1;
			daemon_log_msg("warn", "stop_timeout", "killing %d workers still running",
				     pool_live(m));
			for (int i = 0; i < POOL_MAX_WORKERS; i++)
				if (m->child[i].pid) {
					m->child[i].killed = 1;
					kill(m->child[i].pid, SIGKILL);
				}
		}
		return;
	}
	/* Repeat the request: a signal landing just before a worker entered
	 * accept() would otherwise leave it blocked there. A busy worker holds it
	 * until its request is done, so repeating costs nothing. */
	for (int i = 0; i < POOL_MAX_WORKERS; i++)
		if (m->child[i].pid && now - m->child[i].stop_sent_ms >= POOL_TICK_MS)
			pool_ask_to_finish(m, i);
}

/* Same repetition for workers retiring in a reload. */
static void pool_retire_tick(struct pool_master *m)
{
	int64_t now = pool_mono_ms();

	for (int i = 0; i < POOL_MAX_WORKERS; i++) {
		struct pool_child *c = &m->child[i];

		if (c->pid && c->stop_sent_ms && now - c->stop_sent_ms >= POOL_TICK_MS)
			pool_ask_to_finish(m, i);
	}
}

static void pool_cleanup(struct pool_master *m)
{
	if (m->sock_path[0] && !m->inherited && unlink(m->sock_path) < 0 && errno != ENOENT)
		daemon_log_msg("warn", "cleanup", "cannot remove %s: %s", m->sock_path,
			     strerror(errno));
	if (m->pidfile[0] && daemon_pidfile_read(m->pidfile) == m->pid &&
	    unlink(m->pidfile) < 0)
		daemon_log_msg("warn", "cleanup", "cannot remove %s: %s", m->pidfile,
			     strerror(errno));
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	if (m->shm)
		munmap(m->shm, sizeof *m->shm);
	for (int i = 0; i < 2; i++)
		if (pool_pipe[i] >= 0) {
			close(pool_pipe[i]);
			pool_pipe[i] = -1;
		}
	pool_set_handler(SIGTERM, SIG_DFL, 0);
	pool_set_handler(SIGINT, SIG_DFL, 0);
	pool_set_handler(SIGQUIT, SIG_DFL, 0);
	pool_set_handler(SIGHUP, SIG_DFL, 0);
	pool_set_handler(SIGUSR1, SIG_DFL, 0);
	pool_set_handler(SIGCHLD, SIG_DFL, 0);
	if (pool_orig_stderr >= 0) {
		close(pool_orig_stderr);
		pool_orig_stderr = -1;
	}
}

static void pool_loop(struct pool_master *m)
{
	for (;;) {
		struct pollfd pfd = { .fd = pool_pipe[0], .events = POLLIN };
		int64_t now, timeout = POOL_TICK_MS;
		char drain[64];

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
			if (daemon_open_log(m->cfg->log_path, pool_orig_stderr) < 0)
				daemon_log_msg("error", "log_reopen_failed", "%s: %s",
					     m->cfg->log_path, strerror(errno));
			else
				daemon_log_msg("info", "log_reopened", "%s", m->cfg->log_path);
			pool_signal_all(m, SIGUSR1);
		}
		pool_sig_chld = 0;
		pool_reap(m);
		pool_kill_overdue(m);
		if (m->stopping) {
			if (pool_live(m) == 0)
				return;
			pool_stop_tick(m);
		} else {
			pool_retire_tick(m);
			pool_reconcile(m);
		}
		now = pool_mono_ms();
		timeout = pool_next_overdue_ms(m);
		if (m->reload_started_ms && timeout > POOL_RELOAD_POLL_MS)
			timeout = POOL_RELOAD_POLL_MS;
		if (m->next_spawn_ms > now && m->next_spawn_ms - now < timeout)
			timeout = m->next_spawn_ms - now;
		if (poll(&pfd, 1, (int)timeout) > 0)
			while (read(pool_pipe[0], drain, sizeof drain) > 0)
				;
	}
}

int pool_run(const char *conf_path, struct config *cfg, pool_worker_fn fn, void *arg)
{
	static struct pool_master m;
	int rc = 1;

	memset(&m, 0, sizeof m);
	m.conf_path = conf_path;
	m.cfg = cfg;
	m.fn = fn;
	m.arg = arg;
	m.listen_fd = -1;
	m.pid = getpid();
	m.gen = 1;
	pool_orig_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	/* Before anything that could claim fd 3, which systemd may have passed. */
	if (getenv("LISTEN_FDS") && pool_orig_stderr == 3)
		pool_orig_stderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 4);
	if (daemon_open_log(cfg->log_path, pool_orig_stderr) < 0) {
		pool_fatal("log %s: %s", cfg->log_path, strerror(errno));
		goto out;
	}
	m.shm = mmap(NULL, sizeof *m.shm, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (m.shm == MAP_FAILED) {
		m.shm = NULL;
		pool_fatal("mmap scoreboard: %s", strerror(errno));
		goto out;
	}
	m.shm->start_time = time(NULL);
	if (cfg->pidfile[0] && pool_pidfile_check(cfg->pidfile))
		goto out;
	m.listen_fd = pool_open_listener(&m);
	if (m.listen_fd < 0)
		goto out;
	if (pool_pidfile_write(&m) || pool_drop_privileges(&m))
		goto out;
	if (pipe2(pool_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		pool_fatal("pipe: %s", strerror(errno));
		goto out;
	}
	pool_set_handler(SIGTERM, pool_on_signal, SA_RESTART);
	pool_set_handler(SIGINT, pool_on_signal, SA_RESTART);
	pool_set_handler(SIGQUIT, pool_on_signal, SA_RESTART);
	pool_set_handler(SIGHUP, pool_on_signal, SA_RESTART);
	pool_set_handler(SIGUSR1, pool_on_signal, SA_RESTART);
	pool_set_handler(SIGCHLD, pool_on_signal, SA_RESTART | SA_NOCLDSTOP);
	pool_set_handler(SIGPIPE, SIG_IGN, 0);
	{
		cJSON *o = daemon_log_begin("info", "started");

		cJSON_AddNumberToObject(o, "pid", m.pid);
		cJSON_AddStringToObject(o, "listen", m.inherited ? "fd:3" : cfg->listen);
		cJSON_AddNumberToObject(o, "workers", cfg->workers);
		cJSON_AddStringToObject(o, "version", PACKAGE_VERSION);
		daemon_log_end(o);
	}
	pool_loop(&m);
	daemon_log_msg("info", "stopped", "all workers have exited");
	rc = 0;
out:
	pool_cleanup(&m);
	return rc;
}

/* ------------------------------------------------------------ status */

static const char *pool_state_name(int state)
{
	switch (state) {
	case POOL_SLOT_IDLE: return "idle";
	case POOL_SLOT_BUSY: return "busy";
	case POOL_SLOT_STARTING: return "starting";
	default: return "empty";
	}
}

static int pool_scan_bound(const struct pool_shared *shm)
{
	int n = shm->nslots;

	return n < 0 || n > POOL_MAX_WORKERS ? POOL_MAX_WORKERS : n;
}

struct pool_counts pool_count_workers(const struct pool_shared *shm)
{
	struct pool_counts k = { 0, 0, 0 };
	int n = pool_scan_bound(shm);

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

char *pool_status_json(const struct pool_shared *shm)
{
	char ts[40];
	int n = pool_scan_bound(shm);
	struct pool_counts k = pool_count_workers(shm);
	int64_t now = pool_real_ms();
	cJSON *o = cJSON_CreateObject(), *workers, *procs;
	char *out;

	if (!o)
		return NULL;
	daemon_iso8601(ts, sizeof ts, shm->start_time * 1000, 1);
	cJSON_AddStringToObject(o, "startTime", ts);
	cJSON_AddNumberToObject(o, "uptimeSeconds", (double)(now / 1000 - shm->start_time));
	workers = cJSON_AddObjectToObject(o, "workers");
	cJSON_AddNumberToObject(o, "acceptedRequests", (double)shm->accepted);
	cJSON_AddNumberToObject(o, "respawns", (double)shm->respawns);
	cJSON_AddNumberToObject(o, "recycled", (double)shm->recycled);
	cJSON_AddNumberToObject(o, "killedSlow", (double)shm->killed_slow);
	cJSON_AddNumberToObject(o, "slowRequests", (double)shm->slow_requests);
	procs = cJSON_AddArrayToObject(o, "processes");
	for (int i = 0; i < n; i++) {
		const struct pool_slot *s = &shm->slots[i];
		int state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		pid_t pid = s->pid;
		char route[sizeof s->route];
		cJSON *p;

		if (state == POOL_SLOT_EMPTY || pid == 0)
			continue;
		p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "pid", pid);
		cJSON_AddNumberToObject(p, "slot", i);
		cJSON_AddStringToObject(p, "state", pool_state_name(state));
		cJSON_AddNumberToObject(p, "requests", (double)s->requests);
		if (state == POOL_SLOT_BUSY) {
			int64_t start = __atomic_load_n(&s->request_start_ms, __ATOMIC_RELAXED);

			cJSON_AddNumberToObject(p, "requestDurationMs",
						(double)(start ? now - start : 0));
		}
		memcpy(route, s->route, sizeof route);
		route[sizeof route - 1] = '\0';
		if (route[0])
			cJSON_AddStringToObject(p, "route", route);
		cJSON_AddItemToArray(procs, p);
	}
	cJSON_AddNumberToObject(workers, "total", k.total);
	cJSON_AddNumberToObject(workers, "busy", k.busy);
	cJSON_AddNumberToObject(workers, "idle", k.idle);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}
