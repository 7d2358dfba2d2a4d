/*
 * config.h - the service's one configuration file (`key = value`, `#`
 * comments), with environment overrides for containers (APPOINTD_<KEY in
 * upper case>, and DATABASE_URL for database_url). Validated at start-up
 * with a message naming the file and line; `appointd -t` runs only that.
 */
#ifndef APPOINTD_CONFIG_H
#define APPOINTD_CONFIG_H

#include "core/err.h"

#define CONFIG_MAX_RETRIES 20
/* The contract's default retry schedule, in seconds. */
#define CONFIG_DEFAULT_RETRY "5,300,1800,7200,18000,36000,36000"

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
	int webhook_allow_private; /* 0: refuse loopback/private webhook addresses; default 1 */

	/* The relay (appointd-relay) reads the same file; its keys start relay_. */
	int relay_retry[CONFIG_MAX_RETRIES]; /* seconds between attempts */
	int relay_retries;       /* entries in relay_retry; attempts = relay_retries + 1 */
	int relay_timeout_ms;    /* one attempt, in total; default 15000 */
	int relay_connect_timeout_ms; /* default 5000 */
	int relay_concurrency;   /* deliveries in flight; default 32 */
	int relay_per_webhook;   /* of those, to one subscription at most; default 8 */
	int relay_batch;         /* events numbered/claimed per round trip; default 200 */
	int relay_poll_ms;       /* fallback when no notification arrives; default 1000 */
	int relay_retention_hours; /* delivered events and delivery logs kept; 0 = for ever; default 168 */
	char relay_log_path[512];
	char relay_pidfile[512];
};

/* Defaults only. */
void config_defaults(struct config *c);
/*
 * Defaults, then the file (if path is non-NULL), then the environment.
 * On error returns -1 with e->message like "appointd.conf:12: workers: must be 1..256".
 */
int config_load(struct config *c, const char *path, struct err *e);

#endif
