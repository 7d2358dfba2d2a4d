/*
 * pool_children.c - the workers' lives as the master sees them (php-fpm's
 * fpm_children.c): forking one into a free slot, reaping the dead and
 * telling a crash from a recycle or a stop, the back-off when they die in a
 * loop, asking them to finish, and killing one busy past request_timeout.
 *
 * Invariants: m->child[i].pid is non-zero exactly while slot i's process
 * has not been reaped; the scoreboard's nslots bounds every live slot; a
 * worker we SIGKILLed is never counted as a crash.
 */
#define _GNU_SOURCE /* strsignal */
#include <config.h>

#include "http/pool_int.h"

#include "core/daemon.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define POOL_CRASH_WINDOW_MS 10000   /* crashes closer than this form a streak */
#define POOL_BACKOFF_MIN_MS 100
#define POOL_BACKOFF_MAX_MS 5000
/* A reload proceeds once a new worker is ready, or has lived this long
 * (for a worker body that never calls pool_worker_stopping() before its
 * first accept). */
#define POOL_READY_FALLBACK_MS 3000

static void pool_children_kill(const struct pool_master *m, int i, int sig)
{
	if (kill(m->child[i].pid, sig) < 0)
		daemon_log_msg("error", "kill_failed", "kill(%d, %s): %s", (int)m->child[i].pid,
			       strsignal(sig), strerror(errno));
}

void pool_children_update_nslots(struct pool_master *m)
{
	int n = 0;

	for (int i = 0; i < POOL_MAX_WORKERS; i++)
		if (m->child[i].pid)
			n = i + 1;
	if (n < m->cfg->workers)
		n = m->cfg->workers;
	m->shm->nslots = n;
}

int pool_children_spawn(struct pool_master *m, int i)
{
	sigset_t all, old;
	cJSON *o;
	pid_t pid;

	pool_scoreboard_starting(m->shm, i);
	/* Signals wait until the child has its own handlers: a SIGTERM caught
	 * by the master's handler in the child would be lost. */
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &old) < 0) {
		daemon_log_msg("error", "sigprocmask_failed", "SIG_BLOCK: %s", strerror(errno));
		pool_scoreboard_empty(m->shm, i);
		m->next_spawn_ms = pool_mono_ms() + POOL_TICK_MS;
		return -1;
	}
	pid = fork();
	if (pid == 0)
		pool_worker_run(m, i, &old);
	if (pid < 0)
		daemon_log_msg("error", "fork_failed", "%s", strerror(errno));
	if (sigprocmask(SIG_SETMASK, &old, NULL) < 0)
		daemon_log_msg("error", "sigprocmask_failed", "SIG_SETMASK: %s", strerror(errno));
	if (pid < 0) {
		pool_scoreboard_empty(m->shm, i);
		m->next_spawn_ms = pool_mono_ms() + POOL_TICK_MS;
		return -1;
	}
	m->shm->slots[i].pid = pid;
	m->child[i] = (struct pool_child){ .pid = pid, .gen = m->gen,
					   .spawned_ms = pool_mono_ms() };
	pool_children_update_nslots(m);
	o = daemon_log_begin("info", "worker_spawned");
	cJSON_AddNumberToObject(o, "pid", pid);
	cJSON_AddNumberToObject(o, "slot", i);
	daemon_log_end(o);
	return 0;
}

void pool_children_signal_all(struct pool_master *m, int sig)
{
	for (int i = 0; i < POOL_MAX_WORKERS; i++)
		if (m->child[i].pid)
			pool_children_kill(m, i, sig);
}

void pool_children_kill_all(struct pool_master *m)
{
	for (int i = 0; i < POOL_MAX_WORKERS; i++)
		if (m->child[i].pid) {
			m->child[i].killed = 1;
			pool_children_kill(m, i, SIGKILL);
		}
}

void pool_children_ask_to_finish(struct pool_master *m, int i)
{
	m->child[i].stop_sent_ms = pool_mono_ms();
	pool_children_kill(m, i, SIGTERM);
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

void pool_children_reap(struct pool_master *m)
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
		pool_scoreboard_empty(m->shm, i);
	}
	if (pid < 0 && errno != ECHILD)
		daemon_log_msg("error", "waitpid_failed", "%s", strerror(errno));
	pool_children_update_nslots(m);
}

void pool_children_kill_overdue(struct pool_master *m)
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
		pool_children_kill(m, i, SIGKILL);
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

/* Milliseconds until the earliest busy worker passes request_timeout (at most a tick). */
int64_t pool_children_next_overdue_ms(const struct pool_master *m)
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

int pool_children_free_slot(const struct pool_master *m)
{
	for (int i = 0; i < POOL_MAX_WORKERS; i++)
		if (!m->child[i].pid)
			return i;
	return -1;
}

int pool_children_ready(const struct pool_master *m, int i, int64_t now)
{
	int state = __atomic_load_n(&m->shm->slots[i].state, __ATOMIC_ACQUIRE);

	return state != POOL_SLOT_STARTING || now - m->child[i].spawned_ms >= POOL_READY_FALLBACK_MS;
}

int pool_children_live(const struct pool_master *m)
{
	int n = 0;

	for (int i = 0; i < POOL_MAX_WORKERS; i++)
		n += m->child[i].pid != 0;
	return n;
}

