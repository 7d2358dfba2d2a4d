/*
 * appointd.c - the service's main: reads the configuration and hands over to
 * the pool master, which forks the FastCGI workers (http/worker.c), each
 * serving the API (api/dispatch.c).
 *
 *   appointd [-c FILE] [-t] [-v]
 *
 * Without -c the default file is optional, so a container can run on
 * defaults and environment alone; a file named with -c must exist.
 */
#include <config.h>

#include "api/api.h"
#include "core/config.h"
#include "engine/tz.h"
#include "http/pool.h"
#include "http/worker.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define APPOINTD_DEFAULT_CONF APPOINTD_SYSCONFDIR "/appointd.conf"

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
	rc = pool_run(path, &cfg, worker_main, &app);
	tz_cache_free(tzc);
	return rc;
}
