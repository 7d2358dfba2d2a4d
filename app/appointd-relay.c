/*
 * appointd-relay.c - the outbox relay's main: configuration, log, pidfile,
 * privileges; the work is in lib/events/relay.c.
 *
 *   appointd-relay [-c FILE] [-t] [-v]
 *
 * It reads the service's configuration file (the relay_* keys, database_url,
 * user, webhook_allow_private) with the same environment overrides, e.g.
 * APPOINTD_RELAY_RETRY=1,2,4. Several relays may run at once.
 */
#include <config.h>

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/daemon.h"
#include "events/relay.h"

#define RELAY_DEFAULT_CONF APPOINTD_SYSCONFDIR "/appointd.conf"

static void usage(FILE *f)
{
	fprintf(f, "usage: appointd-relay [-c FILE] [-t] [-v]\n"
		   "  -c FILE  configuration file (default %s, optional)\n"
		   "  -t       check the configuration and exit\n"
		   "  -v       print the version and exit\n",
		RELAY_DEFAULT_CONF);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int test_only = 0, opt, rc;
	const char *keep[3];
	char why[300];
	struct config cfg;
	struct err e;
	pid_t other;

	while ((opt = getopt(argc, argv, "c:tvh")) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 't': test_only = 1; break;
		case 'v': printf("appointd-relay %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if (!path && access(RELAY_DEFAULT_CONF, F_OK) == 0)
		path = RELAY_DEFAULT_CONF;
	err_init(&e);
	if (config_load(&cfg, path, &e) < 0) {
		fprintf(stderr, "appointd-relay: %s\n", e.message);
		err_clear(&e);
		return 1;
	}
	if (test_only) {
		printf("appointd-relay: configuration %s is ok\n",
		       path ? path : "(defaults and environment)");
		return 0;
	}
	if (cfg.relay_pidfile[0]) {
		other = daemon_pidfile_read(cfg.relay_pidfile);
		if (daemon_pid_running(other)) {
			fprintf(stderr, "appointd-relay: pidfile %s names running process %d\n",
				cfg.relay_pidfile, (int)other);
			return 1;
		}
		if (daemon_pidfile_write(cfg.relay_pidfile) < 0) {
			fprintf(stderr, "appointd-relay: pidfile %s: %s\n", cfg.relay_pidfile,
				strerror(errno));
			return 1;
		}
	}
	if (daemon_open_log(cfg.relay_log_path, -1) < 0) {
		fprintf(stderr, "appointd-relay: log %s: %s\n", cfg.relay_log_path, strerror(errno));
		return 1;
	}
	keep[0] = cfg.relay_pidfile;
	keep[1] = cfg.relay_log_path;
	keep[2] = NULL;
	rc = daemon_drop_privileges(cfg.user, keep, why, sizeof why);
	if (rc < 0) {
		cJSON *o = daemon_log_begin("error", "start_failed");

		cJSON_AddStringToObject(o, "message", why);
		daemon_log_end(o);
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	rc = relay_run(path, &cfg);
	curl_global_cleanup();
	if (cfg.relay_pidfile[0] && daemon_pidfile_read(cfg.relay_pidfile) == getpid())
		unlink(cfg.relay_pidfile);
	return rc;
}
