/*
 * test_config.c - the configuration file and environment parser: defaults,
 * a full file, every kind of error naming its line (or variable), and the
 * precedence defaults < file < environment. Temporary files live under /tmp
 * and are removed by each test; variables are unset after each test.
 */
#include <config.h>

#include "core/config.h"
#include "core/daemon.h"
#include "testmain.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *env_names[] = {
	"APPOINTD_LISTEN", "APPOINTD_WORKERS", "APPOINTD_MAX_REQUESTS",
	"APPOINTD_REQUEST_TIMEOUT", "APPOINTD_SLOW_REQUEST_MS", "APPOINTD_DATABASE_URL",
	"DATABASE_URL", "APPOINTD_DB_STATEMENT_TIMEOUT_MS", "APPOINTD_DB_LOCK_TIMEOUT_MS",
	"APPOINTD_LOG_PATH", "APPOINTD_PIDFILE", "APPOINTD_USER", "APPOINTD_ZONEINFO_DIR",
	"APPOINTD_LISTEN_BACKLOG", "APPOINTD_WEBHOOK_ALLOW_PRIVATE", "APPOINTD_RELAY_RETRY",
	"APPOINTD_RELAY_TIMEOUT_MS", "APPOINTD_RELAY_CONNECT_TIMEOUT_MS",
	"APPOINTD_RELAY_CONCURRENCY", "APPOINTD_RELAY_PER_WEBHOOK", "APPOINTD_RELAY_BATCH",
	"APPOINTD_RELAY_POLL_MS", "APPOINTD_RELAY_RETENTION_HOURS", "APPOINTD_RELAY_LOG_PATH",
	"APPOINTD_RELAY_PIDFILE",
};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
		unsetenv(env_names[i]);
}

