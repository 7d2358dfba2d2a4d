/*
 * appointd.c - the service's main: configuration, time zones, then the
 * privileged start-up in one straight sequence (log, pidfile check,
 * socket, pidfile, privileges) before the pool master forks the FastCGI
 * workers (http/worker.c), each serving the API (api/dispatch.c).
 *
 *   appointd [-c FILE] [-t] [-v]
 *
 * Without -c the default file is optional, so a container can run on
 * defaults and environment alone; a file named with -c must exist.
 *
 * t/unit/pool_echo is this main with its echo worker (APPOINTD_WORKER), so
 * test_pool.py runs the real start-up.
 */
#include <config.h>

#include "api/api.h"
#include "core/config.h"
#include "core/daemon.h"
#include "engine/tz.h"
#include "http/pool.h"
#include "http/worker.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef APPOINTD_WORKER
#define APPOINTD_WORKER worker_main
#else
int APPOINTD_WORKER(int listen_fd, struct pool_shared *shm, int slot, const struct config *cfg,
		    void *arg);
#endif

#define APPOINTD_DEFAULT_CONF APPOINTD_SYSCONFDIR "/appointd.conf"

/*
 * Binds, writes the pidfile and drops root (in that order: the socket and
 * the pidfile may need root; the pidfile names a master that has its socket),
 * then runs the pool until it stops, each worker given arg. Returns the
 * exit status.
 */
static int appointd_serve(const char *path, struct config *cfg, void *arg)
{
	/* What the unprivileged master must still reach: its socket and
	 * pidfile for the clean-up (in a sticky directory the owner must
	 * match), its log for SIGUSR1 reopens. */
	const char *keep[4];
	struct pool_master *m;
	int rc = 1, own_pidfile = 0, dropped;
	char why[300];
	pid_t other;

	m = pool_open(path, cfg);
	if (!m)
		return 1;
	other = cfg->pidfile[0] ? daemon_pidfile_read(cfg->pidfile) : 0;
	if (daemon_pid_running(other)) {
		pool_start_failed(m, "pidfile %s names running process %d", cfg->pidfile, (int)other);
		goto out;
	}
	if (pool_listen(m) < 0)
		goto out;
	if (cfg->pidfile[0]) {
		if (daemon_pidfile_write(cfg->pidfile) < 0) {
			pool_start_failed(m, "pidfile %s: %s", cfg->pidfile, strerror(errno));
			goto out;
		}
		own_pidfile = 1;
	}
	keep[0] = pool_socket_path(m);
	keep[1] = cfg->pidfile;
	keep[2] = cfg->log_path;
	keep[3] = NULL;
	dropped = daemon_drop_privileges(cfg->user, keep, why, sizeof why);
	if (dropped < 0) {
		pool_start_failed(m, "%s", why);
		goto out;
	}
	if (dropped > 0)
		daemon_log_msg(dropped == 1 ? "info" : "warn",
			       dropped == 1 ? "privileges_dropped" : "user_ignored", "%s", why);
	rc = pool_run(m, APPOINTD_WORKER, arg);
out:
	/* The socket goes first: once the pidfile is gone, a new master may start. */
	pool_close(m);
	if (own_pidfile && daemon_pidfile_read(cfg->pidfile) == getpid() &&
	    unlink(cfg->pidfile) < 0)
		daemon_log_msg("warn", "cleanup", "cannot remove %s: %s", cfg->pidfile,
			       strerror(errno));
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: appointd [-c FILE] [-t] [-v]\n"
		   "  -c FILE  configuration file (default %s, optional)\n"
		   "  -t       check the configuration and exit\n"
		   "  -v       print the version and exit\n",
		APPOINTD_DEFAULT_CONF);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int test_only = 0, opt, rc;
	struct tz_cache *tzc;
	struct worker_app app = { api_open, api_dispatch, api_close, NULL };
	struct config cfg;
	struct err e;

	while ((opt = getopt(argc, argv, "c:tvh")) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 't': test_only = 1; break;
		case 'v': printf("appointd %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (!path && access(APPOINTD_DEFAULT_CONF, F_OK) == 0)
		path = APPOINTD_DEFAULT_CONF;
	err_init(&e);
	if (config_load(&cfg, path, &e) < 0) {
		fprintf(stderr, "appointd: %s\n", e.message);
		err_clear(&e);
		return 1;
	}
	if (test_only) {
		if (path)
			printf("appointd: configuration %s is ok\n", path);
		else
			printf("appointd: configuration (defaults and environment) is ok\n");
		return 0;
	}
	/* Every zone is loaded once here and shared copy-on-write by all workers. */
	tzc = tz_cache_new(cfg.zoneinfo_dir);
	if (!tzc || tz_cache_warm_all(tzc) <= 0) {
		fprintf(stderr, "appointd: no time zones under %s\n", cfg.zoneinfo_dir);
		tz_cache_free(tzc);
		return 1;
	}
	app.arg = tzc;
	rc = appointd_serve(path, &cfg, &app);
	tz_cache_free(tzc);
	return rc;
}
