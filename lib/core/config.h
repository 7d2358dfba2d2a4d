/*
 * config.h - the service's one configuration file (`key = value`, `#`
 * comments), with environment overrides for containers (APPOINTD_<KEY in
 * upper case>, and DATABASE_URL for database_url). Validated at start-up
 * with a message naming the file and line; `appointd -t` runs only that.
 */
#ifndef APPOINTD_CONFIG_H
#define APPOINTD_CONFIG_H

#include "core/err.h"

struct config {
	char listen[256];        /* "unix:/path/sock", "/path/sock" or "host:port" */
	int listen_backlog;      /* default 1024 */
	int workers;             /* default 4, 1..256 */
	int max_requests;        /* recycle a worker after this many; 0 = never; default 10000 */
	int request_timeout;     /* seconds; a worker busy longer is killed and replaced; default 30 */
	int slow_request_ms;     /* log requests slower than this; 0 = off; default 1000 */
	char database_url[1024]; /* libpq conninfo or URI */
	int db_statement_timeout_ms; /* default 5000 */
	int db_lock_timeout_ms;  /* default 2000 */
	char log_path[512];      /* access/error log (JSON lines); "" or "-" = stderr */
	char pidfile[512];       /* "" = none */
	char user[64];           /* drop to this user when started as root; "" = stay */
	char zoneinfo_dir[256];  /* default APPOINTD_ZONEINFO_DIR */
};

/* Defaults only. */
void config_defaults(struct config *c);
/*
 * Defaults, then the file (if path is non-NULL), then the environment.
 * On error returns -1 with e->message like "appointd.conf:12: workers: must be 1..256".
 */
int config_load(struct config *c, const char *path, struct err *e);

#endif