/* Writes text to a fresh file under /tmp; path receives its name. */
static void write_conf(char *path, size_t n, const char *text)
{
	int fd;

	snprintf(path, n, "/tmp/appointd-test-config-XXXXXX");
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

/* Loads text as a file; returns config_load's result, message in e. */
static int load_text(struct config *c, const char *text, struct err *e, char *path, size_t n)
{
	int rc;

	write_conf(path, n, text);
	err_init(e);
	rc = config_load(c, path, e);
	unlink(path);
	return rc;
}

/* Expects failure with message "PATH:LINE: <rest>" where rest starts with want. */
static void expect_error(const char *text, int line, const char *want)
{
	struct config c;
	struct err e;
	char path[64], prefix[96];
	int rc;

	clear_env();
	rc = load_text(&c, text, &e, path, sizeof path);
	CU_ASSERT_EQUAL(rc, -1);
	snprintf(prefix, sizeof prefix, "%s:%d: %s", path, line, want);
	if (strncmp(e.message, prefix, strlen(prefix)) != 0)
		fprintf(stderr, "\n  got \"%s\"\n  want prefix \"%s\"\n", e.message, prefix);
	CU_ASSERT_EQUAL(strncmp(e.message, prefix, strlen(prefix)), 0);
	err_clear(&e);
}

static void test_defaults(void)
{
	struct config c;
	struct err e;

	clear_env();
	config_defaults(&c);
	CU_ASSERT_STRING_EQUAL(c.listen, "/run/appointd/appointd.sock");
	CU_ASSERT_EQUAL(c.listen_backlog, 1024);
	CU_ASSERT_EQUAL(c.workers, 4);
	CU_ASSERT_EQUAL(c.max_requests, 10000);
	CU_ASSERT_EQUAL(c.request_timeout, 30);
	CU_ASSERT_EQUAL(c.slow_request_ms, 1000);
	CU_ASSERT_STRING_EQUAL(c.database_url, "postgresql:///appointd");
	CU_ASSERT_EQUAL(c.db_statement_timeout_ms, 5000);
	CU_ASSERT_EQUAL(c.db_lock_timeout_ms, 2000);
	CU_ASSERT_STRING_EQUAL(c.log_path, "");
	CU_ASSERT_STRING_EQUAL(c.pidfile, "");
	CU_ASSERT_STRING_EQUAL(c.user, "");
	CU_ASSERT_STRING_EQUAL(c.zoneinfo_dir, APPOINTD_ZONEINFO_DIR);

	/* No file: defaults (and environment) only. */
	err_init(&e);
	CU_ASSERT_EQUAL(config_load(&c, NULL, &e), 0);
	CU_ASSERT_EQUAL(c.workers, 4);
	CU_ASSERT_FALSE(err_is_set(&e));
}

static void test_good_file(void)
{
	struct config c;
	struct err e;
	char path[64];

	clear_env();
	CU_ASSERT_EQUAL_FATAL(load_text(&c,
		"# sample\n"
		"\n"
		"  listen = unix:/tmp/a.sock  \n"
		"listen_backlog=16\n"
		"workers = 8   # trailing comment\n"
		"max_requests = 0\n"
		"request_timeout = 5\n"
		"slow_request_ms = 0\n"
		"database_url = \"host=db password=a#b\\\"c\"  # quoted keeps '#'\n"
		"db_statement_timeout_ms = 100\n"
		"db_lock_timeout_ms = 50\n"
		"log_path = /var/log/appointd.log\n"
		"pidfile =\n"
		"user = appointd\n"
		"\t# indented comment\n"
		"zoneinfo_dir = /opt/zoneinfo#notacomment\n",
		&e, path, sizeof path), 0);
	CU_ASSERT_STRING_EQUAL(c.listen, "unix:/tmp/a.sock");
	CU_ASSERT_EQUAL(c.listen_backlog, 16);
	CU_ASSERT_EQUAL(c.workers, 8);
	CU_ASSERT_EQUAL(c.max_requests, 0);
	CU_ASSERT_EQUAL(c.request_timeout, 5);
	CU_ASSERT_EQUAL(c.slow_request_ms, 0);
	CU_ASSERT_STRING_EQUAL(c.database_url, "host=db password=a#b\"c");
	CU_ASSERT_EQUAL(c.db_statement_timeout_ms, 100);
	CU_ASSERT_EQUAL(c.db_lock_timeout_ms, 50);
	CU_ASSERT_STRING_EQUAL(c.log_path, "/var/log/appointd.log");
	CU_ASSERT_STRING_EQUAL(c.pidfile, "");
	CU_ASSERT_STRING_EQUAL(c.user, "appointd");
	CU_ASSERT_STRING_EQUAL(c.zoneinfo_dir, "/opt/zoneinfo#notacomment");

	/* host:port forms. */
	CU_ASSERT_EQUAL(load_text(&c, "listen = 127.0.0.1:9000\n", &e, path, sizeof path), 0);
	CU_ASSERT_STRING_EQUAL(c.listen, "127.0.0.1:9000");
	CU_ASSERT_EQUAL(load_text(&c, "listen = [::1]:9000\n", &e, path, sizeof path), 0);
	CU_ASSERT_EQUAL(load_text(&c, "listen = *:9000\n", &e, path, sizeof path), 0);
}

static void test_errors_name_the_line(void)
{
	expect_error("workers = 2\nbogus = 1\n", 2, "bogus: unknown key");
	expect_error("# c\n\nworkers = four\n", 3, "workers: not a number");
	expect_error("workers = 4x\n", 1, "workers: not a number");
	expect_error("workers = 99999999999999999999\n", 1, "workers: not a number");
	expect_error("workers = 0\n", 1, "workers: must be 1..256");
	expect_error("workers = 257\n", 1, "workers: must be 1..256");
	expect_error("max_requests = -1\n", 1, "max_requests: must be 0..");
	expect_error("request_timeout = 0\n", 1, "request_timeout: must be 1..86400");
	expect_error("slow_request_ms =\n", 1, "slow_request_ms: not a number");
	expect_error("workers 4\n", 1, "expected \"key = value\"");
	expect_error("workers = 4\nworkers = 5\n", 2, "workers: set twice (first on line 1)");
	expect_error("listen = localhost\n", 1, "listen: expected a unix socket path or host:port");
	expect_error("listen = localhost:0\n", 1, "listen: port must be 1..65535");
	expect_error("listen = localhost:http\n", 1, "listen: port must be 1..65535");
	expect_error("listen =\n", 1, "listen: must not be empty");
	expect_error("database_url = \"unterminated\n", 1, "database_url: unterminated quote");
	expect_error("user = \"a\" b\n", 1, "user: unterminated quote or text after it");
	expect_error("user = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		     1, "user: longer than 63 bytes");
	{
		char text[300];

		snprintf(text, sizeof text, "listen = /%0150d\n", 0);
		expect_error(text, 1, "listen: unix socket path longer than 107 bytes");
	}
}

static void test_missing_file(void)
{
	struct config c;
	struct err e;

	clear_env();
	err_init(&e);
	CU_ASSERT_EQUAL(config_load(&c, "/tmp/appointd-test-config-does-not-exist", &e), -1);
	CU_ASSERT_STRING_EQUAL(e.message,
			       "/tmp/appointd-test-config-does-not-exist: No such file or directory");
}

static void test_env_precedence(void)
{
	struct config c;
	struct err e;
	char path[64];

	clear_env();
	/* environment beats file beats default */
	setenv("APPOINTD_WORKERS", "7", 1);
	setenv("APPOINTD_LISTEN", "127.0.0.1:18000", 1);
	setenv("APPOINTD_PIDFILE", "", 1); /* set but empty still applies */
	setenv("APPOINTD_LISTEN_BACKLOG", "64", 1);
	setenv("APPOINTD_ZONEINFO_DIR", "/z", 1);
	CU_ASSERT_EQUAL(load_text(&c, "workers = 3\nmax_requests = 9\npidfile = /tmp/x.pid\n",
				  &e, path, sizeof path), 0);
	CU_ASSERT_EQUAL(c.workers, 7);
	CU_ASSERT_EQUAL(c.max_requests, 9);
	CU_ASSERT_STRING_EQUAL(c.listen, "127.0.0.1:18000");
	CU_ASSERT_STRING_EQUAL(c.pidfile, "");
	CU_ASSERT_EQUAL(c.listen_backlog, 64);
	CU_ASSERT_STRING_EQUAL(c.zoneinfo_dir, "/z");
	CU_ASSERT_EQUAL(c.request_timeout, 30);

	/* DATABASE_URL applies, APPOINTD_DATABASE_URL wins over it */
	clear_env();
	setenv("DATABASE_URL", "postgresql://plain/db", 1);
	err_init(&e);
	CU_ASSERT_EQUAL(config_load(&c, NULL, &e), 0);
	CU_ASSERT_STRING_EQUAL(c.database_url, "postgresql://plain/db");
	setenv("APPOINTD_DATABASE_URL", "postgresql://ours/db", 1);
	CU_ASSERT_EQUAL(config_load(&c, NULL, &e), 0);
	CU_ASSERT_STRING_EQUAL(c.database_url, "postgresql://ours/db");

	/* every numeric variable is read */
	clear_env();
	setenv("APPOINTD_MAX_REQUESTS", "11", 1);
	setenv("APPOINTD_REQUEST_TIMEOUT", "12", 1);
	setenv("APPOINTD_SLOW_REQUEST_MS", "13", 1);
	setenv("APPOINTD_DB_STATEMENT_TIMEOUT_MS", "14", 1);
	setenv("APPOINTD_DB_LOCK_TIMEOUT_MS", "15", 1);
	setenv("APPOINTD_LOG_PATH", "/tmp/l.log", 1);
	setenv("APPOINTD_USER", "nobody", 1);
	CU_ASSERT_EQUAL(config_load(&c, NULL, &e), 0);
	CU_ASSERT_EQUAL(c.max_requests, 11);
	CU_ASSERT_EQUAL(c.request_timeout, 12);
	CU_ASSERT_EQUAL(c.slow_request_ms, 13);
	CU_ASSERT_EQUAL(c.db_statement_timeout_ms, 14);
	CU_ASSERT_EQUAL(c.db_lock_timeout_ms, 15);
	CU_ASSERT_STRING_EQUAL(c.log_path, "/tmp/l.log");
	CU_ASSERT_STRING_EQUAL(c.user, "nobody");

	/* a bad value names the variable */
	clear_env();
	setenv("APPOINTD_WORKERS", "lots", 1);
	CU_ASSERT_EQUAL(config_load(&c, NULL, &e), -1);
	CU_ASSERT_STRING_EQUAL(e.message, "APPOINTD_WORKERS: not a number: \"lots\"");
	clear_env();
	setenv("APPOINTD_REQUEST_TIMEOUT", "0", 1);
	CU_ASSERT_EQUAL(config_load(&c, NULL, &e), -1);
	CU_ASSERT_STRING_EQUAL(e.message, "APPOINTD_REQUEST_TIMEOUT: must be 1..86400");
	clear_env();
	setenv("DATABASE_URL", "", 1);
	CU_ASSERT_EQUAL(config_load(&c, NULL, &e), 0);
	CU_ASSERT_STRING_EQUAL(c.database_url, "");
	clear_env();
}

/* The relay's keys: the retry schedule's own syntax, defaults, the environment. */
static void test_relay_keys(void)
{
	static const int contract[] = { 5, 300, 1800, 7200, 18000, 36000, 36000 };
	struct config c;
	struct err e;
	char path[64];
	int i;

	clear_env();
	config_defaults(&c);
	CU_ASSERT_EQUAL(c.relay_retries, 7);
	for (i = 0; i < 7; i++)
		CU_ASSERT_EQUAL(c.relay_retry[i], contract[i]);
	CU_ASSERT_EQUAL(c.relay_timeout_ms, 15000);
	CU_ASSERT_EQUAL(c.webhook_allow_private, 1);

	CU_ASSERT_EQUAL(load_text(&c, "relay_retry = 1, 2 ,4\nrelay_concurrency = 3\n"
				     "webhook_allow_private = 0\n", &e, path, sizeof path), 0);
	CU_ASSERT_EQUAL(c.relay_retries, 3);
	CU_ASSERT_EQUAL(c.relay_retry[0], 1);
	CU_ASSERT_EQUAL(c.relay_retry[1], 2);
	CU_ASSERT_EQUAL(c.relay_retry[2], 4);
	CU_ASSERT_EQUAL(c.relay_concurrency, 3);
	CU_ASSERT_EQUAL(c.webhook_allow_private, 0);

	expect_error("relay_retry =\n", 1, "relay_retry: expected comma-separated seconds");
	expect_error("relay_retry = 1,,2\n", 1, "relay_retry: expected comma-separated seconds");
	expect_error("relay_retry = 1,2,\n", 1, "relay_retry: expected comma-separated seconds");
	expect_error("relay_retry = 0\n", 1, "relay_retry: expected comma-separated seconds");
	expect_error("relay_retry = 604801\n", 1, "relay_retry: expected comma-separated seconds");
	expect_error("relay_retry = 1x\n", 1, "relay_retry: expected comma-separated seconds");
	expect_error("relay_retry = 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\n", 1,
		     "relay_retry: at most 20 delays");
	expect_error("\nrelay_concurrency = 0\n", 2, "relay_concurrency: must be 1..1024");

	/* APPOINTD_RELAY_RETRY, as ./dev and the tests use it */
	clear_env();
	setenv("APPOINTD_RELAY_RETRY", "1,1,2", 1);
	CU_ASSERT_EQUAL(config_load(&c, NULL, &e), 0);
	CU_ASSERT_EQUAL(c.relay_retries, 3);
	CU_ASSERT_EQUAL(c.relay_retry[2], 2);
	clear_env();
	setenv("APPOINTD_RELAY_RETRY", "soon", 1);
	CU_ASSERT_EQUAL(config_load(&c, NULL, &e), -1);
	CU_ASSERT_STRING_EQUAL(e.message, "APPOINTD_RELAY_RETRY: expected comma-separated seconds,"
			       " each 1..604800");
	err_clear(&e);
	clear_env();
}

/*
 * daemon_drop_privileges, as far as a test may call it without changing
 * who it runs as: an unknown user is an error, and root is never a user to
 * drop to (as root, "dropping" to uid 0 would keep root: refused). The real
 * drop is checked on the running stack (t/integration/test_limits.py).
 */
static void test_drop_privileges(void)
{
	const char *const keep[] = { NULL };
	struct passwd *me = getpwuid(geteuid());
	char why[300];

	CU_ASSERT_EQUAL(daemon_drop_privileges("", keep, why, sizeof why), 0);
	CU_ASSERT_EQUAL(daemon_drop_privileges("no-such-user-appointd", keep, why, sizeof why), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "no such user"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(me);
	if (geteuid() == 0) {
		CU_ASSERT_EQUAL(daemon_drop_privileges("root", keep, why, sizeof why), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(why, "regain root"));
		CU_ASSERT_EQUAL(geteuid(), 0);
	} else {
		CU_ASSERT_EQUAL(daemon_drop_privileges(me->pw_name, keep, why, sizeof why), 0);
		CU_ASSERT_EQUAL(daemon_drop_privileges("root", keep, why, sizeof why), 2);
	}
}

void suite_config(void)
{
	CU_pSuite s = test_suite("config");

	TEST_ADD(s, test_defaults);
	TEST_ADD(s, test_good_file);
	TEST_ADD(s, test_errors_name_the_line);
	TEST_ADD(s, test_missing_file);
	TEST_ADD(s, test_env_precedence);
	TEST_ADD(s, test_relay_keys);
	TEST_ADD(s, test_drop_privileges);
}
